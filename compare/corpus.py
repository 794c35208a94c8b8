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
from typing import Callable

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


#: The largest document read from a file or stdin; a statement is kilobytes,
#: and an endless source (/dev/zero, a runaway pipe) must not eat the memory.
MAX_DOCUMENT_BYTES = 50_000_000


def read_limited(stream, what: str) -> bytes:
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CompareError(f"{what} is larger than {MAX_DOCUMENT_BYTES // 1_000_000} MB: "
                           "give the statement itself, not a whole archive")
    return data


def read_text_file(path: Path, what: str, encoding: str = "utf-8") -> str:
    """Read a user's document, refusing what we cannot read faithfully."""
    try:
        with open(path, "rb") as fh:
            data = read_limited(fh, f"{what} file {path}")
    except FileNotFoundError:
        raise CompareError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise CompareError(f"{what} path is a folder, not a file: {path}") from None
    except OSError as exc:
        raise CompareError(f"cannot read {what} file {path}: {exc.strerror}") from None
    return decode_text(data, f"{what} file {path}", encoding)


def _wide_encoding(encoding: str) -> bool:
    """UTF-16 and UTF-32 text is full of NUL bytes: it cannot be judged before decoding."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name.startswith(("utf-16", "utf-32"))


def decode_text(data: bytes, what: str, encoding: str = "utf-8") -> str:
    binary = CompareError(f"{what} looks binary (it contains NUL bytes): give a plain text file")
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        # A UTF-8 byte-order mark says what the bytes are, whatever --encoding says (with one
        # --encoding for both documents, the other may need it).
        encoding = "utf-8"
    if not _wide_encoding(encoding) and b"\x00" in data[:8192]:
        raise binary
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if bom:
            raise CompareError(
                f"{what} starts with a UTF-8 byte-order mark but byte {exc.start} is not UTF-8: "
                "save it again as UTF-8 (or without the mark, in its real encoding)"
            ) from None
        raise CompareError(
            f"{what} is not valid {encoding} (byte {exc.start}): convert it to UTF-8, "
            "or pass --encoding with its real encoding (e.g. --encoding cp1252)"
        ) from None
    except LookupError:
        raise CompareError(f"unknown encoding {encoding!r}: use a name such as utf-8 or cp1252") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise binary
    if not text.strip():
        raise CompareError(f"{what} is empty: give a document with text in it")
    return text


def _meta_text(meta: dict, key: str, meta_path: Path) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise CompareError(
            f"{meta_path}: {key!r} must be text, not {type(value).__name__}: fix or remove it"
        )
    return str(value)


def load_pair(slug: str, root: Path) -> Pair:
    folder = root / slug
    if not SLUG_RE.fullmatch(slug) or not folder.is_dir():
        # Folder names only: reading every pair here would let one broken pair
        # replace this message with its own error.
        known = ", ".join(pair_slugs(root)) or "none"
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
        if not isinstance(meta, dict):
            raise CompareError(
                f"{meta_path} must hold a JSON object such as {{\"title\": \"...\"}}, "
                f"not a {type(meta).__name__}: fix or remove it"
            )
    sources = meta.get("sources", meta.get("source"))
    if sources is None:
        sources = []
    elif isinstance(sources, str):
        sources = [sources] if sources else []
    elif not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
        raise CompareError(
            f"{meta_path}: 'sources' must be a list of URLs or names (strings): fix or remove it"
        )
    return Pair(
        slug=slug,
        claim=read_text_file(folder / CLAIM_FILE, "claim"),
        response=read_text_file(folder / RESPONSE_FILE, "response"),
        title=_meta_text(meta, "title", meta_path),
        claimant=_meta_text(meta, "claimant", meta_path),
        respondent=_meta_text(meta, "respondent", meta_path),
        date=_meta_text(meta, "date", meta_path),
        sources=list(sources),
        added=_meta_text(meta, "added", meta_path),
        path=folder,
    )


def _is_pair_folder(folder: Path) -> bool:
    return (
        folder.is_dir()
        and SLUG_RE.fullmatch(folder.name) is not None
        and (folder / CLAIM_FILE).is_file()
        and (folder / RESPONSE_FILE).is_file()
    )


def pair_slugs(root: Path) -> list[str]:
    """Slugs of the complete pair folders, sorted, without reading any file."""
    if not root.is_dir():
        return []
    return [folder.name for folder in sorted(root.iterdir()) if _is_pair_folder(folder)]


def list_pairs(root: Path, on_error: Callable[[str], None] | None = None) -> list[Pair]:
    """Every complete pair in the corpus, by slug; half-written folders are skipped.

    A pair damaged by hand (bad meta.json, a non-UTF-8 file) raises, unless
    `on_error` is given: then it is reported there and skipped, so one broken
    folder does not hide the rest of the corpus.
    """
    pairs = []
    for slug in pair_slugs(root):
        try:
            pairs.append(load_pair(slug, root))
        except CompareError as exc:
            if on_error is None:
                raise
            on_error(f"skipped pair {slug!r}: {exc}")
    return pairs


# ---------------------------------------------------------------------------
# Adding pairs: whole or not at all.
#
# A pair is written into a hidden temporary folder inside the corpus
# (.tmp-SLUG-XXXXXX), every file fsynced, then renamed into place in one step.
# Readers (list_pairs) skip hidden folders, so a process killed at any moment
# leaves either the old corpus or the new pair, never half a pair. Stale
# temporary folders are removed by later `add`s.

TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
STALE_SECONDS = 15 * 60
_PAUSE_ENV = "COMPARE_TEST_PAUSE_AFTER_WRITE"


def meta_json(meta: dict) -> str:
    """meta.json as written: indent 2, sorted keys, UTF-8 text, trailing newline."""
    return json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def now_iso() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def content_hash(text: str) -> str:
    """Hash of a document with its whitespace normalized, for spotting duplicates."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


