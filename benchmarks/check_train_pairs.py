"""Validate the invented training pairs in benchmarks/train_pairs/.

For each ``*.json`` file: the keys match the eval format; every anchor occurs
exactly once in its document and lies inside one sentence of
``compare.segment``; every response sentence is covered by exactly one link.
Prints a per-file summary and exits non-zero on any problem.

    .venv/bin/python benchmarks/check_train_pairs.py [FILE ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compare.segment import segment

KEYS = {"id", "genre", "claimant", "respondent", "source", "claim", "response", "links"}
GENRES = {"state-cyber", "point-by-point", "mixed"}
RELATIONS = {"denial", "counter-accusation", "justification", "concession",
             "correction", "procedural", "other"}


def _sentence_of(anchor: str, doc: str, sents, where: str, problems: list[str]) -> int | None:
    n = doc.count(anchor)
    if n != 1:
        problems.append(f"{where} anchor occurs {n} times: {anchor!r}")
        return None
    a = doc.index(anchor)
    b = a + len(anchor)
    for i, s in enumerate(sents):
        if s.start <= a < s.end:
            if b > s.end:
                problems.append(f"{where} anchor crosses a sentence boundary: {anchor!r}")
                return None
            return i
    problems.append(f"{where} anchor lies outside every sentence: {anchor!r}")
    return None


def check(path: Path) -> tuple[list[str], str]:
    problems: list[str] = []
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"cannot read JSON: {exc}"], ""
    keys = set(d)
    if keys != KEYS:
        problems.append(f"keys: missing {sorted(KEYS - keys)}, extra {sorted(keys - KEYS)}")
        if not {"claim", "response", "links"} <= keys:
            return problems, ""
    if d.get("genre") not in GENRES:
        problems.append(f"genre {d.get('genre')!r} not in {sorted(GENRES)}")
    claim, response = d["claim"], d["response"]
    csents, rsents = segment(claim), segment(response)
    covered: dict[int, int] = {}
    used_claims: set[int] = set()
    none_links = 0
    for k, link in enumerate(d["links"]):
        if set(link) != {"response", "claims", "relation"}:
            problems.append(f"link {k}: keys {sorted(link)}")
            continue
        if link["relation"] not in RELATIONS:
            problems.append(f"link {k}: relation {link['relation']!r}")
        r = _sentence_of(link["response"], response, rsents, f"link {k} response", problems)
        if r is not None:
            if r in covered:
                problems.append(f"link {k}: response sentence {r} already covered by link {covered[r]}")
            covered[r] = k
        if not link["claims"]:
            none_links += 1
        seen: set[int] = set()
        for anchor in link["claims"]:
            c = _sentence_of(anchor, claim, csents, f"link {k} claim", problems)
            if c is not None:
                if c in seen:
                    problems.append(f"link {k}: claim sentence {c} listed twice")
                seen.add(c)
                used_claims.add(c)
    for i, s in enumerate(rsents):
        if i not in covered:
            problems.append(f"response sentence {i} has no link: {s.text[:70]!r}")
    unanswered = len(csents) - len(used_claims)
    summary = (f"claims={len(csents)} response_sentences={len(rsents)} links={len(d['links'])} "
               f"none_links={none_links} unanswered_claims={unanswered}")
    return problems, summary


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted(
        (Path(__file__).resolve().parent / "train_pairs").glob("*.json"))
    if not paths:
        print("no files", file=sys.stderr)
        return 1
    bad = 0
    for p in paths:
        problems, summary = check(p)
        print(f"{'OK  ' if not problems else 'FAIL'} {p.name}: {summary}")
        for msg in problems:
            print(f"     - {msg}")
        bad += bool(problems)
    print(f"{len(paths) - bad}/{len(paths)} files pass")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
