#!/usr/bin/env bash
# Run the whole test suite, setting up .venv and the test browser first if needed.
# Extra arguments go to pytest (e.g. scripts/test.sh -k segment).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
ensure_venv
ensure_chromium() {
    # Browser tests drive Debian's Chromium (Playwright's own download cannot work offline).
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "compare: installing chromium for the browser tests" >&2
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
            echo "compare: could not install chromium; browser tests will be skipped" >&2
        fi
    else
        echo "compare: /usr/bin/chromium is missing and cannot be installed here (need root and apt-get); browser tests will be skipped" >&2
    fi
}
ensure_chromium
if [ "${CI:-}" = "true" ] && [ ! -x /usr/bin/chromium ]; then
    # In CI the browser tests must run, not skip into a green build.
    echo "compare: CI needs /usr/bin/chromium for the browser tests, and it could not be installed" >&2
    exit 1
fi
cd "$ROOT"
"$VENV/bin/python" -m pytest "$@"
