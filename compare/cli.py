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
    """Turns user-facing failures into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        import sqlite3

        try:
            return super().invoke(ctx)
        except CompareError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(1)
        except sqlite3.Error as exc:
            raise click.ClickException(
                f"the embedding store failed ({exc}): check that COMPARE_CACHE is a writable "
                "folder with free space (the store is only a cache and may be deleted)"
            ) from None
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"cannot write or read{where}: {exc.strerror or exc}; check the path and its permissions"
            ) from None


def _warn(message: str) -> None:
    click.echo(f"compare: warning: {message}", err=True)


def _read_source(src: str, what: str, encoding: str = "utf-8") -> str:
    """A document from a file, '-' (stdin) or an http(s) URL, as `add` reads it."""
    from .fetch import read_source

    return read_source(src, what, encoding).text


def _one_stdin(a: str | None, b: str | None, names: str) -> None:
    if a == "-" and b == "-":
        raise CompareError(f"only one of {names} can be '-' (stdin)")


model_option = click.option(
    "--model",
    "-m",
    envvar="COMPARE_MODEL",
    help="sentence-transformers model folder or name; 'a+b' puts two side by side (default "
    "'minilm+mpnet': the packaged all-MiniLM-L6-v2 and all-mpnet-base-v2 together, and for "
    "matching also 'mpnet-rebuttal', mpnet tuned for the task; 'minilm' alone is faster; "
    "'hashing' is a word-overlap model without torch). Env: COMPARE_MODEL.",
)
corpus_option = click.option(
    "--corpus",
    "corpus",
    envvar="COMPARE_CORPUS",
    type=click.Path(file_okay=False, path_type=Path),
    help="Corpus folder (default ./corpus). Env: COMPARE_CORPUS.",
)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    # FloatRange lets "nan" through (every comparison with it is false).
    if value is not None and value != value:
        raise click.BadParameter("is not a number: give a score between 0 and 1, e.g. 0.3")
    return value


threshold_option = click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(0.0, 1.0),
    callback=_finite,
    help="Minimum link score, 0-1 (default 0.3): higher makes fewer, surer links; lower finds more.",
)
encoding_option = click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    metavar="ENC",
    help="Encoding of the input documents, e.g. cp1252 or latin-1.",
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
    compare match claim.txt response.txt       which claim each response sentence answers
    compare report dprk-it-workers             side-by-side HTML report of a corpus pair
    compare add SLUG --claim SRC --response SRC    store a new pair in the corpus
    compare list                               the pairs in the corpus
    compare query "stolen identities"          the most similar stored sentences
    """


