"""Benchmark compare.segment: Golden Rules, seed damage, and speed against pySBD.

Usage (from the repository root)::

    .venv/bin/python benchmarks/segment.py             # everything
    .venv/bin/python benchmarks/segment.py --golden    # Golden Rules score only
    .venv/bin/python benchmarks/segment.py --seed-checks
    .venv/bin/python benchmarks/segment.py --speed [--seed 7] [--sizes 1,10]

Shared data is read from ``../shared/eval/`` relative to the repository root;
when it is absent the parts that need it print a message and are skipped
(exit status 0). The speed corpus is generated deterministically from ``--seed``
out of sentences written for this benchmark, plus the pair documents in
``../shared/eval/pairs/`` when they are present.

Golden Rules scoring follows pySBD's benchmark: a case passes when
``[s.strip() for s in output] == [e.strip() for e in expected]``. For
compare.segment the output is ``Sentence.text``; no expected item contains a
newline or a double space, so whitespace normalisation cannot change a result
(the script checks this and also reports the score on the raw spans).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = REPO.parent / "shared" / "eval"
GOLDEN = SHARED_EVAL / "golden_rules_en.json"
PAIRS = SHARED_EVAL / "pairs"
SEED_PAIR = PAIRS / "00-dprk-it-workers.json"

sys.path.insert(0, str(REPO))
from compare import segment  # noqa: E402

Segmenter = Callable[[str], list[str]]


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # not installed as a distribution: no version to show
        return ""


# --------------------------------------------------------------------------
# Candidates


def _compare(text: str) -> list[str]:
    return [s.text for s in segment(text)]


def _candidates() -> dict[str, Segmenter]:
    """compare.segment plus whichever of pySBD, syntok and sentencex import."""
    out: dict[str, Segmenter] = {"compare.segment": _compare}
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        out[f"pySBD {_version('pysbd')}".strip()] = lambda t: [s.strip() for s in seg.segment(t)]
    except ImportError:
        print("(pySBD not installed: skipped)")
    try:
        import syntok.segmenter as syntok_segmenter

        def _syntok(t: str) -> list[str]:
            return [
                "".join(tok.spacing + tok.value for tok in sent).strip()
                for para in syntok_segmenter.process(t)
                for sent in para
            ]

        out[f"syntok {_version('syntok')}".strip()] = _syntok
    except ImportError:
        print("(syntok not installed: skipped)")
    try:
        import sentencex

        out[f"sentencex {_version('sentencex')}".strip()] = lambda t: [s.strip() for s in sentencex.segment("en", t)]
    except ImportError:
        print("(sentencex not installed: skipped)")
    return out


# --------------------------------------------------------------------------
# Golden Rules


def golden(candidates: dict[str, Segmenter]) -> None:
    if not GOLDEN.exists():
        print(f"Golden Rules: {GOLDEN} not found; skipped.")
        return
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))
    fair = all("\n" not in e and "  " not in e.strip() for c in cases for e in c["expected"])
    print(f"Golden Rules (English), {len(cases)} cases, pySBD scoring"
          f"{'' if fair else ' (WARNING: expected items contain newlines/double spaces)'}")
    for name, fn in candidates.items():
        failed = []
        for i, case in enumerate(cases):
            got = [s.strip() for s in fn(case["text"])]
            if got != [e.strip() for e in case["expected"]]:
                failed.append(i)
        score = len(cases) - len(failed)
        print(f"  {name:<18} {score}/{len(cases)} ({100 * score / len(cases):.2f}%)"
              f"  failed: {failed if failed else 'none'}")
    # The same score for compare.segment on raw spans, without normalisation.
    raw = sum(
        [c["text"][s.start:s.end].strip() for s in segment(c["text"])] == [e.strip() for e in c["expected"]]
        for c in cases
    )
    print(f"  compare.segment on raw spans text[start:end]: {raw}/{len(cases)}")


# --------------------------------------------------------------------------
# Seed damage checks


def _norm(s: str) -> str:
    return " ".join(s.split())


SEED_CHECKS: list[tuple[str, Callable[[list[str]], bool]]] = [
    (
        '"criticized the U." / blank line / "S. Department" is one sentence',
        lambda out: any("criticized the U" in s and "Department of Justice (DOJ)" in s for s in out),
    ),
    (
        "... and its text reads \"the U.S. Department\"",
        lambda out: any("criticized the U.S. Department of Justice (DOJ)" in s for s in out),
    ),
    (
        'sentence ends with `campaign.".`',
        lambda out: any(s.endswith('"an absurd smear campaign.".') for s in out),
    ),
    (
        'quote + `," the spokesperson added.` is one sentence',
        lambda out: any(s.startswith('"The U.S. has long') and s.endswith("the spokesperson added.") for s in out),
    ),
    (
        '"Change Nam II." ends a sentence',
        lambda out: any(s.endswith("Change Nam II.") for s in out),
    ),
    (
        "title and byline do not swallow the next line",
        lambda out: not any(
            ("Campaign'" in s and "Written" in s) or ("Published" in s and "In a recent" in s) for s in out
        ),
    ),
]


def seed_checks(candidates: dict[str, Segmenter]) -> None:
    if not SEED_PAIR.exists():
        print(f"Seed checks: {SEED_PAIR} not found; skipped.")
        return
    pair = json.loads(SEED_PAIR.read_text(encoding="utf-8"))
    seed_article = REPO.parent / "shared" / "seed" / "article.txt"
    docs = {"response": pair["response"], "claim": pair["claim"]}
    if seed_article.exists():
        docs["article"] = seed_article.read_text(encoding="utf-8")
    print("Seed damage checks (article.txt when present, else the pair's claim + response)")
    for name, fn in candidates.items():
        if "article" in docs:
            out = [_norm(s) for s in fn(docs["article"])]
        else:
            out = [_norm(s) for d in ("claim", "response") for s in fn(docs[d])]
        # The title/byline check needs the article; count it as passed without.
        results = [check(out) for _, check in SEED_CHECKS]
        passed = sum(results)
        missing = [label for (label, _), ok in zip(SEED_CHECKS, results) if not ok]
        print(f"  {name:<18} {passed}/{len(SEED_CHECKS)}" + (f"  failed: {'; '.join(missing)}" if missing else ""))


# --------------------------------------------------------------------------
# Speed

_NAMES = ["Lena K. Moravec", "Mr. Okafor", "Dr. Ines Vance", "Sen. Tom Harlan", "Prof. Ada Lind",
          "Jonas E. Smith", "Ms. Rui Tanaka", "Gen. Paul Brandt", "Kim Nam II"]
_ORGS = ["Halvorsen Inc.", "Tarrow Corp.", "Brill & Co.", "the U.S. Department of Justice", "the U.N.",
         "the Foreign Ministry", "the E.U. Commission", "Meridane Ltd.", "the FBI"]
_PLACES = ["the U.S.", "the U.K.", "Atlanta, Ga.", "St. Louis", "New Jersey", "Pyongyang", "Brussels"]
_TEMPLATES = [
    "{name} said on {month}. {day} that {org} had acted in bad faith.",
    "{org} reported revenue of ${amount} million, up {pct}% from a year earlier.",
    "\"We reject these claims entirely,\" {name} told reporters in {place}.",
    "According to {org}, at least {count} accounts were opened with false identities.",
    "The indictment, filed in {place}, names {name} and four others.",
    "{name} denied the allegations. \"This is an absurd smear campaign,\" the spokesperson added.",
    "Officials in {place} declined to comment, citing an ongoing investigation (No. {count}).",
    "The shares of {org} fell {pct}% to ${amount} at 4 p.m. on Friday.",
    "Is this a coincidence? {name} does not think so.",
    "Investigators traced ${amount} million through shell companies, e.g. ones in {place}.",
    "The report... was delayed again. {name} blamed {org}.",
    "{org} has long denied wrongdoing, and it did so again on {month}. {day}.",
]
_HEADINGS = ["Ministry Rejects Report", "What We Know So Far", "Written by Staff", "Background"]
_MONTHS = ["Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec"]


def _sentence(rng: random.Random) -> str:
    s = rng.choice(_TEMPLATES).format(
        name=rng.choice(_NAMES), org=rng.choice(_ORGS), place=rng.choice(_PLACES),
        month=rng.choice(_MONTHS), day=rng.randint(1, 28), amount=f"{rng.randint(1, 900)}.{rng.randint(0, 9)}",
        pct=f"{rng.randint(1, 40)}.{rng.randint(0, 9)}", count=rng.randint(2, 500),
    )
    # "Tarrow Corp." at the end of a sentence takes no second period.
    s = re.sub(r"(?<!\.)\.\.(?!\.)", ".", s)
    return s[0].upper() + s[1:]


def news_corpus(size: int, seed: int) -> str:
    """Deterministic news-like text of about ``size`` characters."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    if PAIRS.exists():
        for path in sorted(PAIRS.glob("*.json")):
            pair = json.loads(path.read_text(encoding="utf-8"))
            for side in ("claim", "response"):
                paragraphs.extend(p.strip() for p in pair[side].split("\n\n") if p.strip())
    out: list[str] = []
    total = 0
    while total < size:
        r = rng.random()
        if r < 0.05:
            block = rng.choice(_HEADINGS)
        elif r < 0.08:
            block = "\n".join(f"{i}. {_sentence(rng)}" for i in range(1, rng.randint(3, 5)))
        elif r < 0.35 and paragraphs:
            block = rng.choice(paragraphs)
        else:
            block = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))
            if rng.random() < 0.2:  # hard-wrapped paragraph
                words, lines, line = block.split(" "), [], ""
                for w in words:
                    if len(line) + len(w) > 72:
                        lines.append(line)
                        line = w
                    else:
                        line = f"{line} {w}" if line else w
                block = "\n".join([*lines, line])
        out.append(block)
        total += len(block) + 2
    return "\n\n".join(out)[:size]


