"""Many processes at once, and processes killed mid-way: the corpus and the store stay whole."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from compare.corpus import list_pairs, load_pair
from compare.store import EmbeddingStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


@pytest.fixture
def env(tmp_path):
    corpus = tmp_path / "corpus"
    cache = tmp_path / "cache"
    e = {**os.environ, "COMPARE_CORPUS": str(corpus), "COMPARE_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    e.pop("COMPARE_TEST_PAUSE_AFTER_WRITE", None)
    e.pop("COMPARE_MODEL", None)
    return e


def compare_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "compare", *args]


def write_docs(folder: Path, tag: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    c = folder / f"{tag}-claim.txt"
    r = folder / f"{tag}-response.txt"
    c.write_text(f"Claim {tag} says the agency acted. It seized {tag} domains.\n", encoding="utf-8")
    r.write_text(f"Response {tag} denies it all. Nothing about {tag} is true.\n", encoding="utf-8")
    return c, r


def corpus_listing(env) -> list[dict]:
    out = subprocess.run(compare_cmd("list", "--format", "json"), env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def spawn_add(env, slug, claim, response, *extra, pause=None, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL):
    """Start `compare add SLUG` in its own process, optionally pausing before the rename."""
    run_env = {**env, "COMPARE_TEST_PAUSE_AFTER_WRITE": str(pause)} if pause is not None else env
    return subprocess.Popen(
        compare_cmd("add", slug, *extra, "--claim", str(claim), "--response", str(response)),
        env=run_env, stdout=stdout, stderr=stderr, text=True,
    )


def test_ten_concurrent_adds_all_land(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    procs = []
    for i in range(10):
        c, r = write_docs(tmp_path / "docs", f"n{i}")
        procs.append(spawn_add(env, f"pair-{i}", c, r, "--title", f"Pair {i}", pause=0.3,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert err == ""
    assert sorted(os.listdir(corpus)) == [f"pair-{i}" for i in range(10)]  # no leftovers
    listing = corpus_listing(env)
    assert [d["slug"] for d in listing] == [f"pair-{i}" for i in range(10)]
    for i in range(10):
        pair = load_pair(f"pair-{i}", corpus)
        assert pair.title == f"Pair {i}"
        assert f"n{i}" in pair.claim and f"n{i}" in pair.response


def test_concurrent_adds_of_one_slug_exactly_one_wins(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    procs = []
    for i in range(5):
        c, r = write_docs(tmp_path / "docs", f"v{i}")
        procs.append(spawn_add(env, "contested", c, r, pause=0.5,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    winners = [i for i, (rc, _) in enumerate(results) if rc == 0]
    assert len(winners) == 1, results
    for rc, err in results:
        if rc != 0:
            assert "already exists" in err and "Traceback" not in err
    pair = load_pair("contested", corpus)
    tag = f"v{winners[0]}"
    assert tag in pair.claim and tag in pair.response
    assert os.listdir(corpus) == ["contested"]


def test_concurrent_force_replacements_never_show_a_missing_pair(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    c, r = write_docs(tmp_path / "docs", "v0")
    subprocess.run(compare_cmd("add", "hot", "--claim", str(c), "--response", str(r)), env=env,
                   check=True, capture_output=True, timeout=120)
    valid_claims = {c.read_text(encoding="utf-8")}
    valid_responses = {r.read_text(encoding="utf-8")}
    stop = threading.Event()
    problems: list[str] = []
    crashes: list[str] = []
    rounds = [0]

    def reader():
        # Anything the loop raises is collected: a dead reader must fail the test,
        # not leave `problems` empty.
        try:
            while not stop.is_set():
                rounds[0] += 1
                slugs = [p.slug for p in list_pairs(corpus)]
                if slugs != ["hot"]:
                    problems.append(f"listing {slugs}")
                try:
                    claim = (corpus / "hot" / "claim.txt").read_text(encoding="utf-8")
                    response = (corpus / "hot" / "response.txt").read_text(encoding="utf-8")
                except OSError as exc:
                    problems.append(f"read {exc}")
                    continue
                if claim not in valid_claims or response not in valid_responses:
                    problems.append(f"partial content {claim!r} {response!r}")
        except BaseException:
            import traceback

            crashes.append(traceback.format_exc())

    procs = []
    for i in range(1, 6):
        c, r = write_docs(tmp_path / "docs", f"v{i}")
        valid_claims.add(c.read_text(encoding="utf-8"))
        valid_responses.add(r.read_text(encoding="utf-8"))
        procs.append(spawn_add(env, "hot", c, r, "--force", pause=0.2, stderr=subprocess.PIPE))
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    finally:
        stop.set()
        thread.join()
    assert crashes == []
    assert problems == []
    assert rounds[0] > 0
    assert os.listdir(corpus) == ["hot"]


def _wait_for(predicate, timeout=30.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_kill_9_during_add_leaves_no_partial_pair(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    c, r = write_docs(tmp_path / "docs", "kill")
    proc = spawn_add(env, "victim", c, r, pause=60)
    try:
        # Wait until every file is written into the temporary folder, then kill.
        assert _wait_for(lambda: corpus.is_dir() and any(
            (t / "meta.json").exists() for t in corpus.iterdir() if t.name.startswith(".tmp-")))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (corpus / "victim").exists()
    assert corpus_listing(env) == []
    # The slug is still free, and adding it again works.
    out = subprocess.run(compare_cmd("add", "victim", "--claim", str(c), "--response", str(r)),
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [d["slug"] for d in corpus_listing(env)] == ["victim"]


def test_kill_9_during_force_replace_keeps_the_old_pair(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    c0, r0 = write_docs(tmp_path / "docs", "old")
    subprocess.run(compare_cmd("add", "keep", "--claim", str(c0), "--response", str(r0)), env=env,
                   check=True, capture_output=True, timeout=120)
    c1, r1 = write_docs(tmp_path / "docs", "new")
    proc = spawn_add(env, "keep", c1, r1, "--force", pause=60)
    try:
        assert _wait_for(lambda: any(
            (t / "meta.json").exists() for t in corpus.iterdir() if t.name.startswith(".tmp-")))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    pair = load_pair("keep", corpus)
    assert "old" in pair.claim and "old" in pair.response
    assert [d["slug"] for d in corpus_listing(env)] == ["keep"]


def test_kill_9_at_random_moments_during_add(tmp_path, env):
    corpus = Path(env["COMPARE_CORPUS"])
    rng = random.Random(1234)
    expected = {}
    killed_during_write = []
    for i in range(8):
        c, r = write_docs(tmp_path / "docs", f"r{i}")
        slug = f"rand-{i}"
        expected[slug] = (c.read_text(encoding="utf-8"), r.read_text(encoding="utf-8"))
        mid_write = i % 2 == 1  # every other kill lands while the pair is being written
        proc = spawn_add(env, slug, c, r, pause=1.0 if mid_write else None)

        def tmp_folders():
            return corpus.is_dir() and any(t.name.startswith(f".tmp-{slug}-") for t in corpus.iterdir())

        if mid_write:
            assert _wait_for(lambda: tmp_folders() or proc.poll() is not None, timeout=60, interval=0.002)
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            time.sleep(rng.uniform(0.0, 0.8))
        if proc.poll() is None and tmp_folders():
            killed_during_write.append(slug)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for entry in corpus_listing(env):
            claim, response = expected[entry["slug"]]
            pair = load_pair(entry["slug"], corpus)
            assert (pair.claim, pair.response) == (claim, response)
            assert json.loads((corpus / entry["slug"] / "meta.json").read_text(encoding="utf-8"))
    # Kills that hit the write itself, not just a Python still starting up.
    assert len(killed_during_write) >= 3, killed_during_write
    listed = {entry["slug"] for entry in corpus_listing(env)}
    assert not listed & set(killed_during_write)
    for slug in killed_during_write:
        assert not (corpus / slug).exists()


# --- the embedding store ----------------------------------------------------------


def _make_big_corpus(root: Path, pairs: int = 24, sentences: int = 250) -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(4000)]
    for p in range(pairs):
        folder = root / f"pair-{p:03d}"
        folder.mkdir(parents=True)
        for name in ("claim.txt", "response.txt"):
            lines = [" ".join(rng.choice(words) for _ in range(10)).capitalize() + "." for _ in range(sentences)]
            (folder / name).write_text(" ".join(lines) + "\n", encoding="utf-8")
        (folder / "meta.json").write_text('{"title": "generated"}\n', encoding="utf-8")


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM embeddings WHERE model = 'hashing'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_kill_9_during_embedding_leaves_a_sound_store(tmp_path, env):
    _make_big_corpus(Path(env["COMPARE_CORPUS"]))
    args = compare_cmd("query", "w12 w7 w3000 w5 w99", "-n", "5", "--model", "hashing")
    clean = subprocess.run(args, env={**env, "COMPARE_CACHE": str(tmp_path / "clean-cache")},
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    total = _rows(tmp_path / "clean-cache" / "embeddings.db")

    db = Path(env["COMPARE_CACHE"]) / "embeddings.db"
    killed_mid_way = False
    for _attempt in range(3):
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: _rows(db) > 0 or proc.poll() is not None, timeout=120, interval=0.005)
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        stored = _rows(db)
        if still_running and stored < total:
            killed_mid_way = True
            break
        db.unlink(missing_ok=True)  # finished too fast: start over with an empty store
    assert killed_mid_way, "the query finished before it could be killed"

    with EmbeddingStore(db) as store:
        assert store.integrity_check() == "ok"
        assert 0 < store.count("hashing") < total
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout == clean.stdout
    with EmbeddingStore(db) as store:
        assert store.integrity_check() == "ok"
        assert store.count("hashing") == total


def test_concurrent_first_open_of_a_new_store(tmp_path):
    db = tmp_path / "fresh" / "embeddings.db"
    start = time.time() + 1.5
    script = (
        "import sys, time, numpy as np\n"
        "from compare.store import EmbeddingStore\n"
        f"time.sleep(max(0, {start} - time.time()))\n"
        "k = int(sys.argv[1])\n"
        f"s = EmbeddingStore({str(db)!r})\n"
        "for batch in range(5):\n"
        "    s.put_many('m', {f'{k}-{batch}-{i}': np.full(8, k, dtype=np.float32) for i in range(50)})\n"
        "    s.get_many('m', [f'{k}-0-0'])\n"
        "s.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k)], stderr=subprocess.PIPE, text=True)
             for k in range(12)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with EmbeddingStore(db) as store:
        assert store.count("m") == 12 * 5 * 50
        assert store.integrity_check() == "ok"
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_queries_share_one_store(tmp_path, env):
    _make_big_corpus(Path(env["COMPARE_CORPUS"]), pairs=6, sentences=120)
    args = compare_cmd("query", "w1 w2 w3", "-n", "3", "--model", "hashing")
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outputs.append(out)
    assert len(set(outputs)) == 1 and outputs[0].count("\n") == 3
    with EmbeddingStore(Path(env["COMPARE_CACHE"]) / "embeddings.db") as store:
        assert store.integrity_check() == "ok"