@cli.command()
@click.argument("claim_file")
@click.argument("response_file")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@model_option
@threshold_option
@split_option
@encoding_option
def match(claim_file: str, response_file: str, fmt: str, model: str | None, threshold: float | None, split: str,
          encoding: str) -> None:
    """Match each sentence of RESPONSE_FILE to the claim it answers.

    Either file may be '-' to read it from stdin (not both).
    """
    _one_stdin(claim_file, response_file, "CLAIM_FILE and RESPONSE_FILE")
    from .align import match as do_match

    claim = _read_source(claim_file, "claim", encoding)
    response = _read_source(response_file, "response", encoding)
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
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to write the HTML (default reports/SLUG.html); with --all, the folder.")
@click.option("--all", "all_pairs", is_flag=True, help="Write every corpus pair's report to DIR/SLUG.html and an index page DIR/index.html (needs -o DIR).")
@click.option("--force", is_flag=True, help="Overwrite an existing -o file that compare did not write.")
@click.option("--title", help="With --claim/--response: the report's title (default: the output file's name without its extension).")
@click.option("--claimant", help="With --claim/--response: who makes the claims.")
@click.option("--respondent", help="With --claim/--response: who responds.")
@corpus_option
@model_option
@threshold_option
@split_option
@encoding_option
def report(slug: str | None, claim_file: str | None, response_file: str | None, output: Path | None,
           all_pairs: bool, force: bool, title: str | None, claimant: str | None, respondent: str | None,
           corpus: Path | None, model: str | None, threshold: float | None,
           split: str, encoding: str) -> None:
    """Write the side-by-side HTML report of a corpus pair, loose files, or every pair.

    \b
    compare report SLUG [-o PATH]                     a corpus pair (default reports/SLUG.html)
    compare report --claim F --response F -o PATH     two loose files ('-' for stdin)
    compare report --all -o DIR                       every pair, plus DIR/index.html
    """
    from .align import match as do_match
    from .corpus import Pair, corpus_dir, list_pairs, load_pair
    from .report import check_target, render, write_all, write_atomic

    if (title or claimant or respondent) and not (claim_file or response_file):
        raise CompareError("--title, --claimant and --respondent go with --claim and --response; a corpus "
                           "pair keeps them in its meta.json: edit corpus/SLUG/meta.json to change them")
    if all_pairs:
        if slug or claim_file or response_file:
            raise CompareError("--all writes every corpus pair: give no SLUG, --claim or --response with it")
        if output is None:
            raise CompareError("--all needs a folder to write into: -o DIR")
        if output.exists() and not output.is_dir():
            raise CompareError(f"-o {output} is a file: with --all give a folder")
        root = corpus_dir(corpus)
        pairs = list_pairs(root)
        if not pairs:
            raise CompareError(f"corpus {root} has no pairs: add one with `compare add` or pass --corpus")
        from .embed import open_embedder

        embedder = open_embedder(model)  # one model for every pair
        written = write_all(pairs, output, lambda p: do_match(
            p.claim, p.response, threshold=threshold, split=split, embedder=embedder),
            force=force, protect=[p.path for p in pairs if p.path])
        click.echo(str(written[0]))
        return
    if output is not None and output.is_dir():
        raise CompareError(f"-o {output} is a folder: give a file name such as {output / 'report.html'} (or use --all)")
    if slug and (claim_file or response_file):
        raise CompareError("give either a corpus SLUG or --claim and --response, not both")
    if slug:
        pair = load_pair(slug, corpus_dir(corpus))
        output = output or Path("reports") / f"{slug}.html"
    elif claim_file and response_file:
        _one_stdin(claim_file, response_file, "--claim and --response")
        if output is None:
            raise CompareError("with --claim and --response, say where to write the report with -o PATH")
        pair = Pair(slug=output.stem, claim=_read_source(claim_file, "claim", encoding),
                    response=_read_source(response_file, "response", encoding),
                    title=title or "", claimant=claimant or "", respondent=respondent or "")
    else:
        raise CompareError("give a corpus SLUG (see `compare list`) or both --claim FILE and --response FILE")
    inputs = [Path(f) for f in (claim_file, response_file) if f and f != "-"]
    check_target(output, force, protect=[*inputs, *([pair.path] if pair.path else [])])
    alignment = do_match(pair.claim, pair.response, model=model, threshold=threshold, split=split)
    write_atomic(output, render(alignment, pair))
    click.echo(str(output))


def _validate_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import datetime
    import re

    if value is None or value == "":
        return value
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a real date in the form YYYY-MM-DD") from None
    return value


@cli.command()
@click.argument("slug")
@click.option("--claim", "claim_src", required=True, metavar="SRC",
              help="Claim document: a file, '-' for stdin, or an http(s) URL.")
@click.option("--response", "response_src", required=True, metavar="SRC",
              help="Response document: a file, '-' for stdin, or an http(s) URL.")
@click.option("--title", default="", help="Title of the pair.")
@click.option("--claimant", default="", help="Who made the claim.")
@click.option("--respondent", default="", help="Who responded.")
@click.option("--date", default="", callback=_validate_date, metavar="YYYY-MM-DD", help="Date of the response.")
@click.option("--source", "sources", multiple=True, metavar="URL",
              help="Where the texts come from (repeatable); fetched URLs are added automatically.")
@click.option("--force", is_flag=True, help="Replace an existing pair, or add an exact duplicate.")
@click.option("--encoding", default=None, metavar="ENC",
              help="Encoding of the input files (default UTF-8), e.g. cp1252 or latin-1.")
