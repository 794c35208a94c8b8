"""Train a low-rank adapter that tunes a packaged model to "which claim does this sentence answer".

The adapter (LoRA, rank 8, on the attention query and value and both feed-forward
projections of every layer; --base mpnet, the default companion's model, or minilm) is
trained with an in-document softmax over the claim sentences: for each response sentence
that answers something, the gold claims should out-score the pair's other claim sentences.
Training data of the shipped adapters (DEFAULT_PAIRS): the invented political pairs in
benchmarks/train_pairs/ (168) for MiniLM; those and benchmarks/adapter_pairs/ (351, held out
until the eleventh round) for mpnet. Never pairs/, benchmarks/holdout_pairs/, fresh_pairs/ or
a DISAPERE dev/test split. docs/method.md, "Sixth round" to "Eleventh round", has the
measurements.

    .venv/bin/python benchmarks/train_adapter.py --out compare/data/mpnet-rebuttal-lora.npz
    .venv/bin/python benchmarks/train_adapter.py --base minilm --out compare/data/minilm-rebuttal-lora.npz
    .venv/bin/python benchmarks/train_adapter.py --pairs /tmp/half --pairs /tmp/more --out /tmp/half.npz
    .venv/bin/python benchmarks/train_adapter.py --base minilm --disapere train:1/2 --out /tmp/d1.npz

--disapere adds one pass over DISAPERE train, or one fixed half of it (the ninth round's
candidate, not adopted: it lifted DISAPERE dev and lost on new political pairs). DISAPERE
train also fits the choice weights, so an adapter that saw it needs the constants
cross-fitted: train one adapter per half and pass both to
`fit_alignment.py --adapter FULL.npz --train-halves HALF1.npz HALF2.npz`. With 1 thread each
(--threads 1) three such MiniLM runs fit side by side in 24 GB, about 15-20 minutes (mpnet
needs several times the memory and time; not measured).

On two CPU threads, mpnet takes about 50 minutes on its 519 pairs (15 on 168), MiniLM three
on its 168; seeded, so a rerun on the same machine gives the same file (the shipped ones were
made by the first two commands). After replacing the default companion's file, check the
TUNED_* constants of compare/align.py (TUNED_ADAPTER_DIGEST): refit them
(benchmarks/fit_alignment.py) only when a round adopts the refit; the shipped ones were fitted
with the tenth round's adapter and kept for the eleventh's. An adapter elsewhere is scored with
`benchmarks/alignment.py --adapter FILE` (its layer names say which model it tunes).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import alignment  # noqa: E402
from alignment import load_split, resolve_gold  # noqa: E402

from compare import packaged  # noqa: E402
from compare.segment import segment  # noqa: E402

# The adapted layers of every transformer block: attention query and value, and both
# feed-forward projections (not the attention output projection).
TARGETS = {
    "minilm": re.compile(r"encoder\.layer\.\d+\.(attention\.self\.(query|value)|intermediate\.dense|output\.dense)"),
    "mpnet": re.compile(r"encoder\.layer\.\d+\.(attention\.attn\.(q|v)|intermediate\.dense|output\.dense)"),
}
SHIPPED = {base: ROOT / "compare" / "data" / f"{base}-rebuttal-lora.npz" for base in TARGETS}

RANK = 8
ALPHA = 16.0
SCALE = 20.0  # cosine → logit in the in-document softmax
EPOCHS = 3
LEARNING_RATE = 5e-4
DISAPERE_MAX_TOKENS = 128  # word pieces per sentence in a DISAPERE training step
# The folders each shipped adapter was trained on, in this order.
DEFAULT_PAIRS = {"minilm": [alignment.TRAIN_PAIRS], "mpnet": [alignment.ADAPTER_PAIRS, alignment.TRAIN_PAIRS]}


def documents(folders: list[Path]) -> list[dict]:
    """The training documents of several folders, folder by folder in the order given (the
    order matters: the seeded shuffle permutes it)."""
    out = []
    for folder in folders:
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            raise SystemExit(f"pair folder {folder}: no pair files (*.json) there")
        out += training_documents([json.loads(f.read_text(encoding="utf-8")) for f in files])
    return out


def disapere_records(spec: str) -> list[dict]:
    """DISAPERE train, or one half of it: 'train', 'train:1/2' or 'train:2/2'.

    The halves (a fixed shuffle, seed 9) let fit_alignment.py cross-fit: the choice and
    abstention constants are fitted on DISAPERE train features that come from an adapter
    which did not see those records.
    """
    name, colon, half = spec.partition(":")
    if name != "train":
        raise SystemExit(f"--disapere {spec!r}: only DISAPERE train (or a half, train:1/2, train:2/2) may be trained on")
    if colon and half not in ("1/2", "2/2"):
        raise SystemExit(f"--disapere {spec!r}: the half must be 1/2 or 2/2")
    if not (alignment.EVAL / "disapere" / "train.jsonl").exists():
        raise SystemExit(f"--disapere needs DISAPERE train in {alignment.EVAL}, which is absent")
    records = load_split("train")
    if not half:
        return records
    order = list(range(len(records)))
    random.Random(9).shuffle(order)
    cut = len(records) // 2
    chosen = sorted(order[:cut] if half == "1/2" else order[cut:])
    return [records[i] for i in chosen]


def training_documents(pairs: list[dict]) -> list[dict]:
    out = []
    for p in pairs:
        claims, responses = segment(p["claim"]), segment(p["response"])
        gold = [(r, sorted(cs)) for r, cs in resolve_gold(p, claims, responses).links if cs]
        if gold:
            out.append({"claims": [s.text for s in claims], "responses": [s.text for s in responses], "gold": gold})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="where to write the adapter (the shipped ones: "
                    + ", ".join(str(p.relative_to(ROOT)) for p in SHIPPED.values()) + ")")
    ap.add_argument("--pairs", type=Path, action="append", default=None,
                    help="folder of training pairs; repeat for several, read in the order given "
                         "(default: the shipped adapter's folders, DEFAULT_PAIRS)")
    ap.add_argument("--epochs", type=float, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the shipped adapter was made with 2; another count may change the file)")
    ap.add_argument("--disapere", default=None, help="also train on DISAPERE train ('train') or one half of it ('train:1/2', 'train:2/2')")
    ap.add_argument("--base", choices=sorted(TARGETS), default="mpnet",
                    help="the model to adapt (default mpnet: the default model's tuned companion)")
    ap.add_argument("--disapere-epochs", type=float, default=None, help="passes over the --disapere records (default 1)")
    args = ap.parse_args(argv)
    if args.disapere_epochs is not None and args.disapere is None:
        ap.error("--disapere-epochs goes with --disapere")
    args.disapere_epochs = 1.0 if args.disapere_epochs is None else args.disapere_epochs
    if args.epochs <= 0 or args.disapere_epochs <= 0 or args.threads < 1:
        ap.error("--epochs and --disapere-epochs must be above 0, --threads at least 1")
    records = disapere_records(args.disapere) if args.disapere is not None else None  # fail before loading torch
    train = documents(args.pairs or DEFAULT_PAIRS[args.base])
    base_path = packaged.minilm_path() if args.base == "minilm" else packaged.mpnet_path()
    if base_path is None:
        raise SystemExit(f"the {args.base} model is not installed: run scripts/setup.sh")

    import torch
    from sentence_transformers import SentenceTransformer
    from torch import nn

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)

    class LoRA(nn.Module):
        def __init__(self, base: nn.Linear):
            super().__init__()
            self.base = base
            self.A = nn.Parameter(torch.randn(RANK, base.in_features) / math.sqrt(base.in_features))
            self.B = nn.Parameter(torch.zeros(base.out_features, RANK))

        def forward(self, x):
            return self.base(x) + (x @ self.A.t() @ self.B.t()) * (ALPHA / RANK)

    model = SentenceTransformer(str(base_path), device="cpu")
    bert = model[0].auto_model
    for p in bert.parameters():
        p.requires_grad_(False)
    wrapped: dict[str, LoRA] = {}
    for name, module in list(bert.named_modules()):
        if isinstance(module, nn.Linear) and TARGETS[args.base].fullmatch(name):
            parent, leaf = name.rsplit(".", 1)
            wrapped[name] = LoRA(module)
            setattr(bert.get_submodule(parent), leaf, wrapped[name])
    params = [q for lo in wrapped.values() for q in (lo.A, lo.B)]
    print(f"{len(wrapped)} layers, {sum(q.numel() for q in params):,} parameters", flush=True)

    steps = int(len(train) * args.epochs)
    if records is not None:
        # A fixed schedule: the political pairs' passes and the DISAPERE passes, interleaved.
        extra = training_documents(records)
        for d in extra:
            # A long review holds up to 147 sentences; at MiniLM's 256 word pieces one step
            # would need over 16 GB, at 128 about a quarter of it.
            d["max_tokens"] = DISAPERE_MAX_TOKENS
        schedule = []
        for _ in range(math.ceil(args.epochs)):
            random.shuffle(train)
            schedule += train
        schedule = schedule[:steps]
        for _ in range(math.ceil(args.disapere_epochs)):
            random.shuffle(extra)
            schedule += extra
        schedule = schedule[: steps + int(len(extra) * args.disapere_epochs)]
        random.shuffle(schedule)
        print(f"{len(train)} pairs + {len(extra)} DISAPERE records: {len(schedule)} steps", flush=True)
        described = f"{len(train)} pairs and {len(extra)} DISAPERE records"
        train, steps = schedule, len(schedule)
    else:
        described = f"{len(train)} pairs"
    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 20) * max(0.0, 1 - i / steps))
    model.train()
    default_length = model.max_seq_length
    t0, step = time.time(), 0
    while step < steps:
        random.shuffle(train)
        for d in train[: steps - step]:
            model.max_seq_length = d.get("max_tokens", default_length)
            texts = d["claims"] + [d["responses"][r] for r, _ in d["gold"]]
            e = nn.functional.normalize(model(model.tokenize(texts))["sentence_embedding"], dim=1)
            sims = SCALE * (e[len(d["claims"]) :] @ e[: len(d["claims"])].t())
            loss = sum(torch.logsumexp(sims[k], 0) - torch.logsumexp(sims[k, cs], 0) for k, (_, cs) in enumerate(d["gold"]))
            loss = loss / len(d["gold"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    arrays = {"scale": np.float32(ALPHA / RANK)}
    for name, lo in wrapped.items():
        arrays[f"{name}.A"] = lo.A.detach().numpy().astype(np.float32)
        arrays[f"{name}.B"] = lo.B.detach().numpy().astype(np.float32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes) from {described} ({steps} steps) in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
