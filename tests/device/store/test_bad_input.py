"""Bad input table: hostile names, planted links, oversized, truncated and corrupted transfers are
refused with a named error and a clear reason, and the active bundle stays byte-identical."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from device.errors import BundleError, StoreError
from device.store.incoming import TransferOffer
from device.store.store import InstallOptions, ModelStore

from .bundles import TEST_POLICY, make_bundle, make_key, new_store, sha256_of, sign


@pytest.fixture
def kit(tmp_path: Path) -> dict:
    private, public = make_key(tmp_path)
    old = make_bundle(tmp_path / "old.bundle", version=1, seed=1)
    new = make_bundle(tmp_path / "new.bundle", version=2, seed=2)
    store = new_store(tmp_path / "store", public)
    store.install_file(old, sign(old, private))
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"must not change")
    return {"tmp": tmp_path, "store": store, "new": new, "sig": sign(new, private), "outside": outside}


def _offer(kit: dict, **changes: object) -> TransferOffer:
    data = kit["new"].read_bytes()
    fields = {"name": "new.bundle", "size": len(data), "sha256": sha256_of(kit["new"]),
              "signature": kit["sig"]}
    return TransferOffer(**{**fields, **changes})  # type: ignore[arg-type]


def _send(kit: dict, data: bytes, offer: TransferOffer | None = None) -> None:
    store: ModelStore = kit["store"]
    incoming = store.offer(offer or _offer(kit))
    incoming.write(0, data)
    store.install_incoming(incoming)


def _plant_staging_link(kit: dict) -> None:
    store: ModelStore = kit["store"]
    os.symlink(kit["outside"], store.layout.staged(sha256_of(kit["new"])))
    _send(kit, kit["new"].read_bytes())


def _plant_bundle_link(kit: dict) -> None:
    store: ModelStore = kit["store"]
    os.symlink(kit["outside"], store.layout.bundle(sha256_of(kit["new"])))
    store.install_incoming(store.offer(_offer(kit)))


def _flipped(kit: dict) -> None:
    data = bytearray(kit["new"].read_bytes())
    data[200] ^= 0x10
    _send(kit, bytes(data))


def _truncated(kit: dict) -> None:
    store: ModelStore = kit["store"]
    incoming = store.offer(_offer(kit))
    incoming.write(0, kit["new"].read_bytes()[:1000])
    store.install_incoming(incoming)


def _keeps_going(kit: dict) -> None:
    _send(kit, kit["new"].read_bytes() + b"more")


def _out_of_order(kit: dict) -> None:
    kit["store"].offer(_offer(kit)).write(4096, b"x" * 10)


def _not_a_bundle(kit: dict) -> None:
    junk = os.urandom(5000)
    offer = TransferOffer("junk.bundle", len(junk), hashlib.sha256(junk).hexdigest(), None)
    store: ModelStore = kit["store"]
    incoming = store.offer(offer, InstallOptions(allow_unsigned=True))
    incoming.write(0, junk)
    store.install_incoming(incoming, InstallOptions(allow_unsigned=True))


CASES: dict[str, tuple[Callable[[dict], None], type[Exception], str]] = {
    "name with ..": (lambda k: k["store"].offer(_offer(k, name="..")), StoreError, "contains '..'"),
    "name climbing out": (lambda k: k["store"].offer(_offer(k, name="x..y")), StoreError, "contains '..'"),
    "absolute path": (lambda k: k["store"].offer(_offer(k, name="/etc/passwd")), StoreError,
                      "absolute paths and directories are refused"),
    "directory in name": (lambda k: k["store"].offer(_offer(k, name="a/b.bundle")), StoreError,
                          "is a path, not a plain file name"),
    "empty name": (lambda k: k["store"].offer(_offer(k, name="")), StoreError, "empty"),
    "control characters": (lambda k: k["store"].offer(_offer(k, name="a\nb")), StoreError,
                           "may only use letters"),
    "sha256 not hex": (lambda k: k["store"].offer(_offer(k, sha256="../" * 21 + "a")), StoreError,
                       "is not a sha256 digest"),
    "zero size": (lambda k: k["store"].offer(_offer(k, size=0)), StoreError, "not a positive byte count"),
    "oversized": (lambda k: k["store"].offer(_offer(k, size=1 << 40)), StoreError,
                  "over this device's limit"),
    "link planted in staging": (_plant_staging_link, StoreError, "never writes through links"),
    "link planted in bundles": (_plant_bundle_link, StoreError, "is not a regular file"),
    "bit-flipped transfer": (_flipped, StoreError, "corrupted in transit"),
    "truncated transfer": (_truncated, StoreError, "transfer incomplete: 1000 of"),
    "sender keeps going": (_keeps_going, StoreError, "cut off"),
    "data at the wrong offset": (_out_of_order, StoreError, "data for offset 4096 arrived"),
    "not a bundle at all": (_not_a_bundle, BundleError, "not a latent-instrument bundle"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_table(kit: dict, case: str) -> None:
    action, error, message = CASES[case]
    store: ModelStore = kit["store"]
    active = store.active_path()
    active_bytes, generation = active.read_bytes(), store.generation
    with pytest.raises(error, match=message):
        action(kit)
    reopened = ModelStore(store.layout.root, policy=TEST_POLICY)
    assert reopened.active_path() == active and active.read_bytes() == active_bytes
    assert reopened.generation == generation
    assert kit["outside"].read_bytes() == b"must not change"
    assert [b.version for b in reopened.bundles() if b.problem is None] == [1]


def test_a_store_directory_replaced_by_a_link_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rmdir(store.layout.staging)
    os.symlink(elsewhere, store.layout.staging)
    with pytest.raises(StoreError, match="is a link or a file, not a directory"):
        ModelStore(tmp_path / "store")
    assert list(elsewhere.iterdir()) == []


def test_a_truncated_transfer_keeps_its_bytes_for_a_resume(kit: dict) -> None:
    with pytest.raises(StoreError, match="incomplete"):
        _truncated(kit)
    resumed = kit["store"].offer(_offer(kit))
    assert resumed.offset == 1000
    resumed.write(1000, kit["new"].read_bytes()[1000:])
    assert kit["store"].install_incoming(resumed).action == "installed"


def test_a_staged_prefix_that_is_not_the_file_s_beginning_is_thrown_away(kit: dict) -> None:
    store: ModelStore = kit["store"]
    incoming = store.offer(_offer(kit))
    incoming.write(0, b"\0" * 3000)  # e.g. zero-filled by a crash, or sent from another file
    incoming.close()
    assert store.install_file(kit["new"], kit["sig"]).action == "installed"
    assert store.active_path().read_bytes() == kit["new"].read_bytes()
