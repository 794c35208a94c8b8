"""Models side by side, and the cache behind them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compare import embed
from compare.errors import CompareError
from compare.store import EmbeddingStore

from tests.conftest import FakeModel

TEXTS = ["The ministry denied the report.", "Hackers stole $236 million.", "We reject this smear."]


class NamedFake(FakeModel):
    def __init__(self, name: str, dim: int) -> None:
        super().__init__(dim)
        self.name = name


def test_combined_similarity_is_the_weighted_mean_of_the_members_cosines():
    a, b = NamedFake("a", 64), NamedFake("b", 7)
    va, vb = a.encode(TEXTS), b.encode(TEXTS)
    assert not np.allclose(va @ va.T, vb @ vb.T)  # the members disagree, so the test can fail
    combined = embed.CombinedModel((a, b), (3.0, 1.0))
    vc = combined.encode(TEXTS)
    assert vc.shape == (3, 64 + 7)
    assert np.allclose(np.linalg.norm(vc, axis=1), 1.0, atol=1e-6)
    assert np.allclose(vc @ vc.T, 0.75 * (va @ va.T) + 0.25 * (vb @ vb.T), atol=1e-6)
    assert combined.name == "a+b"


def test_each_member_is_cached_under_its_own_name(tmp_path):
    a, b = NamedFake("a", 64), NamedFake("b", 16)
    store = EmbeddingStore(tmp_path / "e.db")
    together = embed.Embedder(embed.CombinedModel((a, b), (1.0, 1.0)), store, progress=False)
    first = together.embed(TEXTS)
    assert [len(c) for c in a.calls] == [3] and [len(c) for c in b.calls] == [3]
    again = together.embed(TEXTS + ["A new sentence."])
    assert np.allclose(again[:3], first)
    assert a.calls[-1] == ["A new sentence."] and b.calls[-1] == ["A new sentence."]
    # A member used alone finds its vectors already stored.
    alone = embed.Embedder(a, store, progress=False).embed(TEXTS)
    assert len(a.calls) == 2
    assert np.allclose(alone, a.encode(TEXTS))


def test_model_names_resolve_without_loading_anything(monkeypatch, tmp_path):
    for sub in ("minilm", "mpnet"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "modules.json").write_text("[]")
    monkeypatch.setattr("compare.packaged.minilm_path", lambda: tmp_path / "minilm")
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: tmp_path / "mpnet")
    default = embed.resolve_model(None)
    assert isinstance(default, embed.CombinedModel)
    assert [m.name for m in default.members] == [embed.MINILM, embed.MPNET]
    assert default.name == embed.DEFAULT_MODEL and default.weights == pytest.approx(embed.DEFAULT_WEIGHTS)
    assert embed.resolve_model("default").name == embed.DEFAULT_MODEL
    # The default's tuned companion: mpnet's folder plus the shipped adapter, cached
    # under a name that changes with the adapter's content.
    assert default.tuned == embed.TUNED_MODEL == "mpnet-rebuttal"  # a name: resolved only when match needs it
    embedder = embed.Embedder(default)
    tuned = embedder.tuned().model
    assert tuned.path == str(tmp_path / "mpnet") and tuned.adapter == embed.ADAPTER_FILE
    assert tuned.name == f"{embed.TUNED_MODEL}@{embed.adapter_digest()}"
    assert embedder.tuned().model is tuned  # resolved once, then kept (the loaded model too)
    assert embed.resolve_model("mpnet-rebuttal").name == tuned.name
    # The earlier companion, the tuned MiniLM, still resolves by name (scripts may name it).
    older = embed.resolve_model("minilm-rebuttal")
    assert older.path == str(tmp_path / "minilm") and older.adapter == embed.TUNED_ADAPTERS["minilm-rebuttal"]
    assert older.name == f"minilm-rebuttal@{embed.adapter_digest(older.adapter)}" and older.name != tuned.name
    assert embed.Embedder(embed.resolve_model("minilm")).tuned() is None
    assert embed.resolve_model("minilm").name == embed.MINILM
    mixed = embed.resolve_model("mpnet+hashing")
    assert [m.name for m in mixed.members] == [embed.MPNET, "hashing"] and mixed.weights == (0.5, 0.5)
    for empty in ("+", "hashing+", "++mpnet"):
        with pytest.raises(CompareError, match="empty part"):
            embed.resolve_model(empty)
    with pytest.raises(CompareError, match="/no/such/a\\+b does not exist"):
        embed.resolve_model("/no/such/a+b")
    with pytest.raises(CompareError):
        embed.resolve_model("x" * 5000)  # too long for a path: an error, not a traceback
    # An existing folder whose name holds '+' is a folder, not two models.
    plus = tmp_path / "my+model"
    plus.mkdir()
    (plus / "modules.json").write_text("[]")
    assert embed.resolve_model(str(plus)).name == str(plus.resolve())


def test_an_unknown_model_name_lists_the_packaged_ones(monkeypatch, tmp_path):
    # Review finding: "-m MiniLM" (wrong case) did not say which short names exist.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path / "st"))
    with pytest.raises(CompareError, match="minilm, mpnet, minilm\\+mpnet, mpnet-rebuttal, minilm-rebuttal, hashing"):
        embed.resolve_model("MiniLM")


def test_combined_model_refuses_mismatched_or_bad_weights():
    a = NamedFake("a", 8)
    for members, weights in [((a,), (1.0, 1.0)), ((), ()), ((a,), (0.0,)), ((a,), (float("nan"),))]:
        with pytest.raises(ValueError):
            embed.CombinedModel(members, weights)


@pytest.mark.model
def test_the_packaged_default_is_both_models_side_by_side():
    default = embed.resolve_model(None)
    vectors = default.encode(TEXTS)
    assert vectors.shape == (3, 384 + 768)
    cosines = [m.encode(TEXTS) for m in default.members]
    mean = sum(w * (v @ v.T) for w, v in zip(default.weights, cosines))
    assert np.allclose(vectors @ vectors.T, mean, atol=1e-5)


def test_mpnet_installed_without_setup_is_unpacked_on_first_use(monkeypatch, tmp_path, capsys):
    folder = tmp_path / "all-mpnet-base-v2"
    calls = []
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: None)
    monkeypatch.setattr("compare.packaged.parts_installed", lambda: True)
    monkeypatch.setattr("compare.packaged.assemble_mpnet", lambda: calls.append(1) or folder)
    model = embed.resolve_model("mpnet")
    assert calls == [1] and model.path == str(folder)
    assert "unpacking all-mpnet-base-v2" in capsys.readouterr().err


def test_a_packaged_name_falls_back_to_the_local_model_cache(monkeypatch, tmp_path):
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: None)
    monkeypatch.setattr("compare.packaged.parts_installed", lambda: False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(CompareError, match="not installed.*--model minilm"):
        embed.resolve_model("mpnet")
    (tmp_path / "models--sentence-transformers--all-mpnet-base-v2" / "snapshots").mkdir(parents=True)
    model = embed.resolve_model("all-mpnet-base-v2")
    assert model.name == embed.MPNET and model.path == embed.MPNET


def test_the_adapter_is_named_by_its_content_and_missing_one_is_a_clear_error(monkeypatch, tmp_path):
    copy = tmp_path / "adapter.npz"
    copy.write_bytes(embed.ADAPTER_FILE.read_bytes())
    assert embed.adapter_digest(copy) == embed.adapter_digest()
    copy.write_bytes(copy.read_bytes() + b"x")
    assert embed.adapter_digest(copy) != embed.adapter_digest()
    monkeypatch.setattr(embed, "ADAPTER_FILE", tmp_path / "gone.npz")
    with pytest.raises(CompareError, match="adapter .*gone.npz is missing: reinstall"):
        embed.resolve_model(embed.TUNED_MODEL)
    monkeypatch.setitem(embed.TUNED_ADAPTERS, "minilm-rebuttal", tmp_path / "gone-too.npz")
    with pytest.raises(CompareError, match="adapter .*gone-too.npz is missing: reinstall"):
        embed.resolve_model("minilm-rebuttal")
    # Only matching needs the adapter: the default model still resolves (similarity, query).
    default = embed.resolve_model(None)
    with pytest.raises(CompareError, match="gone.npz is missing"):
        embed.Embedder(default).tuned()


def test_each_shipped_adapter_says_which_model_it_tunes(tmp_path):
    assert embed.ADAPTER_FILE == embed.TUNED_ADAPTERS[embed.TUNED_MODEL]
    bases = {name: embed.adapter_base(path) for name, path in embed.TUNED_ADAPTERS.items()}
    assert bases == {"mpnet-rebuttal": "mpnet", "minilm-rebuttal": "minilm"}
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip archive")
    with pytest.raises(CompareError, match="junk.npz is damaged or not an adapter .*reinstall"):
        embed.adapter_base(junk)
    # A readable archive is not an adapter unless its layers belong to one known model.
    pair = {"scale": np.float32(2.0)}
    for names in ([], ["embeddings.word_embeddings"],
                  ["encoder.layer.0.attention.attn.q", "encoder.layer.0.attention.self.query"]):
        np.savez(junk, **pair, **{f"{n}.{m}": np.zeros((2, 2)) for n in names for m in "AB"})
        with pytest.raises(CompareError, match="not an adapter .*no attention layers of one known model"):
            embed.adapter_base(junk)
    np.savez(junk, **pair, **{f"encoder.layer.3.attention.self.value.{m}": np.zeros((2, 2)) for m in "AB"})
    assert embed.adapter_base(junk) == "minilm"
    # Missing and unreadable are told apart.
    with pytest.raises(CompareError, match="gone.npz is missing"):
        embed.adapter_base(tmp_path / "gone.npz")
    with pytest.raises(CompareError, match="cannot read the model adapter .*permissions"):
        embed.adapter_base(tmp_path)  # a folder
    with pytest.raises(CompareError, match="cannot read the model adapter"):
        embed.adapter_digest(tmp_path)


def test_a_swapped_in_adapter_is_named_after_the_model_it_tunes(monkeypatch, tmp_path):
    # Review finding: benchmarks swap ADAPTER_FILE; a MiniLM adapter in the default slot was
    # reported (and cached) as "mpnet-rebuttal@…" while it ran on MiniLM.
    for sub in ("minilm", "mpnet"):
        (tmp_path / sub).mkdir()
    monkeypatch.setattr("compare.packaged.minilm_path", lambda: tmp_path / "minilm")
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: tmp_path / "mpnet")
    monkeypatch.setattr(embed, "ADAPTER_FILE", embed.TUNED_ADAPTERS["minilm-rebuttal"])
    swapped = embed.resolve_model(embed.TUNED_MODEL)
    assert swapped.path == str(tmp_path / "minilm")
    assert swapped.name == embed.resolve_model("minilm-rebuttal").name
    assert swapped.name.startswith("minilm-rebuttal@")


@pytest.mark.model
@pytest.mark.parametrize(
    "tuned_name, base_name, layer, width",
    [("mpnet-rebuttal", "mpnet", "encoder.layer.0.attention.attn.q", 768),
     ("minilm-rebuttal", "minilm", "encoder.layer.0.attention.self.query", 384)],
)
def test_a_tuned_model_is_its_base_with_the_adapter_merged(tuned_name, base_name, layer, width):
    import torch
    from sentence_transformers import SentenceTransformer

    tuned = embed.resolve_model(tuned_name)
    plain = embed.resolve_model(base_name)
    adapter = embed.TUNED_ADAPTERS[tuned_name]
    base = SentenceTransformer(plain.path, device="cpu")
    merged = SentenceTransformer(plain.path, device="cpu")
    embed.apply_adapter(merged, adapter)
    with np.load(adapter) as data:
        delta = float(data["scale"]) * (data[layer + ".B"] @ data[layer + ".A"])
    w0 = base[0].auto_model.get_submodule(layer).weight.detach().numpy()
    w1 = merged[0].auto_model.get_submodule(layer).weight.detach().numpy()
    assert np.abs(delta).max() > 1e-4 and np.allclose(w1 - w0, delta, atol=1e-6)
    assert torch.equal(base[0].auto_model.embeddings.word_embeddings.weight,
                       merged[0].auto_model.embeddings.word_embeddings.weight)
    a, b = tuned.encode(TEXTS), plain.encode(TEXTS)
    assert a.shape == b.shape == (3, width)
    assert not np.allclose(a, b, atol=1e-3)
    assert np.all(np.sum(a * b, axis=1) > 0.5)  # tuned, not a different model


def test_a_damaged_adapter_is_a_one_line_error(tmp_path):
    bad = tmp_path / "adapter.npz"
    data = embed.ADAPTER_FILE.read_bytes()
    damaged = [
        b"not a zip archive",
        data[: len(data) // 2],  # truncated
        data[:2000] + bytes([data[2000] ^ 0xFF]) + data[2001:],  # one byte flipped
    ]
    for content in damaged:
        bad.write_bytes(content)
        with pytest.raises(CompareError, match="adapter .* is damaged or not an adapter .*reinstall"):
            embed.apply_adapter(object(), bad)
    np.savez(bad, other=np.zeros(2))  # a valid archive without the scale
    with pytest.raises(CompareError, match="damaged or not an adapter"):
        embed.apply_adapter(object(), bad)
    np.savez(bad, scale=np.float32(2.0))  # the scale alone: no matrices to merge
    with pytest.raises(CompareError, match="no A/B matrix pairs"):
        embed.apply_adapter(object(), bad)


def test_the_tuned_constants_belong_to_the_shipped_adapter():
    # Replacing the adapter file without checking align.TUNED_* (and without updating the
    # README's example name) would pass every other fast test.
    from compare import align

    assert embed.adapter_digest() == align.TUNED_ADAPTER_DIGEST
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"{embed.TUNED_MODEL}@{align.TUNED_ADAPTER_DIGEST}" in readme
