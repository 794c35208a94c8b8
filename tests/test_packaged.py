"""Assembling a model that ships as a zip archive split across packages."""

from __future__ import annotations

import errno
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
    folder = tmp_path / "parts"
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(parts):
        path = folder / f"model.zip.{i + 1:03d}"
        path.write_bytes(blob[i * size : (i + 1) * size])
        paths.append(path)
    return paths


def _whole(parts) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


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


def test_assemble_unpacks_only_the_model_from_the_parts_and_checks_it(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS, _whole(parts))
    assert (target / "model.safetensors").read_bytes() == FILES["m/model.safetensors"]
    assert (target / "1_Pooling" / "config.json").read_bytes() == b"{}"
    assert packaged.is_complete(target, SUMS)
    assert not (target / "desktop.ini").exists()
    assert not list(target.rglob("readme.txt"))
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [".lock", "m"]  # no leftovers


def test_a_checksum_mismatch_installs_nothing_and_keeps_the_old_folder(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = tmp_path / "models" / "m"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("old")
    with pytest.raises(CompareError, match="model.safetensors .*does not match"):
        packaged.assemble(parts, target, "m", {**SUMS, "model.safetensors": "0" * 64})
    assert (target / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [".lock", "m"]


def test_an_incomplete_folder_is_replaced_and_a_complete_one_kept(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = tmp_path / "models" / "m"
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"half")  # a copy some earlier run left
    packaged.assemble(parts, target, "m", SUMS, _whole(parts))
    assert (target / "model.safetensors").read_bytes() == FILES["m/model.safetensors"]
    # Complete now: a second run returns at once, without even reading the parts.
    assert packaged.assemble(parts, target, "m", SUMS, "not the archive's checksum") == target


def test_a_damaged_or_outdated_copy_is_no_longer_complete(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    target = packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS)
    assert packaged.is_complete(target, SUMS)
    assert not packaged.is_complete(target, {**SUMS, "model.safetensors": "1" * 64})  # new pins
    with (target / "model.safetensors").open("ab") as fh:
        fh.write(b"!")
    assert not packaged.is_complete(target, SUMS)


def test_leftovers_of_a_killed_run_are_cleared(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    stale = tmp_path / "models" / ".m.abc123"
    (stale / "m").mkdir(parents=True)
    (stale / "m" / "model.safetensors").write_bytes(b"x" * 100)
    packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS)
    assert not stale.exists()


def test_parts_out_of_order_are_refused_before_unpacking(tmp_path):
    parts = _split_archive(tmp_path, FILES)
    with pytest.raises(CompareError, match="do not join"):
        packaged.assemble(list(reversed(parts)), tmp_path / "models" / "m", "m", SUMS, _whole(parts))
    assert not (tmp_path / "models" / "m").exists()


def test_parts_that_are_no_zip_are_a_clear_error(tmp_path):
    (tmp_path / "a.zip.001").write_bytes(b"not a zip at all")
    with pytest.raises(CompareError, match="valid zip"):
        packaged.assemble([tmp_path / "a.zip.001"], tmp_path / "models" / "m", "m", SUMS)


def test_an_unsafe_path_in_the_archive_is_refused(tmp_path):
    parts = _split_archive(tmp_path, {**FILES, "m/../evil.txt": b"x"})
    with pytest.raises(CompareError, match="unsafe path"):
        packaged.assemble(parts, tmp_path / "models" / "m", "m", SUMS)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (tmp_path / "models" / "m").exists()


@pytest.mark.parametrize("name", ["m/../x", "m//etc/x", "m/C:x", "m/..\\x", "m/"])
def test_member_names_that_could_leave_the_folder_are_unsafe(name):
    assert packaged._safe_relative(name, "m/") is None
    assert packaged._safe_relative("m/1_Pooling/config.json", "m/").parts == ("1_Pooling", "config.json")


def _fake_mpnet(monkeypatch, tmp_path, roots):
    parts = _split_archive(tmp_path, {k.replace("m/", f"{packaged.MPNET_FOLDER}/"): v for k, v in FILES.items()})
    monkeypatch.setattr(packaged, "mpnet_parts", lambda: parts)
    monkeypatch.setattr(packaged, "MPNET_SHA256", SUMS)
    monkeypatch.setattr(packaged, "MPNET_ARCHIVE_SHA256", _whole(parts))
    monkeypatch.setattr(packaged, "models_dirs", lambda: roots)


def test_assemble_mpnet_skips_a_folder_it_cannot_use(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    _fake_mpnet(monkeypatch, tmp_path, [blocked, tmp_path / "second"])
    path = packaged.assemble_mpnet()
    assert path == tmp_path / "second" / packaged.MPNET_FOLDER
    assert packaged.mpnet_path() == path


def test_a_full_disk_is_a_one_line_error_that_says_what_to_do(tmp_path, monkeypatch, capsys):
    _fake_mpnet(monkeypatch, tmp_path, [tmp_path / "models"])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "models"))

    monkeypatch.setattr(packaged, "assemble", full)
    assert packaged.main() == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "No space left" in err and "free about 1 GB" in err and "COMPARE_MODELS_DIR" in err


def test_missing_part_package_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setattr(packaged, "mpnet_path", lambda: None)
    monkeypatch.setattr(packaged, "MPNET_PARTS", ("compare-no-such-part-package-001",))
    assert packaged.main() == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "compare-no-such-part-package-001 is not installed" in err and "pip install" in err


def test_an_unusable_models_dir_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COMPARE_MODELS_DIR", "~no-such-user-for-compare/models")
    with pytest.raises(CompareError, match="COMPARE_MODELS_DIR"):
        packaged.models_dirs()
    monkeypatch.setenv("COMPARE_MODELS_DIR", "relative/models")
    assert packaged.models_dirs()[0].is_absolute()


@pytest.mark.model
def test_the_installed_parts_are_the_pinned_archive_and_the_model_is_whole():
    parts = packaged.mpnet_parts()
    assert packaged._sha256_of(parts) == packaged.MPNET_ARCHIVE_SHA256
    folder = packaged.mpnet_path()
    assert folder is not None and (folder / "model.safetensors").stat().st_size == 437_971_872


def test_parts_installed_needs_every_part(monkeypatch):
    monkeypatch.setattr(packaged, "MPNET_PARTS", packaged.MPNET_PARTS + ("compare-no-such-part-package-006",))
    assert packaged.parts_installed() is False
