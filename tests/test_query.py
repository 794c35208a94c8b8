"""`compare query` and `compare similarity`: answers that are known in advance."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from compare.cli import cli
from compare.corpus import Pair, add_pair, list_pairs
from compare.embed import Embedder, HashingModel
from compare.query import Hit, corpus_sentences, embed_texts, query, similarity
from compare.segment import segment
from compare.store import EmbeddingStore, text_hash

from .conftest import ROOT, FakeModel

PAIRS = {
    "agency-fines": (
        "The agency seized seventeen web domains. The company paid five million dollars in fines. "
        "Workers used stolen identities to get jobs.",
        "We never paid any fines to the company. The weather was nice in the capital.",
    ),
    "cyber-threat": (
        "Hackers stole virtual currency from a research firm. The laptops were accessed remotely.",
        "The cyber threat is a fabrication. Our citizens never stole any currency. "
        "The hostile policy continues.",
    ),
}


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    for slug, (claim, response) in PAIRS.items():
        add_pair(root, Pair(slug=slug, claim=claim, response=response, title=slug))
    return root


def run(args):
    return CliRunner().invoke(cli, args)


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_query_finds_an_exact_sentence_first(corpus, fake_model):
    # More sentences than the default -n, so the default limit is really checked.
    add_pair(corpus, Pair(slug="extra", claim="One more claim. And another one. A third.",
                          response="Yet another response. And a last one."))
    total = sum(len(segment(p.claim)) + len(segment(p.response)) for p in list_pairs(corpus))
    assert total == 15
    target = "Hackers stole virtual currency from a research firm."
    result = run(["query", target, "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    hits = jsonl(result.stdout)
    assert len(hits) == 10  # the default -n
    first = hits[0]
    assert list(first) == ["pair", "side", "index", "text", "score"]
    assert first == {"pair": "cyber-threat", "side": "claim", "index": 0, "text": target,
                     "score": pytest.approx(1.0, abs=1e-5)}
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(h["index"], int) and h["side"] in ("claim", "response") for h in hits)


def test_index_points_at_the_sentence_within_its_side(corpus, fake_model):
    for hit in jsonl(run(["query", "fines paid company", "-n", "50", "--corpus", str(corpus)]).stdout):
        claim, response = PAIRS[hit["pair"]]
        doc = claim if hit["side"] == "claim" else response
        assert segment(doc)[hit["index"]].text == hit["text"]


def test_n_limits_the_answer(corpus, fake_model):
    assert len(jsonl(run(["query", "fines", "-n", "3", "--corpus", str(corpus)]).stdout)) == 3
    assert len(jsonl(run(["query", "fines", "-n", "1", "--corpus", str(corpus)]).stdout)) == 1
    total = sum(len(segment(c)) + len(segment(r)) for c, r in PAIRS.values())
    assert len(jsonl(run(["query", "fines", "-n", "1000", "--corpus", str(corpus)]).stdout)) == total
    bad = run(["query", "fines", "-n", "0", "--corpus", str(corpus)])
    assert bad.exit_code == 2


def test_pair_and_side_filters(corpus, fake_model):
    hits = jsonl(run(["query", "stole currency", "--pair", "cyber-threat", "-n", "50",
                      "--corpus", str(corpus)]).stdout)
    assert hits and {h["pair"] for h in hits} == {"cyber-threat"}
    assert len(hits) == 5
    hits = jsonl(run(["query", "stole currency", "--side", "response", "-n", "50",
                      "--corpus", str(corpus)]).stdout)
    assert {h["side"] for h in hits} == {"response"}
    assert {h["pair"] for h in hits} == {"agency-fines", "cyber-threat"}
    assert hits[0]["text"] == "Our citizens never stole any currency."
    hits = jsonl(run(["query", "stole currency", "--side", "claim", "--pair", "agency-fines",
                      "-n", "50", "--corpus", str(corpus)]).stdout)
    assert [(h["pair"], h["side"]) for h in hits] == [("agency-fines", "claim")] * 3


def test_unknown_pair_is_one_line(corpus, fake_model):
    result = run(["query", "x", "--pair", "nope", "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert "no pair 'nope'" in result.output and "agency-fines" in result.output
    result = run(["query", "x", "--pair", "../etc", "--corpus", str(corpus)])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_plain_format(corpus, fake_model):
    result = run(["query", "The laptops were accessed remotely.", "--format", "plain", "-n", "2",
                  "--corpus", str(corpus)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("1.0000  cyber-threat  claim 1  The laptops were accessed remotely.")


def test_empty_corpus_and_empty_query(tmp_path, fake_model):
    result = run(["query", "anything", "--corpus", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no pairs" in result.output
    result = run(["query", "   ", "--corpus", str(tmp_path / "none")])
    assert result.exit_code == 1 and "empty" in result.output


def test_pair_is_queryable_right_after_add(tmp_path, fake_model):
    root = tmp_path / "corpus"
    c = tmp_path / "c.txt"
    c.write_text("Brand new claim about submarines.\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["add", "subs", "--claim", str(c), "--response", "-",
                                    "--corpus", str(root)], input="Nothing about boats.\n").exit_code == 0
    hits = jsonl(run(["query", "Brand new claim about submarines.", "-n", "1", "--corpus", str(root)]).stdout)
    assert hits[0]["pair"] == "subs" and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_second_query_embeds_only_the_query(corpus, fake_model):
    run(["query", "first question", "--corpus", str(corpus)])
    calls = len(fake_model.calls)
    run(["query", "second question", "--corpus", str(corpus)])
    assert fake_model.calls[calls:] == [["second question"]]


def _long_pair(corpus, sentences=100):
    claim = " ".join(f"Claim sentence number {i} about topic {i % 9}." for i in range(sentences))
    add_pair(corpus, Pair(slug="long", claim=claim, response="A short response."))
    assert len(segment(claim)) == sentences  # well above the 64-sentence bar threshold


class _TtyStderr:
    """Stands in for compare.embed's `sys`, so the Embedder believes stderr is a terminal."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    @property
    def stderr(self):
        class _Err:
            def isatty(self):
                return True

        return _Err()


