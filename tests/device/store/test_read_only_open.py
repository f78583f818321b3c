"""`ModelStore(root, create=False)`: look at a store without creating, repairing or locking it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from device.errors import StoreError
from device.store.store import InstallOptions, ModelStore

from .bundles import TEST_POLICY, make_bundle, make_key, new_store, sha256_of, sign


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under `root` (hidden ones too) with inode, size and mtime: any write shows."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(directory, name))
            found[os.path.relpath(os.path.join(directory, name), root)] = (
                st.st_ino, st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture
def two_installed(tmp_path: Path) -> ModelStore:
    private, public = make_key(tmp_path)
    store = new_store(tmp_path / "store", public)
    for version in (1, 2):
        bundle = make_bundle(tmp_path / f"pads{version}.bundle", version=version, seed=version)
        store.install_file(bundle, sign(bundle, private), InstallOptions())
    return store


def test_a_missing_store_is_reported_and_not_created(tmp_path: Path) -> None:
    root = tmp_path / "nowhere" / "store"
    with pytest.raises(StoreError, match=r"no model store at .*nothing was created.*latent install"):
        ModelStore(root, create=False)
    assert not (tmp_path / "nowhere").exists()
    root.mkdir(parents=True)  # an empty directory is no store either, and stays empty
    with pytest.raises(StoreError, match="no model store at"):
        ModelStore(root, create=False)
    assert list(root.iterdir()) == []


def test_looking_writes_nothing_not_even_the_lock_or_a_temporary_s_removal(
        two_installed: ModelStore) -> None:
    root = two_installed.layout.root
    two_installed.layout.lock.unlink()
    (root / ".pointer.json.tmp-1-1").write_bytes(b"half")
    before = tree(root)
    looking = ModelStore(root, policy=TEST_POLICY, create=False)
    assert [b.version for b in looking.bundles()] == [1, 2] and looking.failures() == []
    assert looking.active() is not None and looking.active().version == 2
    assert not looking.poll()
    assert tree(root) == before
    ModelStore(root, policy=TEST_POLICY)  # a writing open does recover
    assert not (root / ".pointer.json.tmp-1-1").exists() and two_installed.layout.lock.exists()


def test_a_damaged_active_bundle_is_shown_as_recovery_will_leave_it_without_writing(
        two_installed: ModelStore) -> None:
    root = two_installed.layout.root
    v1, v2 = (b.sha256 for b in two_installed.bundles())
    damaged = two_installed.layout.bundle(v2)
    data = bytearray(damaged.read_bytes())
    data[-5] ^= 0xFF  # bit rot in a payload
    os.chmod(damaged, 0o644)
    damaged.write_bytes(bytes(data))
    before = tree(root)
    pointer_bytes = two_installed.layout.pointer.read_bytes()

    looking = ModelStore(root, policy=TEST_POLICY, create=False)
    assert looking.pointer.active == v1 and looking.pointer.previous is None
    marked = {b.sha256: b.problem for b in looking.bundles()}
    assert marked[v1] is None and "will not play" in (marked[v2] or "")
    assert tree(root) == before and two_installed.layout.pointer.read_bytes() == pointer_bytes
    assert not two_installed.layout.failures.exists()

    repaired = ModelStore(root, policy=TEST_POLICY)  # the writing open makes it so, and logs why
    assert repaired.pointer.active == v1 and "failed its check" in repaired.failures()[-1]["reason"]


def test_what_is_not_a_store_directory_is_refused_in_both_modes(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a store")
    for create in (True, False):
        with pytest.raises(StoreError, match="is not a directory, and a model store is one"):
            ModelStore(a_file, create=create)
        with pytest.raises(StoreError, match=r"cannot (create or open|read) the model store|no model store"):
            ModelStore(a_file / "below", create=create)
    assert a_file.read_text() == "not a store"
    store = ModelStore(tmp_path / "store")
    store.layout.trusted_keys.rmdir()
    os.symlink(tmp_path, store.layout.trusted_keys)
    with pytest.raises(StoreError, match="is a link or a file, not a directory"):
        ModelStore(store.layout.root, create=False)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_a_pseudo_file_system_is_a_store_error_naming_the_root() -> None:
    with pytest.raises(StoreError, match="no model store at /proc"):
        ModelStore("/proc", create=False)
    with pytest.raises(StoreError, match=r"^/proc: cannot create or open the model store: .*--store"):
        ModelStore("/proc")


def test_a_store_kept_under_a_link_still_opens(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "pads.bundle")
    real = ModelStore(tmp_path / "disk" / "store", policy=TEST_POLICY)
    real.install_file(bundle, options=InstallOptions(allow_unsigned=True))
    os.symlink(tmp_path / "disk" / "store", tmp_path / "store")
    looking = ModelStore(tmp_path / "store", create=False)
    assert looking.active() is not None and looking.active().sha256 == sha256_of(bundle)
