"""A non-editable install must carry its templates and work from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(base / "dist"), str(ROOT)],
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
    return wheel, target


def test_wheel_contains_every_template(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".css", ".js", ".svg"}:
            rel = path.relative_to(ROOT / "templates").as_posix()
            assert f"compare/templates/{rel}" in names, rel


def test_installed_package_renders_a_report(installed, tmp_path):
    _, target = installed
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
