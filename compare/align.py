"""Find, for each response sentence, the claim sentence it answers.

`align` is pure (sentences and vectors in, an Alignment out); `match` is the
public entry point that segments, embeds through the cache and aligns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import CompareError
from .segment import Sentence, segment

DEFAULT_THRESHOLD = 0.35
TOP_K = 3


@dataclass(frozen=True)
class Candidate:
    claim: int
    score: float


@dataclass
class Link:
    response: int
    claim: int | None
    score: float
    candidates: list[Candidate]
    relation: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "response": self.response,
            "claim": self.claim,
            "score": round(float(self.score), 4),
            "relation": self.relation,
            "candidates": [
                {"claim": c.claim, "score": round(float(c.score), 4)} for c in self.candidates
            ],
            "evidence": self.evidence,
        }


@dataclass
class Alignment:
    model: str
    threshold: float
    claims: list[Sentence]
    responses: list[Sentence]
    links: list[Link]
    unanswered: list[int]
    similarity: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        def sent(i: int, s: Sentence) -> dict[str, Any]:
            return {"index": i, "text": s.text, "start": s.start, "end": s.end}

        return {
            "model": self.model,
            "threshold": float(self.threshold),
            "claims": [sent(i, s) for i, s in enumerate(self.claims)],
            "responses": [sent(i, s) for i, s in enumerate(self.responses)],
            "links": [link.to_dict() for link in self.links],
            "unanswered": list(self.unanswered),
        }

    def answered_by(self, claim: int) -> list[int]:
        return [l.response for l in self.links if l.claim == claim]


def align(
    claims: list[Sentence],
    responses: list[Sentence],
    claim_vectors: np.ndarray,
    response_vectors: np.ndarray,
    *,
    model: str,
    threshold: float = DEFAULT_THRESHOLD,
) -> Alignment:
    """Best claim per response sentence by cosine; below threshold answers none."""
    if len(claims) and len(responses):
        sim = np.asarray(response_vectors @ claim_vectors.T, dtype=np.float64)
    else:
        sim = np.zeros((len(responses), len(claims)))
    links: list[Link] = []
    for r in range(len(responses)):
        order = np.argsort(-sim[r], kind="stable")[:TOP_K] if len(claims) else []
        candidates = [Candidate(int(c), float(sim[r, c])) for c in order]
        best = candidates[0] if candidates else None
        chosen = best.claim if best and best.score >= threshold else None
        links.append(
            Link(
                response=r,
                claim=chosen,
                score=best.score if best else 0.0,
                candidates=candidates,
                evidence={"cosine": round(best.score, 4)} if best else {},
            )
        )
    answered = {l.claim for l in links if l.claim is not None}
    unanswered = [i for i in range(len(claims)) if i not in answered]
    return Alignment(model, threshold, claims, responses, links, unanswered, similarity=sim)


def match(
    claim: str,
    response: str,
    *,
    model: str | None = None,
    threshold: float | None = None,
    split: str = "sentences",
    embedder: Any = None,
) -> Alignment:
    """Align a claim document with a response document."""
    claims = segment(claim, split=split)
    responses = segment(response, split=split)
    if not claims:
        raise CompareError("the claim document has no sentences: give a file with text in it")
    if not responses:
        raise CompareError("the response document has no sentences: give a file with text in it")
    if embedder is None:
        from .embed import open_embedder

        embedder = open_embedder(model)
    vectors = embedder.embed([s.text for s in claims] + [s.text for s in responses])
    return align(
        claims,
        responses,
        vectors[: len(claims)],
        vectors[len(claims) :],
        model=embedder.name,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
    )
