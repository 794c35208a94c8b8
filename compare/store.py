"""The embedding store: one SQLite file shared by reports and queries.

Rows are keyed by (model, sha256 of the text), so vectors of different models
never mix and an unchanged sentence is never embedded twice. WAL mode and
short transactions let several `compare` processes read and write at once;
a process killed mid-write leaves the previous committed state intact.
Every connection waits for a busy writer (busy_timeout) instead of failing, and
the first-open steps (switching a new file to WAL, creating the table) are
retried, because SQLite can report "database is locked" there without waiting.
synchronous=NORMAL keeps the file sound through crashes; a power cut may only
drop the last few committed batches, which are recomputed on the next run.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import CompareError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
) WITHOUT ROWID;
"""

_BUSY_SECONDS = 60.0


def _is_busy(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def cache_dir() -> Path:
    """Where the store lives: $COMPARE_CACHE, else the user's cache folder."""
    env = os.environ.get("COMPARE_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("compare"))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingStore:
    """Content-addressed vectors in SQLite."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else cache_dir() / "embeddings.db"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise CompareError(
                f"cannot open the embedding store {self.path}: {exc}; "
                "set COMPARE_CACHE to a writable folder"
            ) from None
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            hint = (
                "another process holds it locked; try again"
                if _is_busy(exc)
                else "it is damaged or not an embedding store: delete it (it is only a cache) "
                "or set COMPARE_CACHE to another folder"
            )
            raise CompareError(f"cannot open the embedding store {self.path}: {exc}; {hint}") from None

    def _setup(self) -> None:
        # busy_timeout makes every statement wait for a writer instead of failing at once.
        self._db.execute(f"PRAGMA busy_timeout = {int(_BUSY_SECONDS * 1000)}")
        # Switching to WAL needs an exclusive lock, and SQLite may answer "database is
        # locked" without calling the busy handler when several processes open a new
        # store at the same moment; so retry the first-open steps for a while.
        deadline = time.monotonic() + _BUSY_SECONDS
        delay = 0.01
        while True:
            try:
                mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "EmbeddingStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT hash, dim, vector FROM embeddings WHERE model = ? AND hash IN ({marks})",
                [model, *chunk],
            )
            for h, dim, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:
                    found[h] = vec
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = [
            (model, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for h, v in items.items()
        ]
        if not rows:
            return
        # One short write transaction: either every vector of this batch lands, or
        # none. BEGIN IMMEDIATE takes the write lock up front (waiting up to
        # busy_timeout), so two writers never deadlock on a lock upgrade.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, hash, dim, vector) VALUES (?, ?, ?, ?)",
                rows,
            )
        except BaseException:
            if self._db.in_transaction:  # SQLite may already have rolled back (disk full)
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def integrity_check(self) -> str:
        """SQLite's own check: 'ok' when the file is sound."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        return self._db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)
        ).fetchone()[0]
