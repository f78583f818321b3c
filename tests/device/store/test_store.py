"""The model store as its users see it: install, activate, roll back, remove, poll, recover."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from device.bundle.reader import load_segment_bank
from device.errors import StoreError
from device.store.layout import StoreLayout
from device.store.policy import DevicePolicy
from device.store.store import InstallOptions, ModelStore

from .bundles import TEST_POLICY, make_bundle, make_key, new_store, sha256_of, sign


@pytest.fixture
def kit(tmp_path: Path) -> dict:
    private, public = make_key(tmp_path)
    bundles = {v: make_bundle(tmp_path / f"pads{v}.bundle", version=v, seed=v) for v in (1, 2, 3)}
    store = new_store(tmp_path / "store", public)
    return {"tmp": tmp_path, "key": private, "pub": public, "b": bundles, "store": store,
            "sig": {v: sign(p, private) for v, p in bundles.items()}}


def _install(kit: dict, version: int, **options: bool):  # type: ignore[no-untyped-def]
    return kit["store"].install_file(kit["b"][version], kit["sig"][version], InstallOptions(**options))


def test_install_activates_and_keeps_the_old_one_as_previous(kit: dict) -> None:
    store: ModelStore = kit["store"]
    assert store.active_path() is None and store.generation == 0
    first = _install(kit, 1)
    assert first.action == "installed" and store.generation == 1 and store.on_trial
    second = _install(kit, 2)
    assert second.action == "installed" and second.previous == first.bundle.sha256
    assert store.pointer.active == sha256_of(kit["b"][2])
    assert store.pointer.previous == sha256_of(kit["b"][1])
    assert store.active_path().read_bytes() == kit["b"][2].read_bytes()
    assert store.layout.signature(store.pointer.active).exists()
    assert [b.version for b in store.bundles()] == [1, 2]
    assert store.active().signed_by == kit["sig"][2]["key_id"]


def test_a_resent_identical_bundle_is_a_no_op(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    before = (os.stat(store.layout.pointer).st_ino, store.generation)
    inode = os.stat(store.active_path()).st_ino
    again = _install(kit, 1)
    assert again.action == "unchanged"
    assert (os.stat(store.layout.pointer).st_ino, store.generation) == before
    assert os.stat(store.active_path()).st_ino == inode
    assert list(store.layout.staging.iterdir()) == []


def test_an_active_bundle_file_is_never_rewritten_while_it_is_mapped(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    bank = load_segment_bank(store.active_path())
    first = bank.segment((0, 0), 0).copy()
    inode = os.stat(store.active_path()).st_ino
    for version in (2, 3, 1, 2):
        _install(kit, version, allow_older=True)
    store.rollback()
    store.remove("pads@3")
    assert os.stat(store.layout.bundle(sha256_of(kit["b"][1]))).st_ino == inode
    assert (bank.segment((0, 0), 0) == first).all()  # the mapping still reads the same samples


def test_no_activate_then_activate_rollback_and_remove(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    stored = _install(kit, 2, activate=False)
    assert stored.action == "stored" and store.active().version == 1
    assert store.activate("pads@2").version == 2 and store.on_trial
    assert store.rollback().version == 1
    assert store.pointer.previous == sha256_of(kit["b"][2]) and not store.on_trial
    assert store.rollback().version == 2  # a rollback can be undone by rolling back again
    with pytest.raises(StoreError, match="is active and cannot be removed"):
        store.remove("pads@2")
    removed = store.remove(sha256_of(kit["b"][1])[:8])
    assert removed.version == 1 and store.pointer.previous is None
    assert not removed.path.exists() and not store.layout.signature(removed.sha256).exists()
    with pytest.raises(StoreError, match="nothing to roll back to"):
        store.rollback()


def test_activating_an_already_stored_bundle_by_installing_it(kit: dict) -> None:
    _install(kit, 1)
    _install(kit, 2)
    result = _install(kit, 1, allow_older=True)
    assert result.action == "activated" and kit["store"].active().version == 1


def test_find_by_name_version_and_sha(kit: dict) -> None:
    store: ModelStore = kit["store"]
    for version in (1, 2):
        _install(kit, version)
    assert store.find("pads").version == 2
    assert store.find("pads@1").version == 1
    assert store.find(sha256_of(kit["b"][1])[:6]).version == 1
    for bad, reason in (("pads@7", "no bundle"), ("../pads", "never addressed by path"),
                        ("/etc/passwd", "never addressed by path"), ("", "not a bundle name")):
        with pytest.raises(StoreError, match=reason):
            store.find(bad)


def test_older_versions_are_refused_unless_allowed(kit: dict) -> None:
    """Rollback protection is the default: a replayed old signed bundle does not get in."""
    store: ModelStore = kit["store"]
    _install(kit, 2)
    with pytest.raises(StoreError, match=r"older than the installed v2; refused \(rollback protection"):
        _install(kit, 1)
    assert store.active().version == 2 and len(store.bundles()) == 1
    assert list(store.layout.staging.iterdir()) == []
    assert _install(kit, 1, allow_older=True).action == "installed"  # going back on purpose
    _install(kit, 2)
    with pytest.raises(StoreError, match="older than the installed v2"):
        _install(kit, 1)  # re-activating a stored older copy by re-sending it is refused too
    assert store.active().version == 2
    assert store.activate("pads@1").version == 1  # a person on the device may choose it
    assert store.rollback().version == 2


def test_poll_sees_changes_made_by_another_process(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    other = ModelStore(store.layout.root, policy=TEST_POLICY)
    assert not other.poll()
    _install(kit, 2)
    assert other.poll() and other.active().version == 2 and other.generation == store.generation
    assert not other.poll()


def test_recovery_drops_temporaries_and_restores_previous_if_active_is_damaged(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    _install(kit, 2)
    layout: StoreLayout = store.layout
    (layout.root / ".pointer.json.tmp-1-1").write_bytes(b"half")
    damaged = store.active_path()
    data = bytearray(damaged.read_bytes())
    data[-5] ^= 0xFF  # bit rot in a payload, after install
    os.chmod(damaged, 0o644)
    damaged.write_bytes(bytes(data))
    reopened = ModelStore(layout.root, policy=TEST_POLICY)
    assert reopened.active().version == 1
    assert not (layout.root / ".pointer.json.tmp-1-1").exists()
    log = reopened.failures()
    assert "failed its check at start" in log[-1]["reason"] and "sha256 mismatch" in log[-1]["reason"]
    assert log[-1]["action"].startswith("restored previous bundle")


def test_compatibility_checks_refuse_before_anything_changes(kit: dict) -> None:
    store: ModelStore = kit["store"]
    _install(kit, 1)
    strict = ModelStore(store.layout.root, policy=DevicePolicy(sample_rates=(48000,), reserve_bytes=0))
    with pytest.raises(StoreError, match="sample rate 16000 Hz is not one this device runs at"):
        strict.install_file(kit["b"][2], kit["sig"][2])
    small = ModelStore(store.layout.root, policy=DevicePolicy(max_bundle_bytes=1000, reserve_bytes=0))
    with pytest.raises(StoreError, match="over this device's limit of 1000 bytes"):
        small.install_file(kit["b"][2], kit["sig"][2])
    full = ModelStore(store.layout.root, policy=DevicePolicy(reserve_bytes=1 << 62))
    with pytest.raises(StoreError, match="not enough free space"):
        full.install_file(kit["b"][2], kit["sig"][2])
    assert store.active().version == 1 and len(store.bundles()) == 1
    assert list(store.layout.staging.iterdir()) == []


def test_trusting_a_key_and_the_listing_of_a_fresh_store(tmp_path: Path) -> None:
    private, public = make_key(tmp_path, "maker")
    store = ModelStore(tmp_path / "fresh")
    assert store.bundles() == [] and store.active() is None and store.failures() == []
    kid = store.trust_key(public)
    assert (store.layout.trusted_keys / f"{kid}.pub").read_text().startswith("latent-ed25519 ")
    bundle = make_bundle(tmp_path / "x.bundle")
    assert store.install_file(bundle, sign(bundle, private)).bundle.signed_by == kid
