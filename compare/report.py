"""Render an Alignment as a self-contained, side-by-side HTML page.

The page is one file: CSS and JS inline, no fonts, scripts or images from
anywhere, and a Content-Security-Policy that forbids every fetch. Everything a
reader needs (sentences, links, strength labels, unanswered marks, the
heatmap) is plain HTML/SVG; the script only draws connectors and highlights
partners on hover/focus.

All text is user input. Templates are autoescaped; decisions live in the
small Python functions and filters below, not in template logic.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .align import Alignment
from .corpus import Pair
from .errors import CompareError
from .textview import below, reads_as, why

STRENGTHS = ("strong", "moderate", "weak")
#: A link is "strong" at a score of 0.55 or more, "moderate" at 0.40, else "weak". Fixed
#: scores, not margins over the threshold: the score is a probability, and lowering the
#: threshold must not make the same link look stronger (at the default threshold, 0.3, these
#: are the threshold + 0.25 and + 0.10).
STRENGTH_CUTS = {"strong": 0.55, "moderate": 0.40, "weak": 0.0}
#: The heatmap's colour ramp (light to dark), interpolated in sRGB.
HEAT_LOW = (0xF4, 0xF6, 0xF8)
HEAT_HIGH = (0x0B, 0x3C, 0x5D)


def template_dir() -> Path:
    """Installed: compare/templates; source checkout: the repository's templates/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "report.html").is_file():
            return candidate
    raise FileNotFoundError("report templates are missing: reinstall compare")


# ---------------------------------------------------------------- filters


def strength_bands(threshold: float) -> list[tuple[str, float]]:
    """The bands a link can fall in at this threshold, with their lowest scores as the
    report prints them (two decimals): a band that the threshold covers entirely is left
    out (at 0.6 every link is "strong"), and the lowest band starts at the threshold."""
    shown = round(threshold, 2)
    bands: list[tuple[str, float]] = []
    for name in STRENGTHS:
        cut = max(STRENGTH_CUTS[name], shown)
        if not bands or cut < bands[-1][1]:
            bands.append((name, cut))
    bands[-1] = (bands[-1][0], shown)
    return bands


def strength(score: float | None, threshold: float) -> str:
    """A word for a score, so colour is never the only signal. Judged on the score as
    printed, so that "0.55" is never called moderate next to a legend that says strong."""
    if score is None or score < threshold:
        return "none"
    bands = strength_bands(threshold)
    # The lowest band starts at the threshold as printed, so a linked score always lands in one.
    return next((name for name, cut in bands if round(score, 2) >= cut), bands[-1][0])


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


def score(value: float | None) -> str:
    if value is None:
        return "—"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "—" if math.isnan(value) else f"{value:.2f}"


def score_below(value: Any, threshold: Any) -> str:
    """`score` for a score under the threshold: never shown as the threshold itself."""
    try:
        value, threshold = float(value), float(threshold)
    except (TypeError, ValueError):
        return score(value)
    if math.isnan(value) or math.isnan(threshold) or value >= threshold:
        return score(value)
    return below(value, threshold)


def safe_url(url: Any) -> str | None:
    """The URL if it is an absolute http(s) address with a host, else None.

    Anything else (javascript:, data:, relative paths, prose) is shown as text
    and never becomes a link.
    """
    text = str(url or "").strip()
    if any(ch in text for ch in "\x00\r\n\t <>\"'`\\") or len(text) > 2000:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def evidence_value(value: Any) -> str:
    """One evidence value as short text, whatever its type."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(evidence_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {evidence_value(v)}" for k, v in value.items())
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return evidence_value(value.tolist())
    return str(value)


def snippet(text: str, limit: int = 80) -> str:
    """The start of a sentence, for tooltips."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def script_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element (no </script>, <!--, or U+2028 tricks)."""
    text = json.dumps(data, ensure_ascii=False, default=evidence_value)
    for raw, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return Markup(text)


def csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _mix(t: float) -> str:
    t = min(1.0, max(0.0, t))
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(HEAT_LOW, HEAT_HIGH))
    return f"#{r:02x}{g:02x}{b:02x}"


