"""Rhetorical moves of a rebuttal, recognized zero-shot by prototype sentences.

compare/data/rhetoric-none.txt holds a few generic sentences per move that
answers *no specific claim* (counter-accusation, threat, procedure, thanks,
framing, attack on motives, statements of values); rhetoric-answer.txt the
moves that do answer one (denial, correction, justification, concession).
They come from a general typology of rebuttal rhetoric, not from any
evaluation text. A response sentence's evidence is its best cosine to each
move's prototypes, through the same embedder as the pair (so the vectors are
cached with everything else); align.py uses how much closer a sentence is to
the "none" moves than to the "answer" moves (clipped at 0) as one feature of
its abstention model.

compare/data/denial-cues.txt holds words by which a sentence declares something
false or denies it ("baseless", "fabricated", "has never"); `denial_cue` finds
it in a sentence. align.py sets such a sentence's lean to zero (a denial phrased
as an attack on the accuser resembles the attack prototypes, yet it answers a
claim) and may steer a general one to the lead claim.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

TOP_K = 1  # a move's evidence: mean of its TOP_K best prototype cosines (1: the best; 3 and 5 measured within 0.01)
FILES = {"none": "rhetoric-none.txt", "answer": "rhetoric-answer.txt"}


def _read(name: str) -> dict[str, list[str]]:
    moves: dict[str, list[str]] = {}
    current = ""
    text = resources.files("compare.data").joinpath(name).read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("##"):
            current = line[2:].strip()
        elif line and not line.startswith("#"):
            moves.setdefault(current, []).append(line)
    return moves


def cue_pattern(lines: Sequence[str]) -> re.Pattern | None:
    """One case-blind pattern for cue lines: words separated by any whitespace, a
    trailing * for any ending; blank lines and "#" comments skipped. A cue whose body is
    empty (a lone "*") would match everywhere, so it is refused."""
    parts = []
    for line in lines:
        cue = line.strip()
        if not cue or cue.startswith("#"):
            continue
        words = cue.rstrip("*").split()
        if not words:
            raise ValueError(f"a cue needs a word before its '*': {line!r}")
        body = r"[\s-]+".join(re.escape(w) for w in words)
        parts.append(r"\b" + body + (r"\w*" if cue.endswith("*") else r"\b"))
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@lru_cache(maxsize=1)
def _denial_patterns() -> tuple[re.Pattern | None, re.Pattern | None]:
    """The cues of denial-cues.txt, and its "-" lines: phrases in which a cue word means
    something else ("denial of service", "science fiction")."""
    text = resources.files("compare.data").joinpath("denial-cues.txt").read_text(encoding="utf-8")
    lines = [l.strip() for l in text.splitlines()]
    cues = [l for l in lines if not l.startswith("-")]
    exceptions = [l[1:] for l in lines if l.startswith("-")]
    return cue_pattern(cues), cue_pattern(exceptions)


def denial_cue(text: str) -> str | None:
    """The first denial cue in a sentence, as written there (for the evidence), or None."""
    cues, exceptions = _denial_patterns()
    if cues is None:
        return None
    if exceptions is not None:
        text = exceptions.sub(lambda m: " " * len(m.group()), text)
    m = cues.search(text)
    return None if m is None else " ".join(m.group().split())


@lru_cache(maxsize=1)
def prototypes() -> tuple[tuple[str, str, str], ...]:
    """(kind, move, sentence) for every prototype; kind is 'none' or 'answer'."""
    return tuple((kind, move, s) for kind, fn in FILES.items() for move, ss in _read(fn).items() for s in ss)


@dataclass(frozen=True)
class Prototypes:
    """Embedded prototypes: unit vectors with their kind and move."""

    vectors: np.ndarray  # (n, dim)
    kinds: tuple[str, ...]
    moves: tuple[str, ...]

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> "Prototypes":
        """From the vectors of `prototypes()`' sentences, in that order."""
        protos = prototypes()
        if len(vectors) != len(protos):
            raise ValueError(f"expected {len(protos)} prototype vectors, got {len(vectors)}")
        vec = np.asarray(vectors, dtype=np.float64)
        return cls(vec, tuple(k for k, _, _ in protos), tuple(m for _, m, _ in protos))

    @classmethod
    def embed(cls, embedder) -> "Prototypes":
        return cls.from_vectors(embedder.embed([s for _, _, s in prototypes()]))

    def move_scores(self, response_vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Best cosine of each response sentence to each move's prototypes."""
        sim = np.asarray(response_vectors, np.float64) @ self.vectors.T
        moves = np.array(self.moves)
        return {m: sim[:, moves == m].max(axis=1) for m in dict.fromkeys(self.moves)}

    def nearest_moves(self, response_vectors: np.ndarray) -> list[str]:
        """The move whose prototype each response sentence is closest to (for the
        evidence: what the sentence reads as, e.g. 'counter-accusation' or 'denial')."""
        scores = self.move_scores(response_vectors)
        names = list(scores)
        best = np.argmax(np.stack([scores[m] for m in names], axis=1), axis=1)
        return [names[i] for i in best]

    def best(self, response_vectors: np.ndarray) -> np.ndarray:
        """(sentences, 2): closeness to the 'none' moves and to the 'answer' moves,
        each the mean of the TOP_K best prototype cosines of that kind minus the
        sentence's mean cosine to all prototypes (so an embedder's general level
        of similarity, e.g. from shared function words, cancels)."""
        sim = np.asarray(response_vectors, np.float64) @ self.vectors.T
        kinds = np.array(self.kinds)
        base = sim.mean(axis=1)

        def top(m):
            return np.sort(m, axis=1)[:, -TOP_K:].mean(axis=1)

        return np.stack([top(sim[:, kinds == "none"]) - base, top(sim[:, kinds == "answer"]) - base], axis=1)


_MEMO: "weakref.WeakKeyDictionary[object, Prototypes]" = weakref.WeakKeyDictionary()


def remembered(embedder) -> Prototypes | None:
    """The prototypes already embedded by this embedder object, if any."""
    try:
        return _MEMO.get(embedder)
    except TypeError:  # not weak-referenceable: embed every time
        return None


def remember(embedder, protos: Prototypes) -> Prototypes:
    try:
        _MEMO[embedder] = protos
    except TypeError:
        pass
    return protos
