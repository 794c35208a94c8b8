"""The corpus: one folder per statement pair, plain files a person can edit.

    corpus/<slug>/claim.txt      the claim document, UTF-8
    corpus/<slug>/response.txt   the response document, UTF-8
    corpus/<slug>/meta.json      title, claimant, respondent, date, sources, added
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CompareError

CLAIM_FILE = "claim.txt"
RESPONSE_FILE = "response.txt"
META_FILE = "meta.json"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


@dataclass
class Pair:
    slug: str
    claim: str
    response: str
    title: str = ""
    claimant: str = ""
    respondent: str = ""
    date: str = ""
    sources: list[str] = field(default_factory=list)
    added: str = ""
    path: Path | None = None

    def meta(self) -> dict:
        return {
            "title": self.title,
            "claimant": self.claimant,
            "respondent": self.respondent,
            "date": self.date,
            "sources": list(self.sources),
            "added": self.added,
        }


def corpus_dir(option: str | os.PathLike | None = None) -> Path:
    """--corpus, else $COMPARE_CORPUS, else ./corpus."""
    return Path(option or os.environ.get("COMPARE_CORPUS") or "corpus")


def validate_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug or ""):
        raise CompareError(
            f"invalid slug {slug!r}: use lowercase letters, digits and hyphens "
            "(start with a letter or digit, at most 80 characters)"
        )
    return slug


def read_text_file(path: Path, what: str, encoding: str = "utf-8") -> str:
    """Read a user's document, refusing what we cannot read faithfully."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CompareError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise CompareError(f"{what} path is a folder, not a file: {path}") from None
    except OSError as exc:
        raise CompareError(f"cannot read {what} file {path}: {exc.strerror}") from None
    return decode_text(data, f"{what} file {path}", encoding)


def decode_text(data: bytes, what: str, encoding: str = "utf-8") -> str:
    if b"\x00" in data[:8192]:
        raise CompareError(f"{what} looks binary (it contains NUL bytes): give a plain text file")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CompareError(
            f"{what} is not valid {encoding} (byte {exc.start}): convert it to UTF-8, "
            "or pass --encoding with its real encoding (e.g. --encoding cp1252)"
        ) from None
    except LookupError:
        raise CompareError(f"unknown encoding {encoding!r}: use a name such as utf-8 or cp1252") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise CompareError(f"{what} is empty: give a document with text in it")
    return text


def load_pair(slug: str, root: Path) -> Pair:
    folder = root / slug
    if not SLUG_RE.fullmatch(slug) or not folder.is_dir():
        known = ", ".join(p.slug for p in list_pairs(root)) or "none"
        raise CompareError(
            f"no pair {slug!r} in corpus {root}: known pairs: {known} "
            "(run `compare list`, or pass --corpus)"
        )
    meta_path = folder / META_FILE
    meta: dict = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CompareError(f"{meta_path} is not valid JSON ({exc}): fix or remove it") from None
    sources = meta.get("sources", meta.get("source", []))
    if isinstance(sources, str):
        sources = [sources] if sources else []
    return Pair(
        slug=slug,
        claim=read_text_file(folder / CLAIM_FILE, "claim"),
        response=read_text_file(folder / RESPONSE_FILE, "response"),
        title=str(meta.get("title", "")),
        claimant=str(meta.get("claimant", "")),
        respondent=str(meta.get("respondent", "")),
        date=str(meta.get("date", "")),
        sources=[str(s) for s in sources],
        added=str(meta.get("added", "")),
        path=folder,
    )


def list_pairs(root: Path) -> list[Pair]:
    """Every complete pair in the corpus, by slug; half-written folders are skipped."""
    if not root.is_dir():
        return []
    pairs = []
    for folder in sorted(root.iterdir()):
        if (
            folder.is_dir()
            and SLUG_RE.fullmatch(folder.name)
            and (folder / CLAIM_FILE).is_file()
            and (folder / RESPONSE_FILE).is_file()
        ):
            pairs.append(load_pair(folder.name, root))
    return pairs
