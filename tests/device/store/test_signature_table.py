"""Signature table: only bundles signed by a trusted key get in; every forgery is refused by name
and the active bundle stays byte-identical."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from device.bundle.format import HEADER_SIZE
from device.errors import BundleError, SignatureError, StoreError
from device.store.store import InstallOptions, ModelStore

from .bundles import make_bundle, make_key, new_store, sign


@pytest.fixture
def kit(tmp_path: Path) -> dict:
    private, public = make_key(tmp_path, "trusted")
    stranger, _ = make_key(tmp_path, "stranger")
    old = make_bundle(tmp_path / "old.bundle", version=1, seed=1)
    new = make_bundle(tmp_path / "new.bundle", version=2, seed=2)
    store = new_store(tmp_path / "store", public)
    store.install_file(old, sign(old, private))
    return {"tmp": tmp_path, "key": private, "stranger": stranger, "old": old, "new": new, "store": store}


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def _edit_manifest(data: bytes, rehash: bool) -> bytes:
    (length,) = struct.unpack_from("<I", data, 12)
    manifest = data[HEADER_SIZE:HEADER_SIZE + length]
    edited = manifest.replace(b'"version": 2', b'"version": 9')
    assert edited != manifest and len(edited) == len(manifest)
    header = data[:16] + (hashlib.sha256(edited).digest() if rehash else data[16:48])
    return header + edited + data[HEADER_SIZE + length:]


def _padding_index(data: bytes) -> int:
    """An alignment byte between the manifest and the first payload (zero in a good file)."""
    (length,) = struct.unpack_from("<I", data, 12)
    index = HEADER_SIZE + length
    assert data[index] == 0 and index % 64 != 0
    return index


def _sig_with(doc: dict, **changes: object) -> dict:
    return {**doc, **changes}


def _flip_sig_bit(doc: dict) -> dict:
    raw = bytearray(base64.b64decode(doc["signature"]))
    raw[10] ^= 0x80
    return _sig_with(doc, signature=base64.b64encode(bytes(raw)).decode())


# case: (bundle bytes from the good ones, signature from the good one, options, error, message)
Case = tuple[Callable[[bytes], bytes], Callable[[dict, dict], dict | None], InstallOptions,
             type[Exception], str]

CASES: dict[str, Case] = {
    "unsigned": (lambda d: d, lambda good, k: None, InstallOptions(), StoreError,
                 "unsigned and this device accepts only signed bundles"),
    "untrusted key": (lambda d: d, lambda good, k: k["stranger_sig"], InstallOptions(), SignatureError,
                      "which this device does not trust"),
    "untrusted key posing as a trusted id": (
        lambda d: d, lambda good, k: _sig_with(k["stranger_sig"], key_id=good["key_id"]), InstallOptions(),
        SignatureError, "is not valid"),
    "flipped signature bit": (lambda d: d, lambda good, k: _flip_sig_bit(good), InstallOptions(),
                              SignatureError, "is not valid"),
    "bad signature even with --allow-unsigned": (
        lambda d: d, lambda good, k: _flip_sig_bit(good), InstallOptions(allow_unsigned=True),
        SignatureError, "is not valid"),
    # The signature covers the hash of every byte, so each change below is refused at the offer,
    # before a byte is staged; the reader's own checks are the second line (the unsigned cases).
    "flipped payload bit": (lambda d: _flip(d, len(d) - 3), lambda good, k: good, InstallOptions(),
                            SignatureError, "not this .*-byte file hashing to"),
    "flipped payload bit, unsigned allowed": (
        lambda d: _flip(d, len(d) - 3), lambda good, k: None, InstallOptions(allow_unsigned=True),
        BundleError, "sha256 mismatch: the payload is corrupt"),
    "flipped padding byte": (lambda d: _flip(d, _padding_index(d)), lambda good, k: good, InstallOptions(),
                             SignatureError, "not this .*-byte file hashing to"),
    "flipped padding byte, unsigned allowed": (
        lambda d: _flip(d, _padding_index(d)), lambda good, k: None, InstallOptions(allow_unsigned=True),
        BundleError, "padding before payload .* is not zero"),
    "manifest edited and rehashed": (lambda d: _edit_manifest(d, rehash=True), lambda good, k: good,
                                     InstallOptions(), SignatureError, "not this .*-byte file hashing to"),
    "manifest edited, header hash stale": (
        lambda d: _edit_manifest(d, rehash=False), lambda good, k: None, InstallOptions(allow_unsigned=True),
        BundleError, "manifest sha256 mismatch"),
    "signature of another bundle": (lambda d: d, lambda good, k: k["old_sig"], InstallOptions(),
                                    SignatureError, "the signature is for a"),
    "signature with another file's hash": (
        lambda d: d, lambda good, k: _sig_with(good, sha256=k["old_sig"]["sha256"]), InstallOptions(),
        SignatureError, "the signature is for a"),
    "truncated bundle": (lambda d: d[:-64], lambda good, k: good, InstallOptions(), SignatureError,
                         "the signature is for a"),
    "old header-only signature format": (
        lambda d: d, lambda good, k: _sig_with(good, format="latent-bundle-signature-v1"), InstallOptions(),
        SignatureError, "no longer accepted; re-sign"),
    "malformed signature": (lambda d: d, lambda good, k: _sig_with(good, key_id="../../etc"),
                            InstallOptions(), SignatureError, "key_id '../../etc' is not 16 hex digits"),
    "wrong algorithm": (lambda d: d, lambda good, k: _sig_with(good, algorithm="rsa"), InstallOptions(),
                        SignatureError, "algorithm 'rsa'"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_signature_table(kit: dict, case: str) -> None:
    tamper, signature_for, options, error, message = CASES[case]
    store: ModelStore = kit["store"]
    active_bytes = store.active_path().read_bytes()
    generation = store.generation
    good = sign(kit["new"], kit["key"])
    extras = {"stranger_sig": sign(kit["new"], kit["stranger"]), "old_sig": sign(kit["old"], kit["key"])}
    candidate = kit["tmp"] / "candidate.bundle"
    candidate.write_bytes(tamper(kit["new"].read_bytes()))
    with pytest.raises(error, match=message):
        store.install_file(candidate, signature_for(good, extras), options)
    assert store.active_path().read_bytes() == active_bytes
    assert ModelStore(store.layout.root).generation == generation
    assert len(store.bundles()) == 1
    assert list(store.layout.staging.iterdir()) == []


def test_the_untampered_bundle_is_accepted_and_unsigned_only_when_allowed(kit: dict) -> None:
    store: ModelStore = kit["store"]
    assert store.install_file(kit["new"], None, InstallOptions(allow_unsigned=True)).action == "installed"
    assert store.active().signed_by is None
    store.rollback()
    resigned = sign(kit["new"], kit["key"])
    assert json.loads(json.dumps(resigned)) == resigned
    assert store.install_file(kit["new"], resigned).action == "activated"
