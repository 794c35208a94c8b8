"""The command line: a thin click layer over the library.

Nothing here imports torch; the model loads only when a vector is missing
from the store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import CompareError


class _Group(click.Group):
    """Turns CompareError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CompareError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(1)


def _read_source(src: str, what: str, encoding: str = "utf-8") -> str:
    from .corpus import decode_text, read_text_file

    if src == "-":
        return decode_text(sys.stdin.buffer.read(), f"{what} from stdin", encoding)
    return read_text_file(Path(src), what, encoding)


model_option = click.option(
    "--model",
    "-m",
    envvar="COMPARE_MODEL",
    help="sentence-transformers model folder or name (default: the packaged "
    "all-MiniLM-L6-v2; 'hashing' for a word-overlap model without torch). Env: COMPARE_MODEL.",
)
corpus_option = click.option(
    "--corpus",
    "corpus",
    envvar="COMPARE_CORPUS",
    type=click.Path(file_okay=False, path_type=Path),
    help="Corpus folder (default ./corpus). Env: COMPARE_CORPUS.",
)
threshold_option = click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(-1.0, 1.0),
    help="Minimum score for a link; lower finds more links, higher is stricter.",
)
split_option = click.option(
    "--split",
    type=click.Choice(["sentences", "lines"]),
    default="sentences",
    show_default=True,
    help="'lines' takes each non-blank line as one sentence (text already split).",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="compare")
def cli() -> None:
    """Put a statement and its rebuttal side by side.

    \b
    compare match claim.txt response.txt        which claim each response sentence answers
    compare report dprk-it-workers              side-by-side HTML report of a corpus pair
    """


@cli.command()
@click.argument("claim_file")
@click.argument("response_file")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@model_option
@threshold_option
@split_option
def match(claim_file: str, response_file: str, fmt: str, model: str | None, threshold: float | None, split: str) -> None:
    """Match each sentence of RESPONSE_FILE to the claim it answers.

    Either file may be '-' to read it from stdin (not both).
    """
    if claim_file == "-" and response_file == "-":
        raise CompareError("only one of CLAIM_FILE and RESPONSE_FILE can be '-' (stdin)")
    from .align import match as do_match

    claim = _read_source(claim_file, "claim")
    response = _read_source(response_file, "response")
    alignment = do_match(claim, response, model=model, threshold=threshold, split=split)
    if fmt == "json":
        click.echo(json.dumps(alignment.to_dict(), ensure_ascii=False, indent=2))
    else:
        from .textview import render_text

        click.echo(render_text(alignment))


@cli.command()
@click.argument("slug", required=False)
@click.option("--claim", "claim_file", help="Claim document (file or '-') instead of a corpus pair.")
@click.option("--response", "response_file", help="Response document (file or '-').")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the HTML (default reports/SLUG.html).")
@corpus_option
@model_option
@threshold_option
@split_option
def report(slug: str | None, claim_file: str | None, response_file: str | None, output: Path | None,
           corpus: Path | None, model: str | None, threshold: float | None, split: str) -> None:
    """Write the side-by-side HTML report of corpus pair SLUG (or of --claim/--response)."""
    from .align import match as do_match
    from .corpus import Pair, corpus_dir, load_pair
    from .report import render, write_atomic

    if slug and (claim_file or response_file):
        raise CompareError("give either a corpus SLUG or --claim and --response, not both")
    if slug:
        pair = load_pair(slug, corpus_dir(corpus))
        output = output or Path("reports") / f"{slug}.html"
    elif claim_file and response_file:
        if claim_file == "-" and response_file == "-":
            raise CompareError("only one of --claim and --response can be '-' (stdin)")
        if output is None:
            raise CompareError("with --claim and --response, say where to write the report with -o PATH")
        pair = Pair(slug=output.stem, claim=_read_source(claim_file, "claim"),
                    response=_read_source(response_file, "response"))
    else:
        raise CompareError("give a corpus SLUG (see `compare list`) or both --claim FILE and --response FILE")
    alignment = do_match(pair.claim, pair.response, model=model, threshold=threshold, split=split)
    write_atomic(output, render(alignment, pair))
    click.echo(str(output))


def main() -> None:
    cli(prog_name="compare")
