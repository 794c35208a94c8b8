"""A non-editable install must carry its templates and work from anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

# Never packaged, never copied: local state and build leftovers.
_IGNORED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "reports", "test-output",
            ".pytest_cache", ".hypothesis", ".compare-cache")


def _source_files(root: Path) -> list[str] | None:
    """The files git would ship (tracked plus new, minus ignored), or None without git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return [name for name in out.stdout.decode("utf-8", "surrogateescape").split("\0") if name]


def copy_source_tree(root: Path, dest: Path) -> Path:
    """A clean copy of the checkout, so building never writes into it (no build/, no
    compare.egg-info there) and stale build/lib files cannot end up in the wheel."""
    files = _source_files(root)
    if files is None:
        shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*_IGNORED))
        return dest
    for name in files:
        src = root / name
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def _build_state() -> dict:
    """What a build inside the checkout would create or touch: the newest mtime in each."""
    state = {}
    for name in ("build", "compare.egg-info", "dist"):
        path = ROOT / name
        if not path.exists():
            state[name] = None
            continue
        newest = path.stat().st_mtime_ns
        for folder, _, files in os.walk(path):
            for entry in [folder, *(os.path.join(folder, f) for f in files)]:
                try:
                    newest = max(newest, os.stat(entry).st_mtime_ns)
                except OSError:
                    pass
        state[name] = newest
    return state


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    before = _build_state()
    source = copy_source_tree(ROOT, base / "src")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(base / "dist"), str(source)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (base / "dist").glob("compare-*.whl")
    target = base / "site"
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True,
    )
    assert inst.returncode == 0, inst.stderr
    return wheel, target, source, before, _build_state()


def test_building_the_wheel_leaves_the_checkout_alone(installed):
    """Regression: the wheel was built in the checkout, creating build/ and compare.egg-info there."""
    *_, source, before, after = installed
    assert after == before
    for leftover in ("build", "dist", "compare.egg-info", ".venv"):
        assert not (source / "compare" / leftover).exists()
    assert not any(p.name.startswith(".venv") for p in source.iterdir())


def test_wheel_holds_only_the_source_modules(installed):
    """Regression: stale build/lib files of an earlier build were packaged too."""
    wheel, _, source, *_ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = {n for n in names if n.startswith("compare/") and n.endswith(".py")
                and not n.startswith("compare/templates/")}
    expected = {p.relative_to(source).as_posix() for p in (source / "compare").rglob("*.py")}
    assert packaged == expected


def test_wheel_contains_the_data_files(installed):
    wheel, _, source, *_ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    folder = ROOT / "compare" / "data"
    data = sorted(p.name for pattern in ("*.txt", "*.json", "*.npz") for p in folder.glob(pattern))
    assert {"mpnet-rebuttal-lora.npz", "minilm-rebuttal-lora.npz"} <= set(data) and any(n.endswith(".txt") for n in data)
    for name in data:
        assert f"compare/data/{name}" in names, name


def test_wheel_contains_every_template(installed):
    wheel, *_ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".css", ".js", ".svg"}:
            rel = path.relative_to(ROOT / "templates").as_posix()
            assert f"compare/templates/{rel}" in names, rel


def test_installed_package_renders_a_report(installed, tmp_path):
    _, target, *_ = installed
    (tmp_path / "c.txt").write_text("The ministry seized 17 domains. It froze 29 accounts.\n")
    (tmp_path / "r.txt").write_text("No domains were seized.\n")
    env = {**os.environ, "PYTHONPATH": str(target), "COMPARE_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import compare.report, sys; print(compare.report.template_dir()); "
         "from compare.cli import main; sys.argv=['compare','report','--claim','c.txt','--response','r.txt',"
         "'--model','hashing','-o','report.html']; main()"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(target) in proc.stdout.splitlines()[0], "templates must come from the installed package"
    assert "No domains were seized." in out.read_text(encoding="utf-8")


def _fake_checkout(root: Path) -> Path:
    (root / "compare" / "data").mkdir(parents=True)
    (root / "compare" / "__init__.py").write_text("", encoding="utf-8")
    (root / "compare" / "data" / "words.txt").write_text("word\n", encoding="utf-8")
    (root / ".gitignore").write_text("build/\n*.egg-info/\n.venv/\n__pycache__/\n", encoding="utf-8")
    (root / "build" / "lib" / "compare").mkdir(parents=True)
    (root / "build" / "lib" / "compare" / "stale_module.py").write_text("", encoding="utf-8")
    (root / "compare.egg-info").mkdir()
    (root / "compare.egg-info" / "SOURCES.txt").write_text("", encoding="utf-8")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / "compare" / "__pycache__").mkdir()
    (root / "compare" / "__pycache__" / "x.pyc").write_bytes(b"")
    return root


@pytest.mark.parametrize("with_git", [True, False])
def test_copy_source_tree_leaves_build_leftovers_behind(tmp_path, monkeypatch, with_git):
    me = sys.modules[__name__]
    checkout = _fake_checkout(tmp_path / "checkout")
    if with_git:
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        subprocess.run(["git", "init", "-q", str(checkout)], check=True, capture_output=True)
    else:
        monkeypatch.setattr(me, "_source_files", lambda root: None)
    copy = me.copy_source_tree(checkout, tmp_path / "copy")
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert files == [".gitignore", "compare/__init__.py", "compare/data/words.txt"]
