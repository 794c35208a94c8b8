"""Split a document into sentences that keep their character offsets.

Offsets index the original string, so every downstream step (matching,
reports, corpus queries) can point back at the exact source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def segment(text: str, split: str = "sentences") -> list[Sentence]:
    """Provisional splitter; replaced by the rule-based segmenter."""
    if split not in ("sentences", "lines"):
        raise ValueError(f"unknown split mode {split!r}: use 'sentences' or 'lines'")
    pieces: list[tuple[int, int]] = []
    for para in re.finditer(r"\S(?:.*\S)?", text) if split == "lines" else re.finditer(r"\S[\s\S]*?(?=\n\s*\n|\Z)", text):
        if split == "lines":
            pieces.append((para.start(), para.end()))
            continue
        start = para.start()
        for m in _BOUNDARY.finditer(para.group()):
            pieces.append((start, para.start() + m.start()))
            start = para.start() + m.end()
        pieces.append((start, para.end()))
    out = []
    for s, e in pieces:
        chunk = text[s:e]
        stripped = chunk.strip()
        if not stripped:
            continue
        s2 = s + (len(chunk) - len(chunk.lstrip()))
        e2 = s2 + len(stripped)
        out.append(Sentence(" ".join(stripped.split()), s2, e2))
    return out