def _time(fn: Segmenter, text: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = len(fn(text))
    return n, time.perf_counter() - t0


def speed(seed: int, sizes_mb: list[int], pysbd_budget: float) -> None:
    """Sentences per second of compare.segment and pySBD on the same text.

    pySBD is run twice: on the whole document (as compare.segment is) and
    paragraph by paragraph (split at blank lines), the usual way to keep it
    fast. A pySBD run that would exceed the time budget, extrapolated from
    the previous size, is skipped with a message.
    """
    try:
        import pysbd
    except ImportError:
        pysbd = None
        print("(pySBD not installed: compare.segment only)")
    seg = pysbd.Segmenter(language="en", clean=False) if pysbd else None

    def per_paragraph(text: str) -> list[str]:
        return [s for para in text.split("\n\n") if para.strip() for s in seg.segment(para)]

    runs: list[tuple[str, Segmenter]] = []
    if seg is not None:
        runs = [("pySBD whole text", seg.segment), ("pySBD per paragraph", per_paragraph)]
    print(f"Speed, news-like text generated with seed {seed}"
          f"{'' if PAIRS.exists() else ' (shared pairs absent: own sentences only)'}")
    print(f"  {'size':>6}  {'segmenter':<20} {'sentences':>10} {'seconds':>8} {'sent/s':>10} {'MB/s':>7}  ratio")
    rate: dict[str, float] = {}  # seconds per character of the last run
    # Warm up: load rule files, compile patterns, so the first size is not penalised.
    warm = news_corpus(20_000, seed)
    _compare(warm)
    for _, fn in runs:
        fn(warm)
    for mb in sizes_mb:
        text = news_corpus(mb * 1_000_000, seed)
        n_c, t_c = _time(_compare, text)
        print(f"  {mb:>4}MB  {'compare.segment':<20} {n_c:>10} {t_c:>8.2f} {n_c / t_c:>10.0f}"
              f" {len(text) / t_c / 1e6:>7.2f}")
        for name, fn in runs:
            if name in rate and rate[name] * len(text) > pysbd_budget:
                print(f"  {mb:>4}MB  {name:<20} skipped: would take about {rate[name] * len(text):.0f} s"
                      f" (over the {pysbd_budget:.0f} s budget, see --pysbd-budget)")
                continue
            n_p, t_p = _time(fn, text)
            rate[name] = t_p / len(text)
            ratio = (n_c / t_c) / (n_p / t_p)
            print(f"  {mb:>4}MB  {name:<20} {n_p:>10} {t_p:>8.2f} {n_p / t_p:>10.0f}"
                  f" {len(text) / t_p / 1e6:>7.2f}  compare.segment is {ratio:.1f}x faster in sentences/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--golden", action="store_true", help="Golden Rules scores only")
    ap.add_argument("--seed-checks", action="store_true", help="seed damage checks only")
    ap.add_argument("--speed", action="store_true", help="speed comparison only")
    ap.add_argument("--seed", type=int, default=7, help="random seed of the generated corpus")
    ap.add_argument("--sizes", default="1,10", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--pysbd-budget", type=float, default=120.0,
                    help="skip pySBD on a size it would need longer than this many seconds for")
    args = ap.parse_args(argv)
    everything = not (args.golden or args.seed_checks or args.speed)
    if not SHARED_EVAL.exists():
        print(f"Shared evaluation data not found at {SHARED_EVAL}: Golden Rules and seed checks are skipped.")
    candidates = _candidates() if (everything or args.golden or args.seed_checks) else {}
    if everything or args.golden:
        golden(candidates)
    if everything or args.seed_checks:
        seed_checks(candidates)
    if everything or args.speed:
        speed(args.seed, [int(s) for s in args.sizes.split(",") if s.strip()], args.pysbd_budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
