"""Evidence that a response sentence answers a claim sentence, beyond cosine.

Everything here is computed within one pair of documents (no outside corpus):
word weights are inverse document frequencies over the pair's own sentences,
so a name or number that appears once in each document weighs far more than a
word every sentence uses. Pure functions: text in, numpy arrays out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

# A generic English function-word list (not tied to any document).
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    may might must shall us said says say also one two new its it's s t mr mrs ms dr
    """.split()
)

_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")
_QUOTED = re.compile(r"[\"“]([^\"”]{3,80})[\"”]")


def _stem(word: str) -> str:
    """A deliberately light stemmer: plural and possessive endings only."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Terms:
    """The content terms of one sentence, and which of them are specific."""

    words: frozenset[str]
    specific: frozenset[str]  # numbers, acronyms, mid-sentence capitalized names, quotes


def terms(text: str) -> Terms:
    words: set[str] = set()
    specific: set[str] = set()
    for i, m in enumerate(_TOKEN.finditer(text)):
        raw = m.group()
        low = raw.lower()
        if low in STOPWORDS:
            continue
        if raw[0].isdigit():
            key = raw.replace(",", "")
            words.add(key)
            specific.add(key)
            continue
        key = _stem(low)
        if len(key) < 2:
            continue
        words.add(key)
        is_acronym = sum(ch.isupper() for ch in raw) >= 2
        is_name = raw[0].isupper() and i > 0 and not _after_sentence_break(text, m.start())
        if is_acronym or is_name:
            specific.add(key)
    for q in _QUOTED.finditer(text):
        phrase = " ".join(_stem(w.lower()) for w in _TOKEN.findall(q.group(1)) if w.lower() not in STOPWORDS)
        if len(phrase.split()) >= 2:
            key = "“" + phrase + "”"
            words.add(key)
            specific.add(key)
    return Terms(frozenset(words), frozenset(specific))


def _after_sentence_break(text: str, pos: int) -> bool:
    """Whether a capital at pos may just be a sentence start (then it is no name)."""
    before = text[:pos].rstrip(" \"'“‘([")
    if not before:
        return True
    if before[-1] == ".":
        # "Mr. Ortega", "U.S. Navy": a short capitalized abbreviation is no sentence end.
        word = re.findall(r"[\w.]*$", before[:-1])[0]
        return not (word[:1].isupper() and len(word.replace(".", "")) <= 3)
    return before[-1] in "!?:;\n"


@dataclass
class Lexical:
    """Within-pair lexical evidence, responses x claims."""

    overlap: np.ndarray  # IDF-weighted cosine of the term sets, 0..1
    specific: np.ndarray  # IDF mass of shared specific terms, squashed to 0..1
    shared: list[list[list[str]]]  # the shared terms, rarest first (for evidence)


def lexical(claims: list[str], responses: list[str]) -> Lexical:
    ct = [terms(t) for t in claims]
    rt = [terms(t) for t in responses]
    n = len(ct) + len(rt)
    df: dict[str, int] = {}
    for t in ct + rt:
        for w in t.words:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (d + 0.5)) for w, d in df.items()}
    overlap = np.zeros((len(rt), len(ct)))
    specific = np.zeros((len(rt), len(ct)))
    shared: list[list[list[str]]] = []
    cnorm = [math.sqrt(sum(idf[w] ** 2 for w in t.words)) or 1.0 for t in ct]
    for r, rterms in enumerate(rt):
        rnorm = math.sqrt(sum(idf[w] ** 2 for w in rterms.words)) or 1.0
        row: list[list[str]] = []
        for c, cterms in enumerate(ct):
            common = rterms.words & cterms.words
            if not common:
                row.append([])
                continue
            overlap[r, c] = sum(idf[w] ** 2 for w in common) / (rnorm * cnorm[c])
            spec = common & (rterms.specific | cterms.specific)
            mass = sum(idf[w] for w in spec)
            specific[r, c] = 1.0 - math.exp(-mass / 3.0)
            row.append(sorted(common, key=lambda w: (-idf[w], w)))
        shared.append(row)
    return Lexical(overlap, specific, shared)
