"""compare: put a statement and its rebuttal side by side.

Public API::

    from compare import match, segment
    alignment = match(claim_text, response_text)
    alignment.to_dict()

Heavy dependencies (torch, sentence-transformers) load only when embeddings
are computed, so importing this package stays fast.
"""

from __future__ import annotations

from .errors import CompareError
from .segment import Sentence, segment

__all__ = ["Alignment", "CompareError", "Sentence", "match", "segment"]
try:  # one source of truth: the version in pyproject.toml
    from importlib.metadata import version as _version

    __version__ = _version("compare")
except Exception:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str):
    # Lazy so that `import compare` does not pull numpy-heavy matching code
    # into commands (list, add, --help) that never need it.
    if name in ("Alignment", "match"):
        from . import align as _match_module

        return getattr(_match_module, name)
    raise AttributeError(name)