def test_no_progress_output_when_stderr_is_not_a_terminal(corpus, fake_model):
    """Regression: the old test had 10 sentences, too few for a bar either way."""
    _long_pair(corpus)
    result = run(["query", "fines", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    assert len(fake_model.calls[0]) > 64  # a run long enough for a bar on a terminal
    assert result.stderr == ""


def test_progress_bar_when_stderr_is_a_terminal(corpus, fake_model, monkeypatch):
    import compare.embed

    _long_pair(corpus)
    monkeypatch.setattr(compare.embed, "sys", _TtyStderr(sys))
    progress_flags = []
    encode = fake_model.encode

    def spy(texts, progress=False):
        progress_flags.append(progress)
        return encode(texts, progress)

    monkeypatch.setattr(fake_model, "encode", spy)
    result = run(["query", "fines", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("embedding 111 sentences") == 1  # one bar over the chunks
    assert progress_flags[0] is False  # no inner bar from the model


def test_similarity(fake_model):
    result = run(["similarity", "the cat sat", "the cat sat"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "1.0000"
    low = float(run(["similarity", "the cat sat", "quantum chromodynamics lecture"]).stdout)
    mid = float(run(["similarity", "the cat sat", "the cat ran"]).stdout)
    assert low < mid < 1.0
    assert run(["similarity", "", "x"]).exit_code == 1


def test_similarity_with_hashing_model():
    result = run(["similarity", "North Korean IT workers", "North Korean IT workers", "--model", "hashing"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1.0000"


# --- the library ----------------------------------------------------------------


def test_query_function_returns_dataclasses(corpus):
    store = EmbeddingStore()
    embedder = Embedder(FakeModel(), store, progress=False)
    hits = query("The weather was nice in the capital.", embedder, list_pairs(corpus), n=2)
    assert all(isinstance(h, Hit) for h in hits)
    assert hits[0] == Hit("agency-fines", "response", 1, "The weather was nice in the capital.",
                          pytest.approx(1.0, abs=1e-5))
    assert len(hits) == 2
    assert similarity("a b", "a b", embedder) == pytest.approx(1.0, abs=1e-6)


def test_ties_keep_corpus_order(tmp_path):
    root = tmp_path / "corpus"
    add_pair(root, Pair(slug="b-pair", claim="Same words here.", response="Other thing."))
    add_pair(root, Pair(slug="a-pair", claim="Same words here. Filler text.", response="More."))
    embedder = Embedder(FakeModel(), EmbeddingStore(), progress=False)
    hits = query("Same words here.", embedder, list_pairs(root), n=2)
    assert [(h.pair, h.side, h.index) for h in hits] == [("a-pair", "claim", 0), ("b-pair", "claim", 0)]


def test_embed_texts_commits_in_chunks(tmp_path):
    store = EmbeddingStore()
    model = FakeModel()
    embedder = Embedder(model, store, progress=False)
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(50)]
    vectors = embed_texts(embedder, texts + texts[:5], chunk=16)
    assert vectors.shape == (55, model.dim)
    assert [len(c) for c in model.calls] == [16, 16, 16, 2]
    assert store.count(model.name) == 50
    assert np.allclose(vectors[50:], vectors[:5])


def test_embed_texts_leaves_the_cache_to_embedder_embed(tmp_path):
    """Regression: embed_texts had its own copy of the cache lookup of Embedder.embed."""
    store = EmbeddingStore()
    model = FakeModel()
    embedder = Embedder(model, store, progress=False)
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(50)]
    embedder.embed(texts[:16])  # the first chunk is cached already
    lookups = []
    get_many = store.get_many

    def counting(name, hashes):
        hashes = list(hashes)
        lookups.append(len(hashes))
        return get_many(name, hashes)

    store.get_many = counting
    vectors = embed_texts(embedder, texts, chunk=16)
    assert lookups == [16, 16, 16, 2]  # one lookup per embedder.embed call, none of its own
    assert [len(c) for c in model.calls] == [16, 16, 16, 2]  # the cached chunk is not re-encoded
    assert np.allclose(vectors, embedder.embed(texts))


def test_embed_texts_shows_one_bar_when_asked(capsys):
    embedder = Embedder(FakeModel(), EmbeddingStore(), progress=True)
    embed_texts(embedder, [f"text {i}" for i in range(100)], chunk=8)
    assert "embedding 100 sentences" in capsys.readouterr().err
    embed_texts(embedder, [f"few {i}" for i in range(10)], chunk=8)
    assert capsys.readouterr().err == ""  # too few to be worth a bar
    assert embedder.progress is True  # restored


def test_corpus_sentences_orders_and_filters(corpus):
    pairs = list_pairs(corpus)
    everything = corpus_sentences(pairs)
    assert [s.pair for s in everything] == sorted(s.pair for s in everything)
    assert {s.side for s in corpus_sentences(pairs, "claim")} == {"claim"}


# --- one store, models never mix ------------------------------------------------


def test_two_models_two_rows(tmp_path):
    store = EmbeddingStore(tmp_path / "e.db")
    text = "The same sentence for both models."
    Embedder(FakeModel(), store, progress=False).embed([text])
    Embedder(HashingModel(), store, progress=False).embed([text])
    assert store.count() == 2
    assert store.count("fake-bow") == 1 and store.count("hashing") == 1
    rows = store._db.execute("SELECT model, dim FROM embeddings WHERE hash = ?", (text_hash(text),)).fetchall()
    assert sorted(rows) == [("fake-bow", 64), ("hashing", 512)]


def test_vectors_of_another_size_under_the_same_name_are_recomputed(tmp_path):
    # Regression: a store holding rows of a 64-d "hashing" model next to the default
    # 512-d one made np.stack fail on the mixed lengths.
    store = EmbeddingStore(tmp_path / "e.db")
    old, new = "A sentence embedded long ago.", "A sentence embedded today."
    Embedder(HashingModel(dim=64), store, progress=False).embed([old])
    vectors = Embedder(HashingModel(), store, progress=False).embed([old, new])
    assert vectors.shape == (2, 512)
    np.testing.assert_allclose(vectors[0], HashingModel().encode([old])[0], atol=1e-6)
    again = Embedder(HashingModel(), store, progress=False).embed([old])
    assert again.shape == (1, 512)  # the stale row was replaced


def test_a_store_holding_only_rows_of_another_size_is_not_trusted(tmp_path):
    # Review finding: when every stored row had the old size, they were returned as they
    # were, and the next matrix product with fresh vectors crashed.
    store = EmbeddingStore(tmp_path / "e.db")
    texts = ["One sentence.", "Another sentence.", "One sentence."]
    Embedder(HashingModel(dim=64), store, progress=False).embed(texts)
    vectors = Embedder(HashingModel(), store, progress=False).embed(texts)
    assert vectors.shape == (3, 512)
    np.testing.assert_allclose(vectors, HashingModel().encode(texts), atol=1e-6)


def test_sizes_known_only_after_encoding_keep_the_fresh_size(tmp_path):
    store = EmbeddingStore(tmp_path / "e.db")
    Embedder(HashingModel(dim=64), store, progress=False).embed(["Stale row."])
    # Like a sentence-transformers model: no `dim` before it runs.
    model = HashingModel()
    unsized = type("Unsized", (), {"name": model.name, "encode": staticmethod(model.encode)})()
    vectors = Embedder(unsized, store, progress=False).embed(["Stale row.", "Fresh row."])
    assert vectors.shape == (2, 512)
    vectors = Embedder(unsized, store, progress=False).embed(["Stale row."])
    assert vectors.shape == (1, 512)


def test_query_never_reads_another_models_vectors(corpus):
    store = EmbeddingStore()
    # Plant wrong vectors under another model name for every corpus sentence.
    texts = [s.text for s in corpus_sentences(list_pairs(corpus))]
    rng = np.random.default_rng(0)
    store.put_many("hashing", {text_hash(t): rng.standard_normal(64).astype(np.float32) for t in texts})
    hits = query("Hackers stole virtual currency from a research firm.",
                 Embedder(FakeModel(), store, progress=False), list_pairs(corpus), n=1)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert store.count("fake-bow") == len(set(texts))  # the query is one of them
    assert store.count("hashing") == len(set(texts))  # the planted rows are untouched


def test_query_subprocess_with_hashing_model(tmp_path):
    root = tmp_path / "corpus"
    for slug, (claim, response) in PAIRS.items():
        add_pair(root, Pair(slug=slug, claim=claim, response=response))
    env = {**os.environ, "COMPARE_CORPUS": str(root), "COMPARE_CACHE": str(tmp_path / "cache")}
    code = (
        "import sys\n"
        "from compare.cli import cli\n"
        "try:\n"
        "    cli(['query', 'The cyber threat is a fabrication.', '-n', '2', '--model', 'hashing'],"
        " prog_name='compare')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    first = json.loads(lines[0])
    assert first["text"] == "The cyber threat is a fabrication." and first["score"] == pytest.approx(1.0, abs=1e-5)
    assert lines[-1] == "TORCH False"
    assert out.stderr == ""
