"""Render an Alignment as a self-contained, side-by-side HTML page."""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .align import Alignment
from .corpus import Pair


def template_dir() -> Path:
    """Installed: compare/templates; source checkout: the repository's templates/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "report.html").is_file():
            return candidate
    raise FileNotFoundError("report templates are missing: reinstall compare")


def strength(score: float | None, threshold: float) -> str:
    """A word for a score, so colour is never the only signal."""
    if score is None:
        return "none"
    if score >= threshold + 0.25:
        return "strong"
    if score >= threshold + 0.1:
        return "moderate"
    if score >= threshold:
        return "weak"
    return "none"


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(template_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["score"] = lambda s: "—" if s is None else f"{s:.2f}"
    return env


def context(alignment: Alignment, pair: Pair, generated: str | None = None) -> dict[str, Any]:
    n_claims = len(alignment.claims)
    answered = n_claims - len(alignment.unanswered)
    by_claim: dict[int, list[int]] = {i: [] for i in range(n_claims)}
    for link in alignment.links:
        if link.claim is not None:
            by_claim[link.claim].append(link.response)
    return {
        "pair": pair,
        "a": alignment,
        "answered_by": by_claim,
        "n_claims": n_claims,
        "n_responses": len(alignment.responses),
        "n_answered": answered,
        "coverage": answered / n_claims if n_claims else 0.0,
        "n_none": sum(1 for l in alignment.links if l.claim is None),
        "strength": lambda s: strength(s, alignment.threshold),
        "generated": generated
        or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render(alignment: Alignment, pair: Pair, generated: str | None = None) -> str:
    return environment().get_template("report.html").render(**context(alignment, pair, generated))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