def day(stamp: str) -> str:
    """'2026-11-28T05:05:00Z' -> '2026-11-28': readers want the day, not the second."""
    try:
        return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).date().isoformat()
    except (ValueError, AttributeError):
        return str(stamp)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(template_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["day"] = day
    env.filters["score"] = score
    env.filters["score_below"] = score_below
    env.filters["safe_url"] = safe_url
    env.filters["evidence_value"] = evidence_value
    env.filters["script_json"] = script_json
    return env


# ------------------------------------------------------------ view model


@dataclass
class ClaimView:
    index: int
    id: str
    label: str
    text: str
    answered_by: list["ResponseView"] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.answered_by)

    @property
    def partners(self) -> str:
        return " ".join(r.id for r in self.answered_by)


@dataclass
class ResponseView:
    index: int
    id: str
    label: str
    text: str
    claim: ClaimView | None
    score: float | None
    strength: str
    relation: str | None
    candidates: list[tuple[str, str, float]]  # (id, label, score)
    evidence: list[tuple[str, str]]
    why: str = ""  # the evidence in one readable line (textview.why)
    reads_as: str | None = None  # the rhetorical move that lowered the score, if any

    @property
    def partners(self) -> str:
        return self.claim.id if self.claim else ""


@dataclass
class HeatCell:
    x: float
    y: float
    fill: str
    title: str
    chosen: bool
    strength: str


@dataclass
class Heatmap:
    width: float
    height: float
    cell: float
    left: float
    top: float
    cells: list[HeatCell]
    col_labels: list[tuple[float, str]]
    row_labels: list[tuple[float, str]]
    low: float
    high: float
    low_fill: str
    high_fill: str
    description: str


#: Above this many cells the heatmap is left out: the page would grow with the
#: square of the document lengths (400 x 400 sentences made a 41 MB file).
MAX_HEATMAP_CELLS = 20_000
#: Above this many cells, cell tooltips drop the sentence snippets.
MAX_SNIPPET_CELLS = 2_500


def heatmap_too_large(alignment: Alignment) -> bool:
    return len(alignment.claims) * len(alignment.responses) > MAX_HEATMAP_CELLS


def _heatmap(alignment: Alignment, responses: list[ResponseView]) -> Heatmap | None:
    """Responses down, claims across (the shape of Alignment.similarity)."""
    sim = alignment.similarity
    n_c, n_r = len(alignment.claims), len(alignment.responses)
    if sim is None or not n_c or not n_r or heatmap_too_large(alignment):
        return None
    snippets = n_c * n_r <= MAX_SNIPPET_CELLS
    try:
        rows = [[float(v) for v in row] for row in sim]
    except TypeError:
        return None
    if len(rows) != n_r or any(len(row) != n_c for row in rows):
        return None
    finite = [v for row in rows for v in row if math.isfinite(v)]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    cell = max(8.0, min(28.0, 640.0 / n_c))
    left, top = 40.0, 22.0
    chosen = {(r.index, r.claim.index): r.strength for r in responses if r.claim}
    cells = []
    for ri, row in enumerate(rows):
        for ci, v in enumerate(row):
            mark = (ri, ci) in chosen
            what = f"chosen link, {chosen[(ri, ci)]}" if mark else "not chosen"
            value = score(v) if math.isfinite(v) else "n/a"
            cells.append(HeatCell(
                x=left + ci * cell, y=top + ri * cell,
                fill=_mix((v - low) / span) if math.isfinite(v) else "#ffffff",
                title=(f"R{ri} × C{ci}: score {value} ({what})"
                       + (f"\nR{ri}: {snippet(alignment.responses[ri].text)}"
                          f"\nC{ci}: {snippet(alignment.claims[ci].text)}" if snippets else "")),
                chosen=mark, strength=chosen.get((ri, ci), ""),
            ))
    step_c = 1 if cell >= 16 else max(1, math.ceil(16 / cell))
    step_r = 1 if cell >= 12 else max(1, math.ceil(12 / cell))
    return Heatmap(
        width=left + n_c * cell + 4, height=top + n_r * cell + 4, cell=cell, left=left, top=top,
        cells=cells,
        col_labels=[(left + ci * cell + cell / 2, f"C{ci}") for ci in range(0, n_c, step_c)],
        row_labels=[(top + ri * cell + cell / 2, f"R{ri}") for ri in range(0, n_r, step_r)],
        low=low, high=high, low_fill=_mix(0), high_fill=_mix(1),
        description=(f"Match score of each of {n_r} response sentences (rows) against each of {n_c} "
                     f"claims (columns), from {score(low)} (light) to {score(high)} (dark); "
                     f"{len(chosen)} chosen links are outlined."),
    )


