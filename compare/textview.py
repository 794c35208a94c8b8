"""A readable terminal view of an Alignment."""

from __future__ import annotations

import math
import numbers
import textwrap

from .align import Alignment


def _wrap(text: str, indent: str, width: int = 88) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


# How the rhetorical moves of compare/data/rhetoric-*.txt read in a sentence.
MOVE_LABELS = {
    "threat-warning": "a threat or warning",
    "procedure-legal": "procedure or legal steps",
    "thanks-support": "thanks or support",
    "framing-attribution": "framing or attribution",
    "motive-attack": "an attack on motives",
    "values-commitment": "a statement of values",
    "counter-accusation": "a counter-accusation",
    "process-complaint": "a complaint about how the claims were made public",
    "track-record": "self-praise or a track record",
}


#: A lean below this barely moves a score (its weight is about -20): not worth a word.
READS_AS_MIN_LEAN = 0.02


def _num(value: object) -> float | None:
    """A real number from the evidence, or None (evidence is open-ended: never trust a type)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def below(score: float, threshold: float) -> str:
    """A score to two decimals; one under the threshold never reads as the threshold:
    0.2974 under 0.30 reads "0.29", not a "0.30" that looks like it should have linked."""
    text = f"{score:.2f}"
    if 0 <= score < threshold and float(text) >= float(f"{threshold:.2f}"):
        text = f"{math.floor(score * 100) / 100:.2f}"
    return text


def why(evidence: dict) -> str:
    """One line of the evidence behind the best candidate."""
    parts = []
    if _num(evidence.get("cosine")) is not None:
        parts.append(f"cosine {_num(evidence['cosine']):.2f}")
    if _num(evidence.get("tuned_cosine")) is not None:
        parts.append(f"tuned cosine {_num(evidence['tuned_cosine']):.2f}")
    if _num(evidence.get("lexical")):
        parts.append(f"word overlap {_num(evidence['lexical']):.2f}")
    terms = evidence.get("shared_terms")
    if isinstance(terms, (list, tuple)) and terms:
        parts.append("shared: " + ", ".join(str(t) for t in terms))
    if _num(evidence.get("context")) is not None:
        alone = _num(evidence.get("alone")) or 0.0
        parts.append(f"in context {_num(evidence['context']):.2f} (alone {alone:.2f})")
    cue = evidence.get("denial_cue")
    if isinstance(cue, str) and cue:
        parts.append(f"denies (\"{cue}\")")
        if _num(evidence.get("lead_denial")):
            parts.append(f"a general denial, so the lead claim (x{_num(evidence['lead_denial']):.1f})")
    elif (move := reads_as(evidence)) is not None:
        parts.append(f"reads as {move} (lean {_num(evidence['none_lean']):.2f})")
    return "; ".join(parts)


def reads_as(evidence: dict) -> str | None:
    """The move that lowered the score ('a counter-accusation'), when one did."""
    lean = _num(evidence.get("none_lean"))
    if lean is None or lean < READS_AS_MIN_LEAN or evidence.get("denial_cue"):
        return None
    move = evidence.get("move")
    if not isinstance(move, str) or not move:
        return "answering nothing specific"
    return MOVE_LABELS.get(move, move.replace("-", " "))


def render_text(alignment: Alignment) -> str:
    lines: list[str] = []
    answered = len(alignment.claims) - len(alignment.unanswered)
    lines.append(
        f"{answered} of {len(alignment.claims)} claims answered; "
        f"{sum(l.claim is None for l in alignment.links)} of {len(alignment.responses)} "
        f"response sentences answer no specific claim "
        f"(model {alignment.model_label}, threshold {alignment.threshold:.2f})"
    )
    for link in alignment.links:
        lines.append("")
        lines.append(_wrap(f"R{link.response}: {alignment.responses[link.response].text}", ""))
        if link.claim is None:
            lines.append(f"  -> answers no specific claim (best score {below(link.score, alignment.threshold)})")
        else:
            lines.append(f"  -> C{link.claim} (score {link.score:.2f})")
            lines.append(_wrap(alignment.claims[link.claim].text, "     "))
        others = ", ".join(f"C{c.claim} {below(c.score, alignment.threshold)}" for c in link.candidates)
        if others:
            lines.append(f"     candidates: {others}")
        why_line = why(link.evidence)
        if why_line:
            lines.append(_wrap(f"why: {why_line}", "     "))
    if alignment.unanswered:
        lines.append("")
        lines.append("Unanswered claims:")
        for i in alignment.unanswered:
            lines.append(_wrap(f"C{i}: {alignment.claims[i].text}", "  "))
    return "\n".join(lines)
