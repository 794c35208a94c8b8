"""Find, for each response sentence, the claim sentence it answers.

`align` is pure (sentences and vectors in, an Alignment out); `match` is the
public entry point that segments, embeds through the cache and aligns.

How a link is made (docs/method.md has the details and the figures):

1. Evidence per (response sentence, claim sentence): the model cosine,
   standardized over the pair's own matrix; IDF-weighted term overlap computed
   within the pair; and the IDF mass of shared *specific* terms (numbers,
   acronyms, names, quoted phrases). A fitted linear combination gives a logit
   per cell, a softmax over claims a choice distribution per response sentence.
2. Context: a response tends to keep answering the same claim for several
   sentences, especially inside a paragraph, and peer-review rebuttals walk
   through the review in order. A hidden-Markov sequence model expresses this;
   forward-backward gives context-aware choice probabilities. Whether the
   document behaves like that is decided from the document itself: the
   sequence model and an order-free model are weighed by how well each
   explains the evidence (their likelihoods), and their posteriors mixed. In a
   document not answered in order, a denial that names nothing specific ("we
   have never misled an investor") leans to the lead claim (the first claim
   sentence of 8 words or more), where news stories and reports put the
   central accusation.
3. Abstention: a small logistic model turns the chosen claim's evidence,
   relative to the document's own score distribution, and the sentence's
   rhetorical move (compare/rhetoric.py: is it closer to counter-accusation,
   threat, procedure, thanks, framing... than to denial, correction,
   justification, concession?) into the probability that the sentence
   answers that claim at all. That probability is
   `Link.score`; the link is made when it reaches the threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import decode, rhetoric
from .rhetoric import denial_cue  # analyse() has a parameter named `rhetoric`
from .errors import CompareError
from .evidence import lexical
from .segment import Sentence, segment

#: Link.score is an estimated probability (0..1, equal prior odds of "answers
#: this claim" and "answers no specific claim") that the response sentence
#: answers the chosen claim; a link is made when score >= threshold.
DEFAULT_THRESHOLD = 0.3
TOP_K = 3

# Fitted by benchmarks/fit_alignment.py on DISAPERE train (+ pairs/ and train_pairs/
# for the link model), with the default model's two embeddings (embed.DEFAULT_MODEL) but
# without its tuned companion (--no-tuned; train_pairs/ 01-48); never on DISAPERE test.
# Order as in decode.FEATURES. Used by every model but the default.
CHOICE_WEIGHTS = (0.687, 1.368, 1.267, 0.342, 3.965)
SHARPNESS = 0.5  # emission = softmax(SHARPNESS * choice logit)
STAY_IN_PARAGRAPH = 0.8  # P(next sentence answers the same claim), same paragraph
STAY_ACROSS_PARAGRAPHS = 0.2  # ... after a paragraph break
FORWARD = 0.2  # P(moving on to the next claims in order)
# Sequence weight = sigmoid((log-likelihood gain of the sequence model - SEQUENCE_OFFSET)
# / EVIDENCE_TEMPERATURE): the sequence model has to explain the document clearly better
# (by e^2 in likelihood) before it takes over; an Occam prior for the richer model.
SEQUENCE_OFFSET = 2.0
EVIDENCE_TEMPERATURE = 0.5
# Context probability of the claim's opening paragraph x exp(-OPENING_PENALTY * sequence
# weight): picked on DISAPERE train (plateau from 2 to 6; political pairs unaffected up to 3).
OPENING_PENALTY = 2.0
# A denial that shares few words with any claim ("We have never misled an investor") answers
# the central accusation, which news stories and reports state in their first sentence: in a
# document not answered in order, the lead claim's (`lead_claim`) context probability of a
# sentence with a denial cue is multiplied by exp(LEAD_DENIAL * (1 - sequence weight) *
# exp(-LEAD_DENIAL_OVERLAP * the sentence's best word overlap)). Picked on train_pairs/ and
# pairs/ (a plateau for LEAD_DENIAL 1-2 with overlap 5-10); DISAPERE unchanged.
LEAD_DENIAL = 1.5
LEAD_DENIAL_OVERLAP = 5.0
LEAD_MIN_WORDS = 8  # shorter first lines (bylines, datelines, kickers) are not the lead
# Abstention: the four evidence weights are the model fitted before `none_lean` existed;
# the none_lean and order weights and the bias were fitted on top of them
# (fit_alignment.BASE_FIXED).
# none_lean = max(0, closeness to "no specific claim" moves - closeness to answering
# moves): it can only argue for abstaining, never for linking.
LINK_FEATURES = ("context_gain", "lexical", "row_rank", "log_words", "none_lean", "order")
LINK_WEIGHTS = (6.272, 1.015, -0.065, 0.895, -19.532, 0.265)
LINK_BIAS = -2.872
# With the default model's tuned companion (embed.TUNED_MODEL), its standardized cosine is
# a sixth choice feature (decode.TUNED_FEATURE), and the choice and abstention constants are
# fitted with it (the same procedure; train_pairs/ 01-168). Without it (any other --model),
# the constants above apply unchanged.
TUNED_CHOICE_WEIGHTS = (0.004, 1.084, 1.297, 0.35, 3.736, 0.741)
TUNED_LINK_WEIGHTS = (6.272, 1.015, -0.065, 0.895, -16.989, 0.036)
TUNED_LINK_BIAS = -3.011
# The adapter these constants go with (embed.adapter_digest()); a test fails when the
# adapter is replaced without checking them. They were fitted with the tenth round's adapter
# (c80b90931f, trained on train_pairs/ only) and kept, unchanged, for the eleventh round's
# (trained on adapter_pairs/ too), which was adopted with them (docs/method.md).
TUNED_ADAPTER_DIGEST = "07fe286385"


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
    tuned_model: str | None = None  # the default model's tuned companion, with its adapter's hash

    @property
    def model_label(self) -> str:
        """The model as shown to readers: the companion too, since results depend on it."""
        return self.model if not self.tuned_model else f"{self.model} with {self.tuned_model}"

    def to_dict(self) -> dict[str, Any]:
        def sent(i: int, s: Sentence) -> dict[str, Any]:
            return {"index": i, "text": s.text, "start": s.start, "end": s.end}

        return {
            "model": self.model,
            "tuned_model": self.tuned_model,
            "threshold": float(self.threshold),
            "claims": [sent(i, s) for i, s in enumerate(self.claims)],
            "responses": [sent(i, s) for i, s in enumerate(self.responses)],
            "links": [link.to_dict() for link in self.links],
            "unanswered": list(self.unanswered),
        }

    def answered_by(self, claim: int) -> list[int]:
        return [l.response for l in self.links if l.claim == claim]


@dataclass
class Analysis:
    """Every intermediate matrix of one pair (responses x claims unless noted)."""

    cosine: np.ndarray
    features: np.ndarray  # (responses, claims, len(decode.FEATURES)), one more with a tuned cosine
    independent: np.ndarray  # choice probabilities, each sentence on its own
    context: np.ndarray  # choice probabilities given the whole response
    sequence_weight: float  # 0..1: how much the document follows a sequence
    best: np.ndarray  # (responses,) chosen claim per sentence
    link_features: np.ndarray  # (responses, len(LINK_FEATURES))
    link_logit: np.ndarray  # (responses,)
    combined: np.ndarray  # final score of every cell, 0..1
    shared: list  # shared terms per cell (rarest first)
    cues: list | None = None  # per response sentence, its denial cue or None
    lead: int = 0  # the lead claim (`lead_claim`)
    lead_boost: np.ndarray | None = None  # per response sentence, the lead-denial factor (1: none)
    tuned: np.ndarray | None = None  # the tuned model's cosine, when there is one


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def analyse(
    claim_texts: Sequence[str],
    response_texts: Sequence[str],
    claim_vectors: np.ndarray,
    response_vectors: np.ndarray,
    paragraph_starts: Sequence[bool] | None = None,
    claim_paragraph_starts: Sequence[bool] | None = None,
    rhetoric: Sequence[float] | None = None,
    tuned_similarity: np.ndarray | None = None,
) -> Analysis:
    """All the evidence and decisions for one non-empty pair; pure.

    paragraph_starts / claim_paragraph_starts: per sentence, whether it opens a
    paragraph (None: every sentence is a paragraph of its own).
    rhetoric: (responses, 2) closeness of each response sentence to the
    prototypes of moves that answer no specific claim and to those of answering
    moves (`compare.rhetoric.Prototypes.best`); None: no lean either way.
    tuned_similarity: (responses, claims) cosine of the tuned model (embed.TUNED_MODEL);
    None: the evidence and constants of a model without one.
    """
    n_r, n_c = len(response_texts), len(claim_texts)
    cos = np.asarray(response_vectors, np.float64) @ np.asarray(claim_vectors, np.float64).T
    lex = lexical(list(claim_texts), list(response_texts))
    claim_paragraphs = None if claim_paragraph_starts is None else np.cumsum(claim_paragraph_starts)
    if tuned_similarity is not None and np.shape(tuned_similarity) != cos.shape:
        raise ValueError(f"tuned_similarity: expected shape {cos.shape}, got {np.shape(tuned_similarity)}")
    feats = decode.pair_features(cos, lex.overlap, lex.specific, claim_paragraphs, tuned_similarity)
    tuned = tuned_similarity is not None
    logits = feats @ np.asarray(TUNED_CHOICE_WEIGHTS if tuned else CHOICE_WEIGHTS)
    independent = decode.softmax(logits)
    emission = decode.softmax(SHARPNESS * logits)
    if paragraph_starts is None:
        paragraph_starts = [True] * n_r
    stay_in = decode.transitions(n_c, STAY_IN_PARAGRAPH, FORWARD, reach=1.0)
    stay_out = decode.transitions(n_c, STAY_ACROSS_PARAGRAPHS, FORWARD, reach=1.0)
    steps = [stay_out if paragraph_starts[r + 1] else stay_in for r in range(n_r - 1)]
    seq_post, seq_ll = decode.posterior(emission, steps, loglik=True)
    flat_post, flat_ll = decode.posterior(emission, np.full((n_c, n_c), 1.0 / n_c), loglik=True)
    weight = float(_sigmoid((seq_ll - flat_ll - SEQUENCE_OFFSET) / EVIDENCE_TEMPERATURE))
    context = weight * seq_post + (1 - weight) * flat_post
    unpenalized = context
    if n_c > 1 and OPENING_PENALTY:
        # In a document answered in order, the claim's opening paragraph is mostly a
        # summary that the answers skip; the penalty fades with the sequence weight, so
        # order-free (political) rebuttals keep their lead claim. One paragraph: no effect.
        para = np.arange(n_c) if claim_paragraphs is None else np.asarray(claim_paragraphs)
        opening = (para == para[0]).astype(np.float64)
        context = context * np.exp(-OPENING_PENALTY * weight * opening)[None, :]
        context = context / context.sum(axis=1, keepdims=True)
    cues = [denial_cue(t) for t in response_texts]
    lead, boost = lead_claim(claim_texts), np.ones(n_r)
    if n_c > 1 and LEAD_DENIAL:
        general = np.array([c is not None for c in cues], np.float64)
        general *= np.exp(-LEAD_DENIAL_OVERLAP * lex.overlap.max(axis=1))
        boost = np.exp(LEAD_DENIAL * (1 - weight) * general)
        context = context.copy()
        context[:, lead] *= boost
        context = context / context.sum(axis=1, keepdims=True)
        # The abstention model's context gain stays that of the evidence (`unpenalized`):
        # the prior picks which claim, not whether the sentence answers one (measured:
        # taking the gain after it scored 0.003 lower, leave-one-pair-out).
    best = context.argmax(axis=1)
    rows = np.arange(n_r)
    row_max = cos.max(axis=1)
    rank = (np.argsort(np.argsort(row_max)) + 0.5) / n_r  # 0..1 within the document
    words = np.array([len(re.findall(r"\w+", t)) for t in response_texts], dtype=np.float64)
    link_features = np.stack(
        [
            unpenalized[rows, best] - 1.0 / n_c,  # choice probability above chance
            lex.overlap[rows, best],
            rank,  # the sentence's best cosine, ranked within its document (0..1)
            np.log1p(words),
        ],
        axis=1,
    )
    if rhetoric is None:
        none_lean = np.zeros(n_r)
    else:
        moves = np.asarray(rhetoric, np.float64).reshape(n_r, 2)
        none_lean = np.maximum(moves[:, 0] - moves[:, 1], 0.0)
        # A sentence that declares something false or denies it answers a claim even
        # when it is worded as an attack on the accuser, which the prototypes mistake
        # for a counter-accusation: no lean for it (docs/method.md, "Denial cues").
        none_lean = np.where([c is not None for c in cues], 0.0, none_lean)
    # The document's sequence weight: rebuttals answered in order (peer review) answer
    # something with almost every sentence; order-free ones (political statements) mix
    # answers with counter-accusations, so a sentence there needs more evidence.
    link_features = np.hstack([link_features, none_lean[:, None], np.full((n_r, 1), weight)])
    if tuned:
        link_logit = link_features @ np.asarray(TUNED_LINK_WEIGHTS) + TUNED_LINK_BIAS
    else:
        link_logit = link_features @ np.asarray(LINK_WEIGHTS) + LINK_BIAS
    ratio = np.log(np.maximum(context, 1e-12) / context[rows, best][:, None])
    combined = _sigmoid(link_logit[:, None] + ratio)
    return Analysis(
        cos, feats, independent, context, weight, best, link_features, link_logit, combined, lex.shared, cues,
        lead, boost, None if tuned_similarity is None else np.asarray(tuned_similarity, np.float64),
    )


def lead_claim(claim_texts: Sequence[str], min_words: int | None = None) -> int:
    """The claim sentence that states the central accusation: the first one long enough
    to be a sentence of the story, so that a pasted headline kicker, byline or dateline
    line ("By Jane Doe, Reuters") is not taken for it."""
    min_words = LEAD_MIN_WORDS if min_words is None else min_words
    for i, text in enumerate(claim_texts):
        if len(re.findall(r"\w+", text)) >= min_words:
            return i
    return 0


def _evidence(an: Analysis, r: int, c: int, move: str | None = None) -> dict[str, Any]:
    out = {
        "cosine": round(float(an.cosine[r, c]), 3),
        "cosine_z": round(float(an.features[r, c, 0]), 2),
        "lexical": round(float(an.features[r, c, 1]), 3),
        "specific": round(float(an.features[r, c, 2]), 3),
        "shared_terms": list(an.shared[r][c][:5]),
        "alone": round(float(an.independent[r, c]), 3),
        "context": round(float(an.context[r, c]), 3),
        "order": round(an.sequence_weight, 3),
        "none_lean": round(float(an.link_features[r, LINK_FEATURES.index("none_lean")]), 3),
    }
    if an.tuned is not None:
        # The task-tuned model's view of the same cell (its cosine, and standardized).
        out["tuned_cosine"] = round(float(an.tuned[r, c]), 3)
        out[decode.TUNED_FEATURE] = round(float(an.features[r, c, len(decode.FEATURES)]), 2)
    if move is not None:
        out["move"] = move  # the rhetorical move the sentence reads as (nearest prototype)
    if an.cues is not None:
        # The words by which the sentence calls something false: they cancel any
        # rhetorical lean and may steer a general denial to the lead claim. None: no cue.
        out["denial_cue"] = an.cues[r]
    if an.lead_boost is not None and c == an.lead and an.lead_boost[r] > 1.01:
        # A general denial steered to the lead claim: by how much its context rose.
        out["lead_denial"] = round(float(an.lead_boost[r]), 2)
    return out


def align(
    claims: list[Sentence],
    responses: list[Sentence],
    claim_vectors: np.ndarray,
    response_vectors: np.ndarray,
    *,
    model: str,
    threshold: float = DEFAULT_THRESHOLD,
    paragraph_starts: Sequence[bool] | None = None,
    claim_paragraph_starts: Sequence[bool] | None = None,
    rhetoric: Sequence[float] | None = None,
    moves: Sequence[str] | None = None,
    tuned_similarity: np.ndarray | None = None,
    tuned_model: str | None = None,
) -> Alignment:
    """Choose a claim (or none) for every response sentence; pure.

    paragraph_starts, claim_paragraph_starts: per response / claim sentence,
    whether it opens a paragraph (None: every sentence is its own paragraph).
    rhetoric: (responses, 2) closeness of each response sentence to the
    rhetorical moves that answer no specific claim and to the answering ones
    (`compare.rhetoric.Prototypes.best`; None: no lean).
    moves: per response sentence, the name of the rhetorical move it is closest to
    (`Prototypes.nearest_moves`), shown in the evidence only.
    tuned_similarity: (responses, claims) cosine of the default model's tuned
    companion (None: none; see `analyse`); tuned_model: its name, for the record.
    `Alignment.similarity` holds the final combined score of every cell
    (responses x claims, 0..1), the scale `threshold` applies to.
    """
    if not (len(claims) and len(responses)):
        sim = np.zeros((len(responses), len(claims)))
        links = [Link(response=r, claim=None, score=0.0, candidates=[]) for r in range(len(responses))]
        return Alignment(model, threshold, claims, responses, links, list(range(len(claims))), similarity=sim,
                         tuned_model=tuned_model)
    if moves is not None and len(moves) != len(responses):
        raise ValueError(f"moves: expected {len(responses)} names (one per response sentence), got {len(moves)}")
    an = analyse(
        [s.text for s in claims],
        [s.text for s in responses],
        claim_vectors,
        response_vectors,
        paragraph_starts,
        claim_paragraph_starts,
        rhetoric,
        tuned_similarity,
    )
    sim = an.combined
    links: list[Link] = []
    for r in range(len(responses)):
        order = np.argsort(-sim[r], kind="stable")[:TOP_K]
        candidates = [Candidate(int(c), float(sim[r, c])) for c in order]
        best = candidates[0]
        chosen = best.claim if best.score >= threshold else None
        links.append(
            Link(
                response=r,
                claim=chosen,
                score=best.score,
                candidates=candidates,
                evidence=_evidence(an, r, best.claim, None if moves is None else moves[r]),
            )
        )
    answered = {l.claim for l in links if l.claim is not None}
    unanswered = [i for i in range(len(claims)) if i not in answered]
    return Alignment(model, threshold, claims, responses, links, unanswered, similarity=sim, tuned_model=tuned_model)


def paragraph_starts(text: str, sentences: Sequence[Sentence], one_line_unknown: bool = False) -> list[bool]:
    """Whether each sentence opens a paragraph (a line break before it).

    one_line_unknown: a text with no line break between any of its sentences (a statement
    pasted as one line) says nothing about its paragraphs, so every sentence counts as its
    own; used for responses, so that the sequence model's "stay inside a paragraph" is not
    imposed on a whole statement (docs/method.md, "One line, no paragraphs"). A claim
    document on one line stays one paragraph (no opening penalty, pooled paragraph evidence)."""
    out = []
    for i, s in enumerate(sentences):
        out.append(i == 0 or "\n" in text[sentences[i - 1].end : s.start])
    if one_line_unknown and len(out) > 1 and not any(out[1:]):
        return [True] * len(out)
    return out


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
    texts = [s.text for s in claims] + [s.text for s in responses]
    protos = rhetoric.remembered(embedder)
    if protos is None:
        # One embed call: the rhetorical-move prototypes go through the same cache.
        vectors = embedder.embed(texts + [s for _, _, s in rhetoric.prototypes()])
        protos = rhetoric.remember(embedder, rhetoric.Prototypes.from_vectors(vectors[len(texts) :]))
        vectors = vectors[: len(texts)]
    else:
        vectors = embedder.embed(texts)
    tuned = embedder.tuned() if hasattr(embedder, "tuned") else None
    return align(
        claims,
        responses,
        vectors[: len(claims)],
        vectors[len(claims) :],
        model=embedder.name,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        paragraph_starts=paragraph_starts(response, responses, one_line_unknown=True),
        claim_paragraph_starts=paragraph_starts(claim, claims),
        rhetoric=protos.best(vectors[len(claims) :]),
        moves=protos.nearest_moves(vectors[len(claims) :]),
        tuned_similarity=tuned_similarity(tuned, texts, len(claims)),
        tuned_model=None if tuned is None else tuned.name,
    )


def tuned_similarity(tuned: Any, texts: Sequence[str], n_claims: int) -> np.ndarray | None:
    """(responses, claims) cosine of a tuned companion's embedder over a pair's sentences
    (claims first); None for no companion (any model but the default)."""
    if tuned is None:
        return None
    vectors = tuned.embed(list(texts)).astype(np.float64)
    return vectors[n_claims:] @ vectors[:n_claims].T
