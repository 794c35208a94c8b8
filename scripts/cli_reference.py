"""Print the README's CLI reference from the commands' own --help.

    .venv/bin/python scripts/cli_reference.py            # print the Markdown
    .venv/bin/python scripts/cli_reference.py --write    # update README.md in place

tests/test_readme.py fails when README.md and the commands disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def reference() -> str:
    from compare.cli import cli

    parts = []
    with click.Context(cli, info_name="compare", terminal_width=100, max_content_width=100,
                       help_option_names=["-h", "--help"]) as ctx:
        parts.append(f"```\n{cli.get_help(ctx)}\n```")
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            with click.Context(command, info_name=name, parent=ctx, terminal_width=100,
                               max_content_width=100) as sub:
                parts.append(f"### `compare {name}`\n\n```\n{command.get_help(sub)}\n```")
    return "\n\n".join(parts)


def block() -> str:
    return f"{START}\n{reference()}\n{END}"


def current_block(text: str) -> str | None:
    if START not in text or END not in text:
        return None
    return text[text.index(START) : text.index(END) + len(END)]


def main() -> None:
    if "--write" in sys.argv:
        text = README.read_text(encoding="utf-8")
        old = current_block(text)
        if old is None:
            sys.exit(f"README.md has no {START} ... {END} block")
        README.write_text(text.replace(old, block()), encoding="utf-8")
    else:
        print(reference())


if __name__ == "__main__":
    main()