@dataclass
class Summary:
    n_claims: int
    n_responses: int
    n_answered: int
    n_unanswered: int
    n_none: int
    coverage: float
    by_strength: dict[str, int]


def summarize(alignment: Alignment) -> Summary:
    n_claims = len(alignment.claims)
    linked = {l.claim for l in alignment.links if l.claim is not None and 0 <= l.claim < n_claims}
    # Only the bands a link can fall in at this threshold (the legend shows the same).
    counts = {name: 0 for name, _ in strength_bands(float(alignment.threshold))}
    lowest = next(reversed(counts))
    for link in alignment.links:
        if link.claim is not None:
            s = strength(link.score, alignment.threshold)
            counts[s if s in counts else lowest] += 1
    n_linked_responses = sum(1 for l in alignment.links if l.claim is not None)
    return Summary(
        n_claims=n_claims,
        n_responses=len(alignment.responses),
        n_answered=len(linked),
        n_unanswered=n_claims - len(linked),
        n_none=len(alignment.responses) - n_linked_responses,
        coverage=len(linked) / n_claims if n_claims else 0.0,
        by_strength=counts,
    )


def _views(alignment: Alignment) -> tuple[list[ClaimView], list[ResponseView]]:
    claims = [ClaimView(i, f"c{i}", f"C{i}", s.text) for i, s in enumerate(alignment.claims)]
    by_response = {l.response: l for l in alignment.links}
    responses = []
    for i, s in enumerate(alignment.responses):
        link = by_response.get(i)
        claim = None
        if link is not None and link.claim is not None and 0 <= link.claim < len(claims):
            claim = claims[link.claim]
        sc = None if link is None else float(link.score)
        view = ResponseView(
            index=i, id=f"r{i}", label=f"R{i}", text=s.text, claim=claim, score=sc,
            strength=strength(sc, alignment.threshold) if claim else "none",
            relation=getattr(link, "relation", None),
            candidates=[(f"c{c.claim}", f"C{c.claim}", float(c.score))
                        for c in (link.candidates if link else []) if 0 <= c.claim < len(claims)],
            evidence=[(str(k), evidence_value(v)) for k, v in ((link.evidence or {}) if link else {}).items()],
            why=why(link.evidence or {}) if link else "",
            reads_as=reads_as(link.evidence or {}) if link else None,
        )
        if claim and view.strength == "none":  # linked below the bands: still call it weak
            view.strength = "weak"
        if claim:
            claim.answered_by.append(view)
        responses.append(view)
    return claims, responses


def _sources(pair: Pair) -> list[tuple[str, str | None]]:
    return [(str(s), safe_url(s)) for s in (pair.sources or [])]


