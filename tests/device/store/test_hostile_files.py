"""Hostile and unlucky files given to the store and the bundle tools: special files, huge sparse
files, links, bundles that would blast, manifests with wrong types, two installs at once. Each
ends in a clean refusal naming the problem, in bounded time, with the active bundle
byte-identical and nothing left in staging."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from device.bundle.format import HEADER, HEADER_SIZE, MAGIC
from device.bundle.reader import open_bundle
from device.errors import BundleError, InstrumentError, StoreError
from device.store.incoming import TransferOffer
from device.store.store import InstallOptions, ModelStore

from .bundles import TEST_POLICY, make_bundle, make_key, new_store, sha256_of, sign


@pytest.fixture
def kit(tmp_path: Path) -> dict:
    private, public = make_key(tmp_path)
    old = make_bundle(tmp_path / "old.bundle", version=1, seed=1)
    store = new_store(tmp_path / "store", public)
    store.install_file(old, sign(old, private))
    return {"tmp": tmp_path, "key": private, "pub": public, "old": old, "store": store}


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.bundle"
    os.mkfifo(path)
    return path


def _link_to(target: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "link.bundle"
        path.symlink_to(target)
        return path
    return make


def _sparse(tmp: Path) -> Path:
    path = tmp / "sparse.bundle"
    with path.open("wb") as f:
        f.truncate(2 * 1024**3)
    return path


SPECIAL: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (_fifo, "is a FIFO"),
    "link to /dev/zero": (_link_to("/dev/zero"), "is a character device"),
    "link to /dev/urandom": (_link_to("/dev/urandom"), "is a character device"),
    "directory": (lambda tmp: tmp, "is a directory"),
    "2 GB sparse file": (_sparse, "over this device's limit"),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", list(SPECIAL), ids=list(SPECIAL))
def test_special_files_are_refused_at_once_by_install(kit: dict, case: str) -> None:
    make, reason = SPECIAL[case]
    store: ModelStore = kit["store"]
    before = store.active_path().read_bytes()
    path = make(kit["tmp"])
    with pytest.raises(StoreError, match=reason):
        store.install_file(path, None, InstallOptions(allow_unsigned=True))
    assert store.active_path().read_bytes() == before
    assert list(store.layout.staging.iterdir()) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", [["bundle", "verify"], ["bundle", "info"], ["install"],
                                     ["flash", "--to", "serial:///dev/null"]],
                         ids=["verify", "info", "install", "flash"])
@pytest.mark.parametrize("case", ["fifo", "link to /dev/zero", "2 GB sparse file"])
def test_the_commands_refuse_special_files_in_one_line(kit: dict, command: list[str], case: str) -> None:
    make, _ = SPECIAL[case]
    path = make(kit["tmp"])
    argv = [sys.executable, "-m", "device.cli", *command, str(path)]
    if command == ["install"]:
        argv += ["--store", str(kit["store"].layout.root)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert str(path.name) in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def _rewrite_manifest(bundle: Path, out: Path, change: Callable[[dict], None]) -> Path:
    data = bytearray(bundle.read_bytes())
    (length,) = struct.unpack_from("<I", data, 12)
    manifest = json.loads(data[HEADER_SIZE:HEADER_SIZE + length])
    change(manifest)
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    assert len(text) <= length, "the edit must not grow the manifest past its padding"
    text = text + b" " * (length - len(text))  # JSON allows trailing spaces; offsets stay put
    header = HEADER.pack(MAGIC, 1, length, hashlib.sha256(text).digest())
    out.write_bytes(bytes(header) + text + bytes(data[HEADER_SIZE + length:]))
    return out


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(manifest: dict) -> None:
        *parents, last = path.split(".")
        node = manifest
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


MANIFESTS: dict[str, tuple[Callable[[dict], None], str]] = {
    "pitch true": (_set("bank.pitches", [True, 60]), "bank.pitches must be a non-empty list"),
    "steps 3.0": (_set("bank.axes.0.steps", 3.0), "steps must be an integer"),
    "axis name an object": (_set("bank.axes.0.name", {"a": 1}), "name and description must be text"),
    "version -5": (_set("version", -5), "version -5 is outside"),
    "version 10^40": (_set("version", 10**40), "an integer of 133 bits is too large"),
    "version 2^40": (_set("version", 2**40), "version 1099511627776 is outside 0.."),
    "escape in name": (_set("name", "pads\x1b[2J"), "control or separator character"),
    "newline in name": (_set("name", "pads\nroot ok"), "control or separator character"),
    "segment_frames true": (_set("bank.segment_frames", True), "segment_frames must be an integer"),
    "created an object": (_set("created", {"x": 1}), "'created' is not a short date text"),
    "format_version true": (_set("format_version", True), "manifest says format_version True"),
    "escape in an axis description": (_set("bank.axes.0.description", "\x1b[2J"), "holds control characters"),
    "two axes with one name": (_set("bank.axes.1.name", "axis0"), "bank.axes names must differ"),
    "config a list": (_set("config", [1, 2]), "'config' must be an object"),
}


@pytest.mark.parametrize("case", list(MANIFESTS), ids=list(MANIFESTS))
def test_manifests_with_wrong_types_are_refused(kit: dict, case: str) -> None:
    change, reason = MANIFESTS[case]
    bad = _rewrite_manifest(kit["old"], kit["tmp"] / "bad.bundle", change)
    with pytest.raises(BundleError, match=reason):
        open_bundle(bad)
    store: ModelStore = kit["store"]
    with pytest.raises(BundleError, match=f"bad.bundle: .*{reason}"):  # the user's file, not .part
        store.install_file(bad, None, InstallOptions(allow_unsigned=True))
    assert list(store.layout.staging.iterdir()) == []


def _scaled(bundle: Path, out: Path, scale: float) -> Path:
    """The same bundle with every segment scale set to `scale` (payload hash redone)."""
    opened = open_bundle(bundle)
    entry = opened.manifest["payloads"]["scales"]
    opened.close()
    data = bytearray(bundle.read_bytes())
    scales = np.full(entry["shape"], scale, dtype="<f4").tobytes()
    data[entry["offset"]:entry["offset"] + entry["nbytes"]] = scales
    return _rewrite_manifest(bytes_to(out, data), out,
                             _set("payloads.scales.sha256", hashlib.sha256(scales).hexdigest()))


def bytes_to(path: Path, data: bytes | bytearray) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("scale, refused", [(1000.0, True), (1.5, True), (0.9, False), (0.0, False)])
def test_a_bundle_that_would_blast_is_refused_at_verify_time(kit: dict, scale: float, refused: bool) -> None:
    loud = _scaled(kit["old"], kit["tmp"] / "loud.bundle", scale)
    if refused:
        with pytest.raises(BundleError, match="segments peak above full scale"):
            open_bundle(loud)
        open_bundle(loud, verify=False).close()  # still listed and inspectable
        with pytest.raises(BundleError, match="peak above full scale"):
            kit["store"].install_file(loud, None, InstallOptions(allow_unsigned=True))
    else:
        open_bundle(loud).close()


@pytest.mark.timeout(60)
def test_a_second_install_never_destroys_a_transfer_in_progress(kit: dict) -> None:
    """`install --stdin` streaming bundle A while `install B` arrives: B is refused (not A's
    staging deleted), A completes, then B installs."""
    store: ModelStore = kit["store"]
    a = make_bundle(kit["tmp"] / "a.bundle", name="a", version=1, seed=21, frames=4000)
    b = make_bundle(kit["tmp"] / "b.bundle", name="b", version=1, seed=22)
    data = a.read_bytes()
    argv = [sys.executable, "-m", "device.cli", "install", "--stdin", "--store", str(store.layout.root),
            "--name", "a.bundle", "--size", str(len(data)), "--sha256", sha256_of(a),
            "--allow-unsigned", "--json"]
    streaming = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert streaming.stdin is not None
    half = len(data) // 2
    streaming.stdin.write(data[:half])
    streaming.stdin.flush()
    staged = store.layout.staged(sha256_of(a))
    deadline = threading.Event()
    for _ in range(200):
        if staged.exists() and staged.stat().st_size == half:
            break
        deadline.wait(0.05)
    assert staged.stat().st_size == half
    with pytest.raises(StoreError, match="another transfer into this store is in progress"):
        store.install_file(b, None, InstallOptions(allow_unsigned=True))
    assert staged.stat().st_size == half  # A's bytes are still there
    out, err = streaming.communicate(data[half:], timeout=30)
    assert streaming.returncode == 0, err.decode()
    assert json.loads(out)["action"] == "installed"
    assert store.install_file(b, None, InstallOptions(allow_unsigned=True)).action == "installed"


def test_the_same_bundle_offered_twice_at_once_is_refused_the_second_time(kit: dict) -> None:
    store: ModelStore = kit["store"]
    a = make_bundle(kit["tmp"] / "a.bundle", name="a", version=1, seed=21)
    offer = TransferOffer("a.bundle", a.stat().st_size, sha256_of(a))
    first = store.offer(offer, InstallOptions(allow_unsigned=True))
    first.write(0, a.read_bytes()[:100])
    other = ModelStore(store.layout.root, policy=TEST_POLICY)
    with pytest.raises(StoreError, match="already being received by another transfer"):
        other.offer(offer, InstallOptions(allow_unsigned=True))
    assert first.offset == 100
    first.close()
    second = other.offer(offer, InstallOptions(allow_unsigned=True))  # resumes once it is free
    assert second.offset == 100
    second.close()


def test_every_refusal_is_an_instrument_error(kit: dict) -> None:
    """What the CLI turns into one line: none of the above escapes as a bare OSError/ValueError."""
    store: ModelStore = kit["store"]
    for make, _ in SPECIAL.values():
        target = kit["tmp"] / "case"
        target.mkdir(exist_ok=True)
        path = make(target)
        with pytest.raises(InstrumentError):
            store.install_file(path, None, InstallOptions(allow_unsigned=True))
        if path != target:
            path.unlink()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case, reason", [
    ("sig /dev/zero", "is a character device"), ("sig fifo", "is a FIFO"),
    ("sig deeply nested", "nested more than"), ("sig huge integer", "too large for a signature file"),
    ("trust /dev/zero", "is a character device"), ("trust fifo", "is a FIFO"),
])
def test_signature_and_key_files_from_outside_are_read_safely(kit: dict, case: str, reason: str) -> None:
    tmp = kit["tmp"]
    fifo = tmp / "pipe"
    os.mkfifo(fifo)
    deep = tmp / "deep.sig"
    deep.write_text("[" * 2000 + "]" * 2000)
    huge = tmp / "huge.sig"
    huge.write_text('{"file_size": ' + "9" * 5000 + "}")
    target = {"sig /dev/zero": "/dev/zero", "sig fifo": str(fifo), "sig deeply nested": str(deep),
              "sig huge integer": str(huge), "trust /dev/zero": "/dev/zero", "trust fifo": str(fifo)}[case]
    store_args = ["--store", str(kit["store"].layout.root)]
    if case.startswith("sig"):
        argv = ["install", str(kit["old"]), "--sig", target, *store_args]
    else:
        argv = ["models", "trust", target, *store_args]
    done = subprocess.run([sys.executable, "-m", "device.cli", *argv], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert reason in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