@corpus_option
def add(slug: str, claim_src: str, response_src: str, title: str, claimant: str, respondent: str,
        date: str, sources: tuple[str, ...], force: bool, encoding: str | None, corpus: Path | None) -> None:
    """Add a claim/response pair to the corpus as SLUG.

    \b
    compare add doj-vs-kcna --claim claim.txt --response https://example.org/statement.html
    cat response.txt | compare add my-pair --claim claim.txt --response -

    The pair is written whole or not at all; an existing SLUG is kept unless --force.
    Pages are fetched with a timeout (COMPARE_FETCH_TIMEOUT, default 20 s) and a
    size limit (COMPARE_FETCH_MAX_BYTES, default 10 MB); HTML is reduced to its
    article text.
    """
    from .corpus import Pair, add_pair, corpus_dir, validate_slug
    from .fetch import read_source

    validate_slug(slug)
    _one_stdin(claim_src, response_src, "--claim and --response")
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CompareError(f"unknown encoding {encoding!r}: use a name such as utf-8 or cp1252") from None
    root = corpus_dir(corpus)
    if (root / slug).exists() and not force:
        # Answer before fetching anything; add_pair checks again under its lock.
        raise CompareError(f"pair {slug!r} already exists in {root}: pass --force to replace it")
    claim = read_source(claim_src, "claim", encoding)
    response = read_source(response_src, "response", encoding)
    all_sources = list(dict.fromkeys([*sources, *(d.url for d in (claim, response) if d.url)]))
    pair = Pair(slug=slug, claim=claim.text, response=response.text, title=title, claimant=claimant,
                respondent=respondent, date=date or "", sources=all_sources)
    result = add_pair(root, pair, force=force)
    for warning in result.warnings:
        click.echo(f"compare: warning: {warning}", err=True)
    from .segment import segment

    if result.kept:
        click.echo(f"compare: kept from the replaced pair: {', '.join(result.kept)}", err=True)
    verb = "replaced" if result.replaced else "added"
    click.echo(f"{verb} {result.path} ({len(segment(pair.claim))} claim sentences, "
               f"{len(segment(pair.response))} response sentences)")


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@corpus_option
def list_cmd(fmt: str, corpus: Path | None) -> None:
    """List the corpus pairs: slug, date, sentence counts, parties, title."""
    from .corpus import corpus_dir, list_pairs
    from .segment import segment

    root = corpus_dir(corpus)
    rows = []
    for pair in list_pairs(root, on_error=_warn):
        rows.append({
            "slug": pair.slug,
            "title": pair.title,
            "claimant": pair.claimant,
            "respondent": pair.respondent,
            "date": pair.date,
            "sources": list(pair.sources),
            "added": pair.added,
            "claim_sentences": len(segment(pair.claim)),
            "response_sentences": len(segment(pair.response)),
        })
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"no pairs in corpus {root} (add one with `compare add`)", err=True)
        return
    table = [("SLUG", "DATE", "CLAIM", "RESP", "PARTIES", "TITLE")]
    for r in rows:
        # Both sides or neither: "- / Norway MFA" says which party is missing.
        parties = f'{r["claimant"] or "-"} / {r["respondent"] or "-"}' if r["claimant"] or r["respondent"] else "-"
        table.append((r["slug"], r["date"] or "-", str(r["claim_sentences"]),
                      str(r["response_sentences"]), parties, r["title"] or "-"))
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        cells = [row[i].rjust(widths[i]) if i in (2, 3) else row[i].ljust(widths[i]) for i in range(5)]
        click.echo("  ".join(cells + [row[5]]).rstrip())


@cli.command()
@click.argument("text")
@click.option("-n", "limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many sentences to show.")
@click.option("--pair", "pair_slug", metavar="SLUG", help="Search only this pair.")
@click.option("--side", type=click.Choice(["claim", "response"]), help="Search only claims or only responses.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "plain"]), default="jsonl", show_default=True)
@model_option
@corpus_option
def query(text: str, limit: int, pair_slug: str | None, side: str | None, fmt: str,
          model: str | None, corpus: Path | None) -> None:
    """The corpus sentences most similar to TEXT, best first.

    One JSON object per line: {"pair", "side", "index", "text", "score"}, where
    index is the sentence's position within its side of the pair. Sentences not
    yet in the embedding store are embedded first (once).
    """
    from .corpus import corpus_dir, list_pairs, load_pair
    from .embed import open_embedder
    from .query import query as run_query

    if not text.strip():
        raise CompareError("the query text is empty: give a sentence to look for")
    root = corpus_dir(corpus)
    pairs = [load_pair(pair_slug, root)] if pair_slug else list_pairs(root, on_error=_warn)
    if not pairs:
        raise CompareError(f"no pairs in corpus {root}: add one with `compare add`, or pass --corpus")
    embedder = open_embedder(model)
    try:
        hits = run_query(text, embedder, pairs, n=limit, side=side)
    finally:
        if embedder.store is not None:
            embedder.store.close()
    for hit in hits:
        if fmt == "jsonl":
            click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
        else:
            click.echo(f"{hit.score:.4f}  {hit.pair}  {hit.side} {hit.index}  {hit.text}")


@cli.command()
@click.argument("text_a")
@click.argument("text_b")
@model_option
def similarity(text_a: str, text_b: str, model: str | None) -> None:
    """Print the cosine similarity of TEXT_A and TEXT_B, as one number such as 0.8123."""
    from .embed import open_embedder
    from .query import similarity as run_similarity

    embedder = open_embedder(model)
    try:
        score = run_similarity(text_a, text_b, embedder)
    finally:
        if embedder.store is not None:
            embedder.store.close()
    click.echo(f"{score:.4f}")


def main() -> None:
    try:
        code = cli.main(prog_name="compare", standalone_mode=False)
    except click.UsageError as exc:
        # One line, like every other error: what is wrong and where to look.
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
