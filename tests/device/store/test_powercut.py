"""The power-cut simulator keeps exactly what was synced (the crash table is only as good as it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.store.fsops import write_atomic
from device.store.powercut import PowerCut, PowerCutFs


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    live = tmp_path / "live"
    live.mkdir()
    (live / "old.txt").write_bytes(b"old")
    return live


def test_unsynced_data_and_unsynced_names_are_lost(root: Path, tmp_path: Path) -> None:
    fs = PowerCutFs(root)
    handle = fs.create(root / "new.txt", "test")
    handle.write(b"abc")
    handle.sync()
    handle.write(b"def")
    handle.close()
    fs.materialize(tmp_path / "power", "power")
    fs.materialize(tmp_path / "names", "names")
    fs.materialize(tmp_path / "kill", "kill")
    # the directory was never fsynced: the new name itself is gone after a power cut
    assert _tree(tmp_path / "power") == {"old.txt": b"old"}
    assert _tree(tmp_path / "names") == {"old.txt": b"old", "new.txt": b"abc"}
    assert _tree(tmp_path / "kill") == {"old.txt": b"old", "new.txt": b"abcdef"}


def test_synced_file_renamed_and_directory_synced_survives(root: Path, tmp_path: Path) -> None:
    fs = PowerCutFs(root)
    write_atomic(fs, root / "old.txt", b"new", "test")
    fs.materialize(tmp_path / "power", "power")
    assert _tree(tmp_path / "power") == {"old.txt": b"new"}


def test_rename_without_directory_fsync_is_undone(root: Path, tmp_path: Path) -> None:
    fs = PowerCutFs(root)
    handle = fs.create(root / "tmp", "test")
    handle.write(b"new")
    handle.sync()
    handle.close()
    fs.rename(root / "tmp", root / "old.txt", "test")
    fs.materialize(tmp_path / "power", "power")
    fs.materialize(tmp_path / "names", "names")
    assert _tree(tmp_path / "power") == {"old.txt": b"old"}
    assert _tree(tmp_path / "names") == {"old.txt": b"new"}


def test_new_directory_needs_its_parent_synced(root: Path, tmp_path: Path) -> None:
    fs = PowerCutFs(root)
    fs.mkdir(root / "sub", "test")
    write_atomic(fs, root / "sub" / "f", b"x", "test")
    fs.materialize(tmp_path / "before", "power")
    fs.fsync_dir(root, "test")
    fs.materialize(tmp_path / "after", "power")
    assert "sub" not in _tree(tmp_path / "before")
    assert _tree(tmp_path / "after")["sub/f"] == b"x"


def test_cut_stops_every_later_operation(root: Path) -> None:
    fs = PowerCutFs(root, cut_before=2)
    handle = fs.create(root / "a", "test")
    handle.write(b"1")
    with pytest.raises(PowerCut, match="step 2"):
        handle.sync()
    with pytest.raises(PowerCut):
        fs.unlink(root / "old.txt", "test")
    assert (root / "old.txt").exists()
    assert fs.steps == ["test: create", "test: write"]