@dataclass
class AddResult:
    path: Path
    replaced: bool = False
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what --force carried over from the old folder


#: The `add` option that sets each meta.json field.
OPTION_OF = {"sources": "each --source", "source": "--source"}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _carry_over(old: Path, new: Path, meta: dict) -> tuple[list[str], list[str]]:
    """Copy what the user put into a pair folder by hand (other files, meta.json keys
    that `add` does not write) into its replacement, so --force replaces the texts and
    their metadata, never the user's own notes. Everything copied is fsynced before the
    caller swaps the folders and deletes the old one. Returns (what was kept, warnings)."""
    import shutil
    import stat

    kept: list[str] = []
    warnings: list[str] = []
    for entry in sorted(old.iterdir()):
        if entry.name in (CLAIM_FILE, RESPONSE_FILE, META_FILE):
            continue
        mode = entry.lstat().st_mode
        target = new / entry.name
        try:
            if stat.S_ISLNK(mode) or stat.S_ISREG(mode):
                shutil.copy2(entry, target, follow_symlinks=False)
            elif stat.S_ISDIR(mode):
                shutil.copytree(entry, target, symlinks=True, ignore=_special_files)
            else:  # a pipe, socket or device: nothing to copy
                warnings.append(f"not kept from the replaced pair: {entry.name} (not a file or folder)")
                continue
        except (OSError, shutil.Error) as exc:
            # Replacing the folder would delete what cannot be copied: refuse instead.
            why = getattr(exc, "strerror", None) or "it could not be copied"
            raise CompareError(
                f"cannot keep {entry} from the pair being replaced ({why}): move it out of "
                f"{old} or make it readable, then run the command again"
            ) from None
        kept.append(entry.name)
    try:
        old_meta = json.loads((old / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        old_meta = {}
    except (OSError, ValueError) as exc:
        old_meta = None
        warnings.append(f"could not read the replaced {META_FILE} ({exc}): its extra keys are not kept")
    if isinstance(old_meta, dict):
        # What `add` writes is replaced, not merged: say which stored values that drops (a
        # hand-written "source" note included: "sources" replaces it).
        cleared = [k for k in meta if k != "added" and not meta.get(k) and old_meta.get(k)]
        if "source" in old_meta and old_meta["source"] and "sources" not in cleared:
            cleared.append("source")
        if cleared:
            options = [OPTION_OF.get(k, "--" + k) for k in cleared]
            warnings.append(
                f"the replaced pair's {_and(cleared)} {'is' if len(cleared) == 1 else 'are'} now "
                f"empty: give {_and(options)} again to keep {'it' if len(cleared) == 1 else 'them'}")
        extra = {k: v for k, v in old_meta.items() if k not in meta and k != "source"}
        if extra:
            _write_file(new / META_FILE, meta_json({**meta, **extra}))
            kept += [f"{META_FILE}: {k}" for k in extra]
    elif old_meta is not None:
        warnings.append(f"the replaced {META_FILE} was not a JSON object: its contents are not kept")
    if kept:
        _fsync_tree(new)
    return kept, warnings


def _special_files(folder: str, names: list[str]) -> list[str]:
    """copytree ignore-callback: leave out pipes, sockets and devices."""
    import stat

    return [n for n in names
            if not (stat.S_ISREG(m := os.lstat(os.path.join(folder, n)).st_mode)
                    or stat.S_ISDIR(m) or stat.S_ISLNK(m))]


def _fsync_tree(root: Path) -> None:
    """fsync every regular file and folder under root (symlinks are not followed)."""
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a folder; the rename is still atomic
    finally:
        os.close(fd)


def _write_file(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


class _CorpusLock:
    """An exclusive flock on the corpus folder itself (no lock file to clean up).

    Held only around the check-and-rename step of `add`, so concurrent adds never
    both claim one slug or both miss each other's duplicate. The kernel drops it
    when a process dies, so a killed `add` cannot leave it held.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd: int | None = None

    def __enter__(self) -> "_CorpusLock":
        try:
            import fcntl
        except ImportError:  # not POSIX: renames are still atomic, checks are best-effort
            return self
        self.fd = os.open(self.root, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    import errno

    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EINVAL)):
        return False  # old kernel or a filesystem without the flag: fall back
    raise OSError(err, os.strerror(err), str(b))


def cleanup_stale(root: Path, max_age: float = STALE_SECONDS) -> None:
    """Remove temporary folders left by killed `add`s, once they are old enough.

    A `.old-SLUG-*` folder (the previous version of a pair being replaced without
    an atomic swap) is put back if its pair went missing, so nothing is lost.
    """
    import shutil
    import time

    if not root.is_dir():
        return
    now = time.time()
    for entry in root.iterdir():
        name = entry.name
        if not (name.startswith(TMP_PREFIX) or name.startswith(OLD_PREFIX)) or not entry.is_dir():
            continue
        try:
            if now - entry.stat().st_mtime < max_age:
                continue
            if name.startswith(OLD_PREFIX):
                slug = name[len(OLD_PREFIX) :].rsplit("-", 2)[0]
                if SLUG_RE.fullmatch(slug) and not (root / slug).exists():
                    os.rename(entry, root / slug)
                    continue
            shutil.rmtree(entry)
        except OSError:
            pass  # another process got there first, or it is in use: leave it


def _read_hashes(folder: Path) -> tuple[str | None, str | None]:
    out = []
    for name in (CLAIM_FILE, RESPONSE_FILE):
        try:
            out.append(content_hash((folder / name).read_bytes().decode("utf-8", "replace")))
        except OSError:
            out.append(None)
    return out[0], out[1]


def find_duplicates(root: Path, claim: str, response: str, exclude: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """Slugs of pairs with the same (claim and response, claim only, response only)."""
    ch, rh = content_hash(claim), content_hash(response)
    both, same_claim, same_response = [], [], []
    if not root.is_dir():
        return both, same_claim, same_response
    for folder in sorted(root.iterdir()):
        if folder.name == exclude or not SLUG_RE.fullmatch(folder.name) or not folder.is_dir():
            continue
        c, r = _read_hashes(folder)
        if c == ch and r == rh:
            both.append(folder.name)
        elif c == ch:
            same_claim.append(folder.name)
        elif r == rh:
            same_response.append(folder.name)
    return both, same_claim, same_response


def add_pair(root: Path, pair: Pair, force: bool = False) -> AddResult:
    """Write PAIR into the corpus at ROOT as one atomic step.

    Refuses an existing slug unless FORCE (which swaps the new folder in, then
    removes the old one, keeping the files and meta.json keys a user added to it by
    hand) and an exact duplicate of another pair unless FORCE;
    a pair sharing only its claim or only its response is added with a warning.
    """
    import shutil
    import tempfile
    import time

    slug = validate_slug(pair.slug)
    for what, text in (("claim", pair.claim), ("response", pair.response)):
        if not text.strip():
            raise CompareError(f"the {what} is empty: give a document with text in it")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CompareError(f"cannot create the corpus folder {root}: {exc.strerror}") from None
    if not root.is_dir():
        raise CompareError(f"the corpus path {root} is not a folder")
    cleanup_stale(root)
    final = root / slug
    if final.exists() and not force:  # early answer; re-checked under the lock
        raise CompareError(f"pair {slug!r} already exists in {root}: pass --force to replace it")

    meta = pair.meta()
    meta["added"] = meta.get("added") or now_iso()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{slug}-", dir=root))
    except OSError as exc:
        raise CompareError(f"cannot write in the corpus folder {root}: {exc.strerror}") from None
    result = AddResult(path=final)
    try:
        os.chmod(tmp, 0o755)
        _write_file(tmp / CLAIM_FILE, pair.claim if pair.claim.endswith("\n") else pair.claim + "\n")
        _write_file(tmp / RESPONSE_FILE, pair.response if pair.response.endswith("\n") else pair.response + "\n")
        _write_file(tmp / META_FILE, meta_json(meta))
        _fsync_dir(tmp)
        pause = os.environ.get(_PAUSE_ENV)
        if pause:  # test-only: widen the window between writing and renaming
            time.sleep(float(pause))
        with _CorpusLock(root):
            both, same_claim, same_response = find_duplicates(root, pair.claim, pair.response, exclude=slug)
            if both:
                msg = f"the same claim and response are already in the corpus as {', '.join(both)}"
                if not force:
                    raise CompareError(msg + ": not added (pass --force to add it anyway)")
                result.warnings.append(msg)
            if same_claim:
                result.warnings.append(f"the same claim is already in the corpus as {', '.join(same_claim)}")
            if same_response:
                result.warnings.append(f"the same response is already in the corpus as {', '.join(same_response)}")
            if final.exists() or final.is_symlink():
                if not force:
                    raise CompareError(f"pair {slug!r} already exists in {root}: pass --force to replace it")
                if final.is_symlink() or not final.is_dir():
                    raise CompareError(f"{final} is not a pair folder: move it away first")
                result.replaced = True
                result.kept, carry_warnings = _carry_over(final, tmp, meta)
                result.warnings += carry_warnings
                if _exchange(tmp, final):
                    # tmp now holds the old version: the new one is in place.
                    _fsync_dir(root)
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    import secrets

                    old = root / f"{OLD_PREFIX}{slug}-{os.getpid()}-{secrets.token_hex(4)}"
                    os.rename(final, old)  # put back by cleanup_stale if we die right here
                    os.rename(tmp, final)
                    _fsync_dir(root)
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, final)
                _fsync_dir(root)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CompareError(f"cannot write pair {slug!r} in {root}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result
