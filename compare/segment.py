"""Split a document into sentences that keep their character offsets.

Offsets index the original string, so every downstream step (matching,
reports, corpus queries) can point back at the exact source text.

The segmenter is rule based, in the spirit of pySBD's Golden Rules, but tuned
for pasted news text: it trusts blank lines and list/heading lines as hard
boundaries, ignores single line breaks inside a paragraph (hard-wrapped text),
and repairs one kind of damage that copy/paste produces, a dotted abbreviation
broken across a line break ("the U." / blank line / "S. Department").

How it works, in one pass per stage and therefore in linear time:

1. Lines are grouped into *units*: a blank line, a list-item line and a
   heading-like line always start a new unit; any other line continues the
   current one.
2. A unit that starts with a list marker is split before the following
   markers of the same list ("1) ... 2) ...", "a. ... b. ...", "• ... • ...").
3. Inside each piece, only the terminal punctuation characters are visited;
   at each one the decision looks at a bounded window: the word before, the
   punctuation run with closing quotes/brackets, and the next word.

Word lists and character classes live in ``compare/data/`` (abbreviations,
sentence starters, punctuation), not in this module.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Sentence", "segment"]


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


# A word longer than this is not an abbreviation, an initial or a list
# marker; capping every look-behind/look-ahead keeps the scan linear.
_MAX_WORD = 64
# A heading is a short line; longer lines are running text.
_MAX_HEADING_CHARS = 200
_MAX_HEADING_WORDS = 15
# An ambiguous abbreviation ends a sentence only if the sentence has at least
# this many words: "At 5 a.m. Mr. Smith went" is one sentence, while
# "He left the bank at 6 P.M. Mr. Smith then..." is two.
_MIN_WORDS_BEFORE_ABBREVIATION_END = 4

_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_CAPITAL_DOTS = re.compile(r"(?:[A-Z]\.)+")
_WORD = re.compile(r"\S+")
_MARKDOWN_HEADING = re.compile(r"#{1,6}(?:\s|$)")


# --------------------------------------------------------------------------
# Rule data


@dataclass(frozen=True)
class _Rules:
    abbreviations: dict[str, str]  # lower-case, no final dot -> section name
    dotted: frozenset[str]  # lower-case, no final dot: "u.s"
    starters: frozenset[str]
    terminals: frozenset[str]
    closers: frozenset[str]
    openers: frozenset[str]
    bullets: frozenset[str]
    dashes: frozenset[str]
    currency: frozenset[str]
    small_words: frozenset[str]
    candidate: re.Pattern[str]
    marker: re.Pattern[str]


def _read_sections(name: str) -> dict[str, list[str]]:
    """Parse a ``[section]``/one-entry-per-line data file from compare/data."""
    raw = resources.files("compare").joinpath("data", name).read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current = ""
    for line in raw.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith("[") and entry.endswith("]") and len(entry) > 2:
            current = entry[1:-1]
            sections.setdefault(current, [])
            continue
        sections.setdefault(current, []).append(entry)
    return sections


def _abbrev_key(word: str) -> str:
    return word.lower().rstrip(".")


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    """Load the data files once; they are read on first use, not at import."""
    abbr = _read_sections("abbreviations.txt")
    table: dict[str, str] = {}
    for section in ("general", "number", "nonfinal", "title"):  # later wins
        for word in abbr.get(section, []):
            table[_abbrev_key(word)] = section
    dotted = frozenset(_abbrev_key(w) for w in abbr.get("dotted", []))
    starters = frozenset(_read_sections("segment-starters.txt").get("", []))
    punct = _read_sections("segment-punctuation.txt")

    def chars(section: str) -> frozenset[str]:
        return frozenset(punct.get(section, []))

    terminals = chars("terminals")
    bullets = chars("bullets")
    dashes = chars("dashes")
    candidate = re.compile("[" + "".join(re.escape(c) for c in sorted(terminals)) + "]")
    # A list marker at the start of a line or unit: an optional bullet (or a
    # dash followed by a space), then an optional enumerator such as "1.",
    # "1.)", "2)", "(a)", "b." followed by whitespace or the end.
    bullet_class = "".join(re.escape(c) for c in sorted(bullets))
    dash_class = "".join(re.escape(c) for c in sorted(dashes))
    marker = re.compile(
        rf"(?:(?P<bullet>[{bullet_class}])[^\S\n]*|(?P<dash>[{dash_class}])[^\S\n]+)?"
        r"(?:(?P<open>\()?(?P<enum>\d{1,3}|[A-Za-z])(?P<suf>\.\)|\.|\))(?=\s|$))?"
    )
    return _Rules(
        abbreviations=table,
        dotted=dotted,
        starters=starters,
        terminals=terminals,
        closers=chars("closers"),
        openers=chars("openers"),
        bullets=bullets,
        dashes=dashes,
        currency=chars("currency"),
        small_words=frozenset(w.lower() for w in punct.get("title-small-words", [])),
        candidate=candidate,
        marker=marker,
    )


# --------------------------------------------------------------------------
# Public entry point


def segment(text: str, split: str = "sentences") -> list[Sentence]:
    """Split ``text`` into sentences whose ``start``/``end`` index ``text``.

    ``split="sentences"`` finds sentence boundaries; ``split="lines"`` returns
    one sentence per non-blank line (for documents that are already one claim
    per line). ``Sentence.text`` has whitespace runs collapsed to one space;
    a repaired abbreviation ("U." / "S.") has the whitespace removed.
    """
    if split not in ("sentences", "lines"):
        raise ValueError(f"unknown split mode {split!r}: use 'sentences' or 'lines'")
    lines = _content_lines(text)
    if split == "lines":
        return [Sentence(" ".join(text[s:e].split()), s, e) for s, e, _ in lines]
    rules = _rules()
    out: list[Sentence] = []
    for unit in _units(text, lines, rules):
        joins = unit.joins
        join_starts = [g[0] for g in joins]
        for s, e in _split_unit(text, unit, rules):
            out.append(Sentence(_sentence_text(text, s, e, joins, join_starts), s, e))
    return out


# --------------------------------------------------------------------------
# Stage 1: lines and units


def _content_lines(text: str) -> list[tuple[int, int, int]]:
    """Non-blank lines as (start, end, line breaks since the previous one).

    start/end are trimmed to non-whitespace characters.
    """
    out: list[tuple[int, int, int]] = []
    pos = 0
    breaks = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        stripped = body.strip()
        if stripped:
            s = pos + (len(body) - len(body.lstrip()))
            out.append((s, s + len(stripped), breaks))
            breaks = 0
        if len(body) != len(line):
            breaks += 1
        pos += len(line)
    return out


@dataclass
class _Unit:
    start: int
    end: int
    kind: str  # "text", "heading" or "list"
    joins: list[tuple[int, int]]  # whitespace gaps to delete (repairs)


def _units(text: str, lines: list[tuple[int, int, int]], rules: _Rules) -> list[_Unit]:
    """Group lines into units that no sentence may cross.

    A blank line, a list-item line, and the line after a list item or a
    heading (unless it starts in lower case, i.e. continues it) start a new
    unit. A heading is a short title-case line without final punctuation
    that starts a unit or follows a finished sentence.
    """
    units: list[_Unit] = []
    prev_kind = ""
    prev_end = -1
    prev_terminated = True
    for s, e, breaks in lines:
        if units and _dotted_break(text, prev_end, s, e, rules):
            # Repair: "the U." + line break + "S. Department" is one sentence.
            unit = units[-1]
            unit.joins.append((prev_end, s))
            unit.end = e
            if unit.kind == "heading":
                unit.kind = "text"
            prev_kind = unit.kind
            prev_end = e
            prev_terminated = _ends_terminated(text, s, e, rules)
            continue
        is_list = _starts_with_marker(text, s, e, rules)
        continues = text[s].islower()
        new_unit = (
            not units
            or breaks >= 2
            or is_list
            or _MARKDOWN_HEADING.match(text, s, e) is not None
            or (prev_kind in ("heading", "list") and not continues)
        )
        if new_unit:
            kind = "list" if is_list else "text"
            units.append(_Unit(s, e, kind, []))
        else:
            unit = units[-1]
            if unit.kind == "heading":
                unit.kind = "text"  # a wrapped line of running text after all
            kind = unit.kind
            if kind == "text" and prev_terminated and _is_heading(text, s, e, rules):
                # A heading inside a paragraph gets a unit of its own.
                units.append(_Unit(s, e, "heading", []))
                kind = "heading"
            else:
                unit.end = e
        if new_unit and kind == "text" and _is_heading(text, s, e, rules):
            units[-1].kind = kind = "heading"
        prev_kind = kind
        prev_end = e
        prev_terminated = _ends_terminated(text, s, e, rules)
    return units


def _ends_terminated(text: str, s: int, e: int, rules: _Rules) -> bool:
    """Does the line end with terminal punctuation (maybe inside quotes)?"""
    i = e - 1
    limit = max(s, e - 8)
    while i >= limit and text[i] in rules.closers:
        i -= 1
    return i >= s and text[i] in rules.terminals


def _is_heading(text: str, s: int, e: int, rules: _Rules) -> bool:
    """A short line in title case that does not end like a sentence."""
    if e - s > _MAX_HEADING_CHARS:
        return False
    if _MARKDOWN_HEADING.match(text, s, e):
        return True
    if _ends_terminated(text, s, e, rules):
        return False
    if text[e - 1] in ",;:":
        return False
    words = text[s:e].split()
    if len(words) > _MAX_HEADING_WORDS:
        return False
    capitals = 0
    for word in words:
        letter = next((c for c in word if c.isalpha()), "")
        if not letter:
            continue
        if letter.islower():
            if word.strip("\"'“”‘’()[],.:;!?").lower() not in rules.small_words:
                return False
        else:
            capitals += 1
    return capitals > 0


def _starts_with_marker(text: str, s: int, e: int, rules: _Rules) -> bool:
    """Does the line start with a bullet or an enumerator ("1.", "(b)")?"""
    return _marker_end(text, s, e, rules) > s


def _marker_end(text: str, s: int, e: int, rules: _Rules) -> int:
    """End of the list marker at ``s`` (== s when there is none)."""
    m = rules.marker.match(text, s, e)
    if not m or m.end() == s:
        return s
    enum = m.group("enum")
    if enum is not None and enum.isalpha() and enum.isupper() and m.group("suf") == "." and not m.group("open"):
        # "A. Smith": an initial, not a list item (unless after a bullet).
        if m.group("bullet") is None and m.group("dash") is None:
            return s
        return m.start("enum")
    if enum is None and m.group("dash") is not None and m.end() >= e:
        return s  # a lone dash is not a list item
    return m.end()


def _dotted_break(text: str, prev_end: int, s: int, e: int, rules: _Rules) -> bool:
    """Is "U." at the end of the previous line continued by "S." on this one?"""
    if prev_end < 2 or text[prev_end - 1] != ".":
        return False
    i = prev_end - 1
    limit = max(0, prev_end - 16)
    while i > limit and not text[i - 1].isspace():
        i -= 1
    if i > 0 and not text[i - 1].isspace():
        return False
    # The previous word may begin with an opening bracket or quote.
    while i < prev_end and text[i] in rules.openers:
        i += 1
    tail = _CAPITAL_DOTS.fullmatch(text, i, prev_end)
    head = _CAPITAL_DOTS.match(text, s, min(e, s + 16))
    if not tail or not head:
        return False
    if head.end() < e and not (text[head.end()].isspace() or text[head.end()] in rules.closers or text[head.end()] in ",;:"):
        return False
    whole = (tail.group() + head.group()).lower().rstrip(".")
    return whole in rules.dotted


# --------------------------------------------------------------------------
# Stage 2: list items inside a unit


def _split_unit(text: str, unit: _Unit, rules: _Rules) -> list[tuple[int, int]]:
    """Sentence spans of one unit."""
    if unit.kind == "heading":
        return [(unit.start, unit.end)]
    out: list[tuple[int, int]] = []
    join_starts = frozenset(g[0] for g in unit.joins)
    for a, b in _list_items(text, unit.start, unit.end, rules):
        body = _marker_end(text, a, b, rules)
        out.extend(_split_item(text, a, b, body, join_starts, rules))
    return out


def _list_items(text: str, a: int, b: int, rules: _Rules) -> list[tuple[int, int]]:
    """Split a unit that starts with a list marker before the next markers.

    Bullets split wherever they follow whitespace; enumerators only when they
    continue the sequence the unit starts with ("1." then "2.", "a)" then
    "b)"), so numbers in running text are left alone.
    """
    m = rules.marker.match(text, a, b)
    if not m or _marker_end(text, a, b, rules) == a:
        return [(a, b)]
    cuts: list[int] = []
    bullet = m.group("bullet")
    if bullet is not None:
        pos = a + 1
        while True:
            i = text.find(bullet, pos, b)
            if i < 0:
                break
            if text[i - 1].isspace() and i + 1 < b:
                cuts.append(i)
            pos = i + 1
    elif m.group("enum") is not None and m.group("dash") is None:
        enum, suf, opened = m.group("enum"), m.group("suf"), m.group("open") or ""
        pos = m.end()
        while True:
            if enum.isdigit():
                enum = str(int(enum) + 1)
            elif enum in ("z", "Z"):
                break
            else:
                enum = chr(ord(enum) + 1)
            needle = opened + enum + suf
            found = -1
            while True:
                i = text.find(needle, pos, b)
                if i < 0:
                    break
                after = i + len(needle)
                if text[i - 1].isspace() and after < b and text[after].isspace():
                    found = i
                    break
                pos = i + 1
            if found < 0:
                break
            cuts.append(found)
            pos = found + len(needle)
    if not cuts:
        return [(a, b)]
    items: list[tuple[int, int]] = []
    start = a
    for c in cuts:
        end = c
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            items.append((start, end))
        start = c
    items.append((start, b))
    return items


# --------------------------------------------------------------------------
# Stage 3: sentence boundaries inside a list item or paragraph


def _split_item(
    text: str, a: int, b: int, body: int, join_starts: frozenset[int], rules: _Rules
) -> list[tuple[int, int]]:
    """Visit each terminal punctuation character once and decide."""
    out: list[tuple[int, int]] = []
    sent_start = a
    pos = body
    candidate = rules.candidate
    while True:
        m = candidate.search(text, pos, b)
        if m is None:
            break
        i = m.start()
        c = _Cluster(text, i, b, rules)
        pos = c.end
        if pos >= b:
            break
        if not text[pos].isspace() or pos in join_starts:
            continue
        cut = _decide(text, sent_start, c, b, rules)
        if cut is None:
            continue
        out.append((sent_start, cut))
        nxt = cut
        while text[nxt].isspace():
            nxt += 1
        sent_start = nxt
        pos = max(pos, nxt)
    out.append((sent_start, b))
    return out


class _Cluster:
    """A run of terminal punctuation with its closing quotes and brackets.

    Also swallows spaced ellipses (". . .") and punctuation after a closing
    quote (`campaign.".`), so that every character is examined once.
    """

    __slots__ = ("start", "end", "dots", "marks", "ellipsis", "spaced", "closed", "bracketed")

    def __init__(self, text: str, i: int, b: int, rules: _Rules) -> None:
        terminals, closers = rules.terminals, rules.closers
        self.start = i
        dots = marks = 0
        ellipsis = spaced = closed = bracketed = False
        j = i
        first_run = True
        while True:
            while j < b and text[j] in terminals:
                ch = text[j]
                if ch == ".":
                    dots += 1
                elif ch == "…":
                    ellipsis = True
                else:
                    marks += 1
                j += 1
                # ". . ." : a dot, a space, a dot.
                if ch == "." and j + 1 < b and text[j] == " " and text[j + 1] == ".":
                    spaced = True
                    j += 1
            if first_run:
                first_run = False
                # "[...]" is an editorial omission, never a boundary.
                if i > 0 and text[i - 1] == "[" and j < b and text[j] == "]":
                    bracketed = True
            k = j
            while k < b and text[k] in closers:
                k += 1
            if k > j:
                closed = True
            j = k
            if not (k < b and text[k] in terminals and closed):
                break
        self.end = j
        self.dots = dots
        self.marks = marks
        self.ellipsis = ellipsis or dots >= 3
        self.spaced = spaced
        self.closed = closed
        self.bracketed = bracketed


def _decide(text: str, sent_start: int, c: _Cluster, b: int, rules: _Rules) -> int | None:
    """Where the sentence ends at cluster ``c`` (None: it does not end here)."""
    if c.bracketed:
        return None
    # The next word: skip whitespace and opening quotes/brackets.
    k = c.end
    while k < b and text[k].isspace():
        k += 1
    limit = min(b, k + 8)
    while k < limit and text[k] in rules.openers:
        k += 1
    if k >= b:
        return None
    nxt = text[k]
    if nxt.islower():
        return None
    upper = nxt.isalpha()  # upper case, or a script without case
    digit = nxt.isdigit()
    if not (upper or digit or nxt in rules.currency or nxt in rules.bullets):
        return None  # "— ", "&", "," ... continue the sentence
    if c.marks:
        return c.end  # "!" and "?" end a sentence before anything but lower case
    if c.ellipsis:
        if not upper:
            return None
        attached = c.start > 0 and not text[c.start - 1].isspace()
        if c.spaced and not attached:
            # "is . . . I didn't": an omission; ". . . ." adds the full stop.
            return c.end if c.dots >= 4 else None
        if c.spaced and attached and c.dots >= 4:
            # "compounds. . . . The": the full stop ends the sentence and the
            # ellipsis opens the next one (MLA style).
            return c.start + 1
        return c.end
    if c.closed:
        return c.end  # 'great." She' — an abbreviation is rarely quoted
    word = _word_before(text, c.start, rules)
    if not word:
        return c.end
    kind = rules.abbreviations.get(_abbrev_key(word))
    if kind is None and _DOTTED_ACRONYM.fullmatch(word):
        kind = "general"
    if digit or not upper:
        # "p. 55", "No. 5", "Jan. 5"; but "in 2019. 2020 was" ends.
        # ("number" abbreviations only count as such before a number:
        # "Did they agree? No. They left." ends after "No.")
        return None if kind or len(word) == 1 else c.end
    if len(word) == 1 and word.isupper():
        # An initial ("Jonas E. Smith") unless it is the pronoun or a letter
        # after a lower-case word and before a typical sentence starter.
        prev = _word_before(text, _skip_back_space(text, c.start - 1), rules)
        if prev and prev[0].islower():
            if word == "I" or _starts_sentence(text, k, rules):
                return c.end
        return None
    if kind in ("title", "nonfinal"):
        return None
    if kind == "general":
        if _starts_sentence(text, k, rules) and _has_words(
            text, sent_start, c.start, _MIN_WORDS_BEFORE_ABBREVIATION_END
        ):
            return c.end
        return None
    return c.end


def _word_before(text: str, end: int, rules: _Rules) -> str:
    """The token ending at ``end`` (bounded), without leading openers."""
    i = end
    limit = max(0, end - _MAX_WORD)
    while i > limit and not text[i - 1].isspace():
        i -= 1
    if i > 0 and not text[i - 1].isspace():
        return "\x00long"  # a very long token: not an abbreviation
    while i < end and text[i] in rules.openers:
        i += 1
    return text[i:end]


def _skip_back_space(text: str, i: int) -> int:
    """Index just after the word before position ``i`` (a word start - 1)."""
    # i is the index of the first character of the current word minus one;
    # move to the start of the current word first, then over whitespace.
    limit = max(0, i - _MAX_WORD)
    while i >= limit and i >= 0 and not text[i].isspace():
        i -= 1
    limit = max(0, i - _MAX_WORD)
    while i >= limit and i >= 0 and text[i].isspace():
        i -= 1
    return i + 1


def _starts_sentence(text: str, k: int, rules: _Rules) -> bool:
    """Is the word at ``k`` a typical sentence starter or a title ("Gen.")?"""
    word = _next_word(text, k)
    if word in rules.starters:
        return True
    end = k + len(word)
    return end < len(text) and text[end] == "." and rules.abbreviations.get(word.lower()) == "title"


def _next_word(text: str, k: int) -> str:
    """The run of letters starting at ``k`` (bounded)."""
    j = k
    limit = min(len(text), k + _MAX_WORD)
    while j < limit and text[j].isalpha():
        j += 1
    return text[k:j]


def _has_words(text: str, start: int, end: int, n: int) -> bool:
    """Does text[start:end] contain at least ``n`` whitespace-separated words?"""
    count = 0
    for _ in _WORD.finditer(text, start, end):
        count += 1
        if count >= n:
            return True
    return False


# --------------------------------------------------------------------------
# Output text


def _sentence_text(
    text: str, s: int, e: int, joins: list[tuple[int, int]], join_starts: list[int]
) -> str:
    """Collapse whitespace; delete the whitespace of repaired line breaks."""
    if not joins:
        return " ".join(text[s:e].split())
    parts: list[str] = []
    pos = s
    idx = bisect_left(join_starts, s)
    while idx < len(joins) and joins[idx][1] <= e:
        gs, ge = joins[idx]
        parts.append(" ".join(text[pos:gs].split()))
        pos = ge
        idx += 1
    parts.append(" ".join(text[pos:e].split()))
    return "".join(parts)
