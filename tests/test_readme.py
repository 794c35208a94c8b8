"""The README must stay true: set-up commands first, CLI reference in sync."""

from __future__ import annotations

import importlib.util
import re

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _load_reference_script():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["scripts/setup.sh", "scripts/test.sh"]
    for command in commands:
        assert (ROOT / command).is_file()


def test_ci_runs_the_readme_test_command():
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_cli_reference_matches_the_commands():
    module = _load_reference_script()
    assert module.current_block(README) == module.block(), (
        "README's CLI reference is stale: run .venv/bin/python scripts/cli_reference.py --write"
    )


def test_readme_links_point_at_existing_files():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target
