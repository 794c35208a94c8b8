"""The invented training, adapter-training, held-out and fresh (not yet scored) pairs stay
valid gold data.

Their anchors are resolved against `compare.segment`'s sentences: a segmenter change that
merges or splits one of their sentences would silently change what the benchmarks score,
so every file is checked here the way `benchmarks/check_train_pairs.py` checks it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("train_pairs", "adapter_pairs", "holdout_pairs", "fresh_pairs")
FILES = sorted(p for folder in FOLDERS for p in (ROOT / "benchmarks" / folder).glob("*.json"))


def _checker():
    spec = importlib.util.spec_from_file_location("check_train_pairs", ROOT / "benchmarks" / "check_train_pairs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK = _checker()


def test_the_folders_hold_pairs():
    for folder in FOLDERS:
        assert list((ROOT / "benchmarks" / folder).glob("*.json")), folder


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_pair_is_valid_gold(path):
    problems, _ = CHECK.check(path)
    assert problems == []


def test_no_pair_is_in_two_folders():
    # Training, held-out and fresh (not yet scored) pairs must stay apart.
    def texts(folder):
        return {json.loads(p.read_text(encoding="utf-8"))["claim"] for p in (ROOT / "benchmarks" / folder).glob("*.json")}

    seen: set[str] = set()
    for folder in FOLDERS:
        claims = texts(folder)
        assert not claims & seen, folder
        seen |= claims


def test_pair_numbers_are_unique_across_held_out_and_fresh_pairs():
    # adapter_pairs/ were held-out pairs until the eleventh round: one numbering for all three.
    numbers = [p.name.split("-", 1)[0] for folder in ("adapter_pairs", "holdout_pairs", "fresh_pairs")
               for p in (ROOT / "benchmarks" / folder).glob("*.json")]
    assert len(numbers) == len(set(numbers))


def test_the_checker_catches_a_broken_anchor(tmp_path):
    pair = json.loads(sorted((ROOT / "benchmarks" / "train_pairs").glob("*.json"))[0].read_text(encoding="utf-8"))
    pair["links"][0]["response"] = "a phrase that is in no sentence of the response"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(pair), encoding="utf-8")
    problems, _ = CHECK.check(bad)
    assert any("occurs 0 times" in p for p in problems)


def _alignment_module(monkeypatch):
    spec = importlib.util.spec_from_file_location("alignment_bench", ROOT / "benchmarks" / "alignment.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look themselves up there
    spec.loader.exec_module(bench)
    return bench


def test_alignment_benchmark_refuses_options_it_would_ignore(capsys, monkeypatch):
    # Review finding: --adapter was silently ignored with another --model.
    bench = _alignment_module(monkeypatch)
    for argv in (["--split", "holdout", "--model", "minilm", "--adapter", "x.npz"], ["--split", "dev", "--folder", "x"],
                 ["--split", "holdout", "--adapter", "no-such-adapter.npz"]):
        with pytest.raises(SystemExit) as exit_info:
            bench.main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "leave out --model" in err and "--folder goes with" in err
    assert "--adapter: no such file: no-such-adapter.npz" in err


def test_alignment_benchmark_refuses_a_folder_without_pairs(capsys, monkeypatch, tmp_path):
    # Review finding: a mistyped --folder printed a table of 0 links (unanswered F1 1.00),
    # which for the one-shot fresh-pair decision would waste the pairs' single use.
    bench = _alignment_module(monkeypatch)
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "fresh_pair"):
        with pytest.raises(SystemExit) as exit_info:
            bench.main(["--split", "holdout", "--folder", str(folder)])
        assert exit_info.value.code == 2
        assert f"--folder {folder}: no pair files" in capsys.readouterr().err


@pytest.mark.parametrize("split, folder", [("trainpairs", "train_pairs"), ("adapterpairs", "adapter_pairs"),
                                           ("holdout", "holdout_pairs")])
def test_each_folder_split_reads_its_own_folder(monkeypatch, split, folder):
    bench = _alignment_module(monkeypatch)
    pairs = bench.load_split(split)
    files = sorted((ROOT / "benchmarks" / folder).glob("*.json"))
    assert [p["id"] for p in pairs] == [json.loads(f.read_text(encoding="utf-8"))["id"] for f in files]


DATA = ROOT / "compare" / "data"


def _train_adapter_module(monkeypatch):
    spec = importlib.util.spec_from_file_location("train_adapter_bench", ROOT / "benchmarks" / "train_adapter.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "spec, message",
    [("dev", "only DISAPERE train"), ("test", "only DISAPERE train"), ("test:1/2", "only DISAPERE train"),
     ("train:3/2", "the half must be"), ("train:", "the half must be")],
)
def test_adapter_training_refuses_any_disapere_but_train_halves(monkeypatch, spec, message):
    # The adapter may never see a split that is scored (dev checks, test reports).
    trainer = _train_adapter_module(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        trainer.disapere_records(spec)
    assert message in str(exit_info.value)


def test_adapter_training_checks_its_options_before_loading_torch(monkeypatch, tmp_path, capsys):
    trainer = _train_adapter_module(monkeypatch)
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch would now fail
    with pytest.raises(SystemExit) as exit_info:
        trainer.main(["--out", str(tmp_path / "a.npz"), "--disapere", "dev"])
    assert "only DISAPERE train" in str(exit_info.value)
    for argv, message in (
        (["--disapere-epochs", "2"], "--disapere-epochs goes with --disapere"),
        (["--epochs", "0"], "must be above 0"),
        (["--threads", "0"], "--threads at least 1"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            trainer.main(["--out", str(tmp_path / "a.npz"), *argv])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "absent"):
        with pytest.raises(SystemExit) as exit_info:
            trainer.main(["--out", str(tmp_path / "a.npz"), "--pairs", str(ROOT / "benchmarks" / "train_pairs"),
                          "--pairs", str(folder)])
        assert f"pair folder {folder}: no pair files" in str(exit_info.value)
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: None)  # not assembled
    with pytest.raises(SystemExit) as exit_info:
        trainer.main(["--out", str(tmp_path / "a.npz")])
    assert "the mpnet model is not installed: run scripts/setup.sh" in str(exit_info.value)
    assert not (tmp_path / "a.npz").exists()


def test_the_default_training_data_is_what_each_shipped_adapter_was_trained_on(monkeypatch):
    # MiniLM: train_pairs/ only; mpnet (eleventh round): adapter_pairs/ then train_pairs/, in
    # that order (the seeded shuffle permutes the list, so the order is part of the recipe).
    # Never holdout_pairs/ or fresh_pairs/: they decide whether a change is adopted.
    trainer = _train_adapter_module(monkeypatch)
    bench = ROOT / "benchmarks"
    assert trainer.DEFAULT_PAIRS == {"minilm": [bench / "train_pairs"],
                                     "mpnet": [bench / "adapter_pairs", bench / "train_pairs"]}
    docs = trainer.documents(trainer.DEFAULT_PAIRS["mpnet"])
    assert len(docs) == 519
    first = json.loads(sorted((bench / "adapter_pairs").glob("*.json"))[0].read_text(encoding="utf-8"))
    assert docs[0]["responses"][0] in first["response"]


def test_the_trainer_writes_the_layers_each_shipped_adapter_has(monkeypatch):
    # train_adapter.py's layer patterns per base and the shipped files agree: every layer
    # of a shipped adapter is one the trainer adapts (four per block), and embed reads the
    # same base back from the names.
    from compare import embed

    trainer = _train_adapter_module(monkeypatch)
    assert set(trainer.SHIPPED) == set(trainer.TARGETS) == {"minilm", "mpnet"}
    blocks = {"minilm": 6, "mpnet": 12}
    for base, path in trainer.SHIPPED.items():
        assert path == embed.TUNED_ADAPTERS[f"{base}-rebuttal"] and embed.adapter_base(path) == base
        with np.load(path) as data:
            layers = {k.rsplit(".", 1)[0] for k in data.files if k != "scale"}
        assert len(layers) == 4 * blocks[base]
        assert all(trainer.TARGETS[base].fullmatch(name) for name in layers)
    with pytest.raises(SystemExit):
        trainer.main(["--out", "unused.npz", "--base", "bert"])


def test_disapere_train_halves_are_fixed_and_partition_train(monkeypatch):
    trainer = _train_adapter_module(monkeypatch)
    if not (trainer.alignment.EVAL / "disapere" / "train.jsonl").exists():
        pytest.skip("../shared/eval is absent")
    whole = trainer.disapere_records("train")
    first, second = trainer.disapere_records("train:1/2"), trainer.disapere_records("train:2/2")
    ids = lambda records: [json.dumps(r, sort_keys=True) for r in records]  # noqa: E731
    assert abs(len(first) - len(second)) <= 1
    assert sorted(ids(first) + ids(second)) == sorted(ids(whole))
    assert not set(ids(first)) & set(ids(second))
    assert ids(trainer.disapere_records("train:1/2")) == ids(first)  # the same halves every time


@pytest.mark.parametrize(
    "argv, message",
    [
        # Cross-fitting is about the default model's tuned companion; another model has none.
        (["--model", "minilm", "--adapter", "FULL", "--train-halves", "H1", "H2"], "--train-halves cross-fits"),
        (["--no-tuned", "--adapter", "FULL", "--train-halves", "H1", "H2"], "--train-halves cross-fits"),
        # Without the full adapter the other splits would be scored by the shipped one.
        (["--train-halves", "H1", "H2"], "--train-halves goes with --adapter"),
        (["--adapter", "FULL", "--train-halves", "H1", "missing.npz"], "no such file: missing.npz"),
        (["--adapter", "missing.npz"], "--adapter: no such file: missing.npz"),
        (["--adapter", "FULL"], "FULL is damaged or not an adapter"),
        # Half adapters of another model would cross-fit DISAPERE train on that model's cosines.
        (["--adapter", str(DATA / "mpnet-rebuttal-lora.npz"), "--train-halves",
          str(DATA / "minilm-rebuttal-lora.npz"), str(DATA / "minilm-rebuttal-lora.npz")], "must tune the same model"),
    ],
)
def test_fit_alignment_refuses_train_halves_it_cannot_use(capsys, monkeypatch, tmp_path, argv, message):
    spec = importlib.util.spec_from_file_location("fit_alignment_bench", ROOT / "benchmarks" / "fit_alignment.py")
    fitter = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, fitter)
    spec.loader.exec_module(fitter)
    for name in ("FULL", "H1", "H2"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)

    def no_embedding(*args, **kwargs):
        raise AssertionError("the options should have been refused before any model loads")

    monkeypatch.setattr("compare.embed.open_embedder", no_embedding)
    monkeypatch.setattr(sys, "argv", ["fit_alignment.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        fitter.main()
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
