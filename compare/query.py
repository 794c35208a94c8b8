"""Search the corpus: the stored sentences most similar to a text.

Corpus sentences are embedded on demand through the cached Embedder, in
chunks that are committed to the store one by one, so a pair is queryable as
soon as it is added, a second query reuses every vector, and an interrupted
query keeps the work it had finished.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from .corpus import Pair
from .errors import CompareError
from .segment import segment

SIDES = ("claim", "response")
CHUNK = 256


@dataclass(frozen=True)
class CorpusSentence:
    pair: str
    side: str  # "claim" or "response"
    index: int  # position among that side's sentences
    text: str


@dataclass(frozen=True)
class Hit:
    pair: str
    side: str
    index: int
    text: str
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


def corpus_sentences(pairs: Iterable[Pair], side: str | None = None) -> list[CorpusSentence]:
    """Every sentence of PAIRS (one SIDE, or both), in slug, side, index order."""
    if side is not None and side not in SIDES:
        raise CompareError(f"unknown side {side!r}: use 'claim' or 'response'")
    out: list[CorpusSentence] = []
    for pair in sorted(pairs, key=lambda p: p.slug):
        for name in SIDES:
            if side and name != side:
                continue
            doc = pair.claim if name == "claim" else pair.response
            for i, sentence in enumerate(segment(doc)):
                out.append(CorpusSentence(pair.slug, name, i, sentence.text))
    return out


def embed_texts(embedder, texts: Sequence[str], chunk: int = CHUNK) -> np.ndarray:
    """Vectors for TEXTS through EMBEDDER, CHUNK distinct texts per `embedder.embed` call.

    Embedder.embed reads the cache, encodes what is missing and stores those
    vectors in one transaction per call, so a killed query keeps every finished
    chunk. Shows one progress bar on stderr for a long run when the embedder
    shows progress (stderr is a terminal); otherwise prints nothing.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    vectors: dict[str, np.ndarray] = {}
    saved = getattr(embedder, "progress", False)
    show = bool(saved) and len(unique) > 64
    embedder.progress = False  # one outer bar, not one per chunk
    try:
        starts = range(0, len(unique), chunk)
        if show:
            import click

            with click.progressbar(starts, label=f"embedding {len(unique)} sentences",
                                   file=sys.stderr) as bar:
                for start in bar:
                    _embed_chunk(embedder, unique[start : start + chunk], vectors)
        else:
            for start in starts:
                _embed_chunk(embedder, unique[start : start + chunk], vectors)
    finally:
        embedder.progress = saved
    return np.stack([vectors[t] for t in texts]).astype(np.float32)


def _embed_chunk(embedder, part: list[str], vectors: dict) -> None:
    for text, vector in zip(part, embedder.embed(part)):
        vectors[text] = vector


def query(text: str, embedder, pairs: Sequence[Pair], n: int = 10, side: str | None = None) -> list[Hit]:
    """The N corpus sentences most similar to TEXT, best first (ties in corpus order)."""
    if not text or not text.strip():
        raise CompareError("the query text is empty: give a sentence to look for")
    if n < 1:
        raise CompareError(f"-n must be at least 1 (got {n})")
    sentences = corpus_sentences(pairs, side)
    if not sentences:
        return []
    matrix = embed_texts(embedder, [s.text for s in sentences])
    probe = embedder.embed([" ".join(text.split())])[0]
    scores = matrix @ probe
    order = np.argsort(-scores, kind="stable")[:n]
    return [
        Hit(
            pair=sentences[i].pair,
            side=sentences[i].side,
            index=sentences[i].index,
            text=sentences[i].text,
            score=round(float(np.clip(scores[i], -1.0, 1.0)), 6),
        )
        for i in order
    ]


def similarity(text_a: str, text_b: str, embedder) -> float:
    """Cosine similarity of two texts under the embedder's model."""
    for name, t in (("TEXT_A", text_a), ("TEXT_B", text_b)):
        if not t or not t.strip():
            raise CompareError(f"{name} is empty: give two texts to compare")
    a, b = embedder.embed([" ".join(text_a.split()), " ".join(text_b.split())])
    return float(np.clip(float(a @ b), -1.0, 1.0))