def _data(alignment: Alignment, pair: Pair) -> dict[str, Any] | None:
    """The alignment as JSON-ready data, embedded so the page carries its own numbers."""
    try:
        return alignment.to_dict() | {"pair": pair.meta() | {"slug": pair.slug}}
    except (AttributeError, TypeError, ValueError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _assets(env: Environment) -> dict[str, Any]:
    """The inline CSS and JS, and the CSP that allows exactly those two and nothing else."""
    css = env.get_template("_partials/style.css").render()
    js = env.get_template("_partials/script.js").render()
    csp = "; ".join([
        "default-src 'none'",
        f"style-src {csp_hash(css)}",
        f"script-src {csp_hash(js)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])
    return {"css": Markup(css), "js": Markup(js), "csp": csp}


def context(alignment: Alignment, pair: Pair, generated: str | None = None) -> dict[str, Any]:
    claims, responses = _views(alignment)
    summary = summarize(alignment)
    t = float(alignment.threshold)
    return {
        "pair": pair,
        "a": alignment,
        "title": pair.title or pair.slug or "Untitled pair",
        # Empty when not given: the templates then leave the party out, never print a
        # placeholder that reads like a name.
        "claimant": pair.claimant,
        "respondent": pair.respondent,
        "sources": _sources(pair),
        "claims": claims,
        "responses": responses,
        "summary": summary,
        "heatmap": _heatmap(alignment, responses),
        "heatmap_too_large": heatmap_too_large(alignment),
        "bands": strength_bands(t),
        "threshold": t,
        "generated": generated or _now(),
        "data": _data(alignment, pair),
        # kept for templates written against the first version
        "n_claims": summary.n_claims,
        "n_responses": summary.n_responses,
        "n_answered": summary.n_answered,
        "n_none": summary.n_none,
        "coverage": summary.coverage,
    }


def render(alignment: Alignment, pair: Pair, generated: str | None = None) -> str:
    env = environment()
    return env.get_template("report.html").render(**context(alignment, pair, generated), **_assets(env))


@dataclass
class IndexEntry:
    pair: Pair
    href: str
    summary: Summary
    model: str
    threshold: float


def render_index(entries: Sequence[IndexEntry], generated: str | None = None) -> str:
    env = environment()
    return env.get_template("index.html").render(
        entries=list(entries), generated=generated or _now(), title="Statement pairs", **_assets(env)
    )


GENERATOR_MARK = '<meta name="generator" content="compare">'


def check_target(path: Path, force: bool = False, protect: Iterable[Path] = ()) -> None:
    """Refuse to clobber what the user did not ask us to replace.

    An input document or a file under a protected folder (the corpus) is never
    a report target; an existing file that compare did not write needs --force.
    """
    resolved = path.resolve()
    for guarded in protect:
        g = Path(guarded).resolve()
        if resolved == g or g in resolved.parents:
            raise CompareError(f"refusing to write the report over {path}: it is one of the "
                               "inputs or inside the corpus; choose another -o path")
    if resolved.is_file() and not force:
        try:
            with open(resolved, encoding="utf-8", errors="replace") as fh:
                head = fh.read(4096)
        except OSError:
            head = ""
        if GENERATOR_MARK not in head:
            raise CompareError(f"{path} exists and is not a compare report: "
                               "pass --force to overwrite it, or choose another -o path")


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a page."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # A device or pipe (/dev/stdout, a FIFO): write through, never replace it.
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); a report is meant to be shared.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all(pairs: Iterable[Pair], out_dir: Path, align_pair, generated: str | None = None,
              force: bool = False, protect: Iterable[Path] = ()) -> list[Path]:
    """Every pair's report as out_dir/SLUG.html, then out_dir/index.html linking them.

    `align_pair(pair)` returns the pair's Alignment (so the caller picks model,
    threshold and split, and can share one loaded model across pairs).
    """
    generated = generated or _now()
    pairs = list(pairs)
    protect = list(protect)
    for target in [out_dir / "index.html", *(out_dir / f"{p.slug}.html" for p in pairs)]:
        check_target(target, force, protect)
    entries, written = [], []
    for pair in pairs:
        try:
            alignment = align_pair(pair)
        except CompareError as exc:
            raise CompareError(f"pair {pair.slug}: {exc}") from None
        path = out_dir / f"{pair.slug}.html"
        write_atomic(path, render(alignment, pair, generated))
        written.append(path)
        entries.append(IndexEntry(pair, path.name, summarize(alignment), alignment.model_label,
                                  float(alignment.threshold)))
    index = out_dir / "index.html"
    write_atomic(index, render_index(entries, generated))
    return [index, *written]
