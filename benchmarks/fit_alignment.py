"""Fit the constants of compare/align.py on DISAPERE train (+ pairs/), check on dev.

Data: DISAPERE train (and dev, for checking), ../shared/eval/pairs/, and the invented
training pairs in benchmarks/train_pairs/ (political / corporate / sports rebuttals, like
pairs/). Never reads DISAPERE test, nor benchmarks/holdout_pairs/ or fresh_pairs/ (the
held-out political pairs), nor benchmarks/adapter_pairs/ (the tuned mpnet's extra training
data). Prints the fitted constants as Python literals to paste into compare/align.py, with
held-out figures: choice and link models fitted on train and scored on dev, and a
leave-one-pair-out check on pairs/ for the link (abstention) model.

    COMPARE_CACHE=/tmp/align-cache .venv/bin/python benchmarks/fit_alignment.py [--grid] [--no-tuned]

With the default model the script fits the TUNED_* constants of compare/align.py (the
evidence includes the tuned companion's cosine, decode.TUNED_FEATURE); with --no-tuned (or
any --model without a companion) the plain CHOICE_WEIGHTS / LINK_WEIGHTS / LINK_BIAS that
every other model uses. --adapter FILE fits with another adapter file (train_adapter.py);
--train-halves H1 H2 (with an adapter that saw DISAPERE train) takes DISAPERE train's tuned
cosines from the two half-trained adapters instead, each half from the one that did not see it.

1. CHOICE_WEIGHTS: a conditional logit (softmax over the claims of a response
   sentence; the likelihood of the gold claim set) over decode.FEATURES.
2. SHARPNESS / STAY_* / FORWARD / SEQUENCE_OFFSET / EVIDENCE_TEMPERATURE: `--grid`
   scores a small grid by top-1 on DISAPERE train and train_pairs/ (the defaults are the
   best sum of the two; dev and pairs/ were looked at, not optimized for); then
   OPENING_PENALTY the same way (2: the start of DISAPERE train's plateau, with
   train_pairs/ unchanged); then LEAD_DENIAL / LEAD_DENIAL_OVERLAP by top-1 on
   train_pairs/ and pairs/ (1.5 / 5: inside the plateau; DISAPERE does not move).
3. LINK_WEIGHTS / LINK_BIAS: logistic regression over align.LINK_FEATURES on
   DISAPERE train + pairs/ + train_pairs/ response sentences; label 1 when the gold link has claims and
   the chosen claim is one of them, 0 when the gold says "no specific claim"
   (sentences whose chosen claim is wrong are left out: either decision is wrong).
   pairs/ + train_pairs/ sentences together weigh as much as a third of DISAPERE train.
   With BASE_FIXED (the default) the four evidence weights stay those of the model fitted
   before the rhetorical-move feature (BASE_WEIGHTS / BASE_BIAS) and only the `none_lean`
   weight and a bias shift are fitted on top (compare/rhetoric.py; USE_RHETORIC=False
   gives back the model without it, for comparison).
4. Leave-one-pair-out over pairs/ + train_pairs/ for the link model, with the benchmark's
   figures per group.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from alignment import load_split, resolve_gold  # noqa: E402

from compare import align as A  # noqa: E402
from compare import decode as D  # noqa: E402
from compare.evidence import lexical  # noqa: E402
from compare.rhetoric import Prototypes  # noqa: E402

USE_RHETORIC = True
from compare.segment import segment  # noqa: E402


def build(split: str, embedder) -> list[dict]:
    return build_records(load_split(split), embedder)


def build_records(records: list[dict], embedder) -> list[dict]:
    protos = Prototypes.embed(embedder)
    tuned = embedder.tuned()
    out = []
    for p in records:
        claims, responses = segment(p["claim"]), segment(p["response"])
        texts = [s.text for s in claims] + [s.text for s in responses]
        vec = embedder.embed(texts)
        out.append(
            {
                "id": p["id"],
                "claims": [s.text for s in claims],
                "responses": [s.text for s in responses],
                "cv": vec[: len(claims)],
                "rv": vec[len(claims) :],
                "paras": A.paragraph_starts(p["response"], responses, one_line_unknown=True),
                "claim_paras": A.paragraph_starts(p["claim"], claims),
                "gold": resolve_gold(p, claims, responses).links,
                "rhetoric": protos.best(vec[len(claims) :]),
                "unanswered": resolve_gold(p, claims, responses).unanswered,
                "tuned": A.tuned_similarity(tuned, texts, len(claims)),
            }
        )
    return out


def fit_choice(docs, l2=1e-3) -> np.ndarray:
    from scipy.optimize import minimize

    rows = []
    for d in docs:
        cos = d["rv"].astype(np.float64) @ d["cv"].astype(np.float64).T
        lex = lexical(d["claims"], d["responses"])
        X = D.pair_features(cos, lex.overlap, lex.specific, np.cumsum(d["claim_paras"]), d["tuned"])
        for r, cs in d["gold"]:
            if cs:
                mask = np.zeros(X.shape[1], bool)
                mask[list(cs)] = True
                rows.append((X[r], mask))
    nf = rows[0][0].shape[1]

    def loss(w):
        val, grad = 0.0, np.zeros(nf)
        for X, mask in rows:
            p = D.softmax(X @ w)
            pg = p[mask].sum()
            val -= np.log(pg + 1e-12)
            grad += X.T @ (p - np.where(mask, p, 0) / (pg + 1e-12))
        return val / len(rows) + l2 * w @ w, grad / len(rows) + 2 * l2 * w

    return minimize(loss, np.zeros(nf), jac=True, method="L-BFGS-B").x


def analyses(docs):
    return [A.analyse(d["claims"], d["responses"], d["cv"], d["rv"], d["paras"], d["claim_paras"],
                      d["rhetoric"] if USE_RHETORIC else None, d["tuned"]) for d in docs]


def top1(docs, ans=None) -> float:
    ans = ans or analyses(docs)
    ok = n = 0
    for d, an in zip(docs, ans):
        for r, cs in d["gold"]:
            if cs:
                n += 1
                ok += int(an.best[r]) in cs
    return ok / max(n, 1)


def link_rows(docs, weight=1.0):
    X, y, w = [], [], []
    for d, an in zip(docs, analyses(docs)):
        for r, cs in d["gold"]:
            if cs and int(an.best[r]) not in cs:
                continue
            X.append(an.link_features[r])
            y.append(1 if cs else 0)
            w.append(weight)
    return np.array(X), np.array(y), np.array(w)


# The abstention model of the four evidence features, fitted before the rhetorical-move
# feature existed; with BASE_FIXED the rhetoric weight and a bias shift are fitted on top
# of it (the evidence part stays as it was).
BASE_WEIGHTS = (6.272, 1.015, -0.065, 0.895)
BASE_BIAS = -4.078
BASE_FIXED = True


def fit_link(X, y, w):
    from sklearn.linear_model import LogisticRegression

    if BASE_FIXED:
        from scipy.optimize import minimize

        k = len(BASE_WEIGHTS)
        offset = X[:, :k] @ np.asarray(BASE_WEIGHTS) + BASE_BIAS
        extra = X[:, k:]
        cw = np.where(y == 1, 0.5 / max(w[y == 1].sum(), 1e-9), 0.5 / max(w[y == 0].sum(), 1e-9)) * w

        def loss(p):
            z = offset + extra @ p[:-1] + p[-1]
            pr = 1 / (1 + np.exp(-z))
            val = -(cw * (y * np.log(pr + 1e-12) + (1 - y) * np.log(1 - pr + 1e-12))).sum()
            g = cw * (pr - y)
            return val, np.concatenate([extra.T @ g, [g.sum()]])

        p = minimize(loss, np.zeros(extra.shape[1] + 1), jac=True, method="L-BFGS-B").x
        return np.concatenate([BASE_WEIGHTS, p[:-1]]), float(BASE_BIAS + p[-1])

    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
    lr = LogisticRegression(C=1.0, class_weight="balanced").fit((X - mu) / sd, y, sample_weight=w)
    coef = lr.coef_[0] / sd
    bias = float(lr.intercept_[0] - (lr.coef_[0] * mu / sd).sum())
    return coef, bias


def link_accuracy(docs, threshold=A.DEFAULT_THRESHOLD) -> float:
    ok = n = 0
    for d, an in zip(docs, analyses(docs)):
        score = 1 / (1 + np.exp(-an.link_logit))
        for r, cs in d["gold"]:
            n += 1
            chosen = int(an.best[r]) if score[r] >= threshold else None
            ok += (chosen in cs) if cs else (chosen is None)
    return ok / max(n, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--grid", action="store_true", help="also score the sequence-model grid")
    ap.add_argument("--no-tuned", action="store_true", help="fit the plain constants (no tuned companion)")
    ap.add_argument("--adapter", type=Path, default=None, help="the tuned companion's adapter file")
    ap.add_argument("--train-halves", type=Path, nargs=2, metavar=("HALF1", "HALF2"), default=None,
                    help="adapters trained with --disapere train:1/2 and train:2/2: DISAPERE train's "
                    "tuned cosines are then cross-fitted (each half scored by the adapter that did not see it)")
    args = ap.parse_args()
    from compare import embed
    from compare.embed import open_embedder
    from compare.errors import CompareError

    if args.train_halves:
        if args.no_tuned or args.model not in (None, embed.DEFAULT_MODEL, "default"):
            ap.error("--train-halves cross-fits the default model's tuned companion: leave out --model and --no-tuned")
        if args.adapter is None:
            ap.error("--train-halves goes with --adapter FULL.npz (the adapter trained on all of DISAPERE train)")
        missing = [str(h) for h in args.train_halves if not h.is_file()]
        if missing:
            ap.error(f"--train-halves: no such file: {', '.join(missing)}")

    if args.adapter is not None:
        if args.no_tuned or args.model not in (None, embed.DEFAULT_MODEL, "default"):
            ap.error("--adapter is the default model's tuned companion: leave out --model and --no-tuned")
        if not args.adapter.is_file():
            ap.error(f"--adapter: no such file: {args.adapter}")
        try:
            bases = {embed.adapter_base(a) for a in (args.adapter, *(args.train_halves or ()))}
        except CompareError as exc:
            ap.error(str(exc))
        if len(bases) > 1:
            ap.error("--adapter and --train-halves must tune the same model (train all three with the same --base)")
        embed.ADAPTER_FILE = args.adapter.resolve()
    embedder = open_embedder(args.model)
    if args.no_tuned:
        embedder.model.tuned = None
    if args.train_halves:
        data = {s: build(s, embedder) for s in ("pairs", "trainpairs", "dev")}
        from train_adapter import disapere_records

        shipped, data["train"] = embed.ADAPTER_FILE, []
        for half, other in (("1/2", args.train_halves[1]), ("2/2", args.train_halves[0])):
            print(f"DISAPERE train half {half} scored by {other}", flush=True)
            embed.ADAPTER_FILE = other.resolve()
            data["train"] += build_records(disapere_records(f"train:{half}"), open_embedder(args.model))
        embed.ADAPTER_FILE = shipped
    else:
        data = {s: build(s, embedder) for s in ("pairs", "trainpairs", "train", "dev")}

    w = fit_choice(data["train"])
    tuned = embedder.tuned() is not None
    prefix = "TUNED_" if tuned else ""
    set_choice(w, tuned)
    print(f"{prefix}CHOICE_WEIGHTS =", tuple(round(float(x), 3) for x in w), " # ",
          D.FEATURES + ((D.TUNED_FEATURE,) if tuned else ()))

    if args.grid:
        for beta, s_in, fwd, offset, temp in itertools.product(
            [0.5, 0.75, 1.0], [0.7, 0.8, 0.85], [0.1, 0.2], [0.0, 1.0, 2.0, 3.0], [0.5, 1.0, 3.0]
        ):
            A.SHARPNESS, A.STAY_IN_PARAGRAPH, A.STAY_ACROSS_PARAGRAPHS, A.FORWARD = beta, s_in, 0.2, fwd
            A.SEQUENCE_OFFSET, A.EVIDENCE_TEMPERATURE = offset, temp
            print(f"  grid {beta} {s_in} 0.2 {fwd} {offset} {temp}: top-1 train {top1(data['train']):.3f} "
                  f"train_pairs {top1(data['trainpairs']):.3f} dev {top1(data['dev']):.3f} "
                  f"pairs {top1(data['pairs']):.3f}", flush=True)
    A.SHARPNESS, A.STAY_IN_PARAGRAPH, A.STAY_ACROSS_PARAGRAPHS, A.FORWARD = 0.5, 0.8, 0.2, 0.2
    A.SEQUENCE_OFFSET, A.EVIDENCE_TEMPERATURE = 2.0, 0.5
    if args.grid:
        for penalty in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0):
            A.OPENING_PENALTY = penalty
            print(f"  opening penalty {penalty}: top-1 train {top1(data['train']):.3f} "
                  f"train_pairs {top1(data['trainpairs']):.3f} dev {top1(data['dev']):.3f} "
                  f"pairs {top1(data['pairs']):.3f}", flush=True)
    A.OPENING_PENALTY = 2.0
    if args.grid:
        for lead, overlap in itertools.product([0.0, 0.5, 1.0, 1.5, 2.0, 3.0], [0.0, 5.0, 10.0, 20.0]):
            A.LEAD_DENIAL, A.LEAD_DENIAL_OVERLAP = lead, overlap
            print(f"  lead denial {lead} overlap {overlap}: top-1 train {top1(data['train']):.3f} "
                  f"train_pairs {top1(data['trainpairs']):.3f} dev {top1(data['dev']):.3f} "
                  f"pairs {top1(data['pairs']):.3f}", flush=True)
    A.LEAD_DENIAL, A.LEAD_DENIAL_OVERLAP = 1.5, 5.0

    Xt, yt, wt = link_rows(data["train"])
    small = data["pairs"] + data["trainpairs"]

    def fit_with(docs):
        Xs, ys, _ = link_rows(docs)
        ws = np.full(len(ys), PAIRS_WEIGHT * len(yt) / max(len(ys), 1))
        return fit_link(np.vstack([Xt, Xs]), np.concatenate([yt, ys]), np.concatenate([wt, ws]))

    coef, bias = fit_with(small)
    print(f"{prefix}LINK_WEIGHTS =", tuple(round(float(x), 3) for x in coef), " # ", A.LINK_FEATURES)
    print(f"{prefix}LINK_BIAS =", round(bias, 3))
    set_link(coef, bias, tuned)
    names = ("train", "dev", "pairs", "trainpairs")
    print("top-1:", "  ".join(f"{n} {top1(data[n]):.3f}" for n in names))
    for t in (0.2, 0.3, 0.4, 0.5):
        print(f"link accuracy at threshold {t}:", "  ".join(f"{n} {link_accuracy(data[n], t):.3f}" for n in names))
    # Leave one pair out (pairs/ and train_pairs/): the link model refitted without it.
    for t in (0.3, 0.4):
        ok = n = 0
        for i, d in enumerate(small):
            set_link(*fit_with(small[:i] + small[i + 1 :]), tuned)
            ok += link_accuracy([d], t) * len(d["gold"])
            n += len(d["gold"])
        print(f"leave-one-pair-out link accuracy at {t} (pairs/ + train_pairs/): {ok / n:.3f}")
    # The same, with every figure of the benchmark, per group (train_pairs/ alone: the honest
    # view of the political genre; pairs/ only enters the fit with a small weight).
    t = A.DEFAULT_THRESHOLD
    for name in ("trainpairs", "pairs"):
        tally = dict(spec=0, spec_ok=0, none=0, none_ok=0, tp=0, fp=0, fn=0)
        for d in data[name]:
            i = next(k for k, x in enumerate(small) if x is d)
            set_link(*fit_with(small[:i] + small[i + 1 :]), tuned)
            an = analyses([d])[0]
            score = 1 / (1 + np.exp(-an.link_logit))
            chosen = [int(an.best[r]) if score[r] >= t else None for r in range(len(d["responses"]))]
            for r, cs in d["gold"]:
                if cs:
                    tally["spec"] += 1
                    tally["spec_ok"] += chosen[r] in cs
                else:
                    tally["none"] += 1
                    tally["none_ok"] += chosen[r] is None
            un = set(range(len(d["claims"]))) - {c for c in chosen if c is not None}
            tally["tp"] += len(un & d["unanswered"])
            tally["fp"] += len(un - d["unanswered"])
            tally["fn"] += len(d["unanswered"] - un)
        n = tally["spec"] + tally["none"]
        f1 = 2 * tally["tp"] / max(2 * tally["tp"] + tally["fp"] + tally["fn"], 1)
        print(f"leave-one-pair-out {name} at {t}: links {n}  specific {tally['spec_ok'] / tally['spec']:.2f}  "
              f"none {tally['none_ok'] / max(tally['none'], 1):.2f}  "
              f"link acc {(tally['spec_ok'] + tally['none_ok']) / n:.2f}  unanswered F1 {f1:.2f}")
    set_link(coef, bias, tuned)


def set_choice(w, tuned: bool) -> None:
    """Install fitted choice weights where compare.align reads them for this model."""
    if tuned:
        A.TUNED_CHOICE_WEIGHTS = tuple(float(x) for x in w)
    else:
        A.CHOICE_WEIGHTS = tuple(float(x) for x in w)


def set_link(coef, bias, tuned: bool) -> None:
    if tuned:
        A.TUNED_LINK_WEIGHTS, A.TUNED_LINK_BIAS = tuple(coef), bias
    else:
        A.LINK_WEIGHTS, A.LINK_BIAS = tuple(coef), bias


PAIRS_WEIGHT = 0.3


if __name__ == "__main__":
    main()
