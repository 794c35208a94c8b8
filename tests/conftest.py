"""Shared fixtures: an isolated data directory and a fast fake embedder."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_PAIR = SHARED / "eval" / "pairs" / "00-dprk-it-workers.json"


class FakeModel:
    """Deterministic bag-of-words vectors: sentences sharing words are similar.

    Fast and torch-free, so unit tests exercise the real pipeline around it.
    """

    name = "fake-bow"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return out / norms


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Every test gets its own cache and corpus folders; nothing touches the user's."""
    base = tmp_path_factory.mktemp("compare-env")
    monkeypatch.setenv("COMPARE_CACHE", str(base / "cache"))
    monkeypatch.delenv("COMPARE_CORPUS", raising=False)
    monkeypatch.delenv("COMPARE_MODEL", raising=False)
    monkeypatch.delenv("COMPARE_MODELS_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return base


@pytest.fixture
def fake_model(monkeypatch):
    """Route every model lookup to the fake embedder."""
    model = FakeModel()
    monkeypatch.setattr("compare.embed.resolve_model", lambda name=None: model)
    return model


@pytest.fixture
def seed_pair():
    import json

    if not SEED_PAIR.exists():
        pytest.skip(f"shared eval data absent: {SEED_PAIR}")
    return json.loads(SEED_PAIR.read_text(encoding="utf-8"))
