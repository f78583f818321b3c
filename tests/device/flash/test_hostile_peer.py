"""A hostile or broken peer on the serial line against a real `latent serve --serial`: every attack
the hardening probe found ends in a clean refusal (or is ignored) within a bounded time, nothing is
staged without a valid signature, the active bundle stays byte-identical, the service keeps running,
and then a valid flash from an honest sender installs."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from device.errors import FlashError
from device.flash.frames import HEADER_SIZE, PROTOCOL_VERSION, Frame, FrameType, encode
from device.flash.link import FrameLink, json_payload, open_serial
from device.flash.receiver import MAX_FRAME_PAYLOAD
from device.flash.sender import LinkTiming, send_bundle

from ..store.bundles import make_bundle, sign
from .serial_kit import Device, serial_device

# What `latent flash` uses by default: the honest sender after an attack must not need more.
DEFAULT_TIMING = LinkTiming()


def _hello(device: Device, session: int, **changes: object) -> bytes:
    data = device.new.read_bytes()
    doc = {"protocol": PROTOCOL_VERSION, "name": "new.bundle", "size": len(data),
           "sha256": hashlib.sha256(data).hexdigest(),
           "signature": sign(device.new, device.key), "chunk": 4096, "restart": False, **changes}
    return json_payload(doc)


def _reply(link: FrameLink, session: int, wait: float = 5.0) -> Frame | None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for frame in link.poll(0.1):
            if frame.session == session:
                return frame
    return None


def _deep_hello(depth: int) -> bytes:
    return b'{"protocol":%d,"name":' % PROTOCOL_VERSION + b"[" * depth + b"]" * depth + b"}"


def _forged_signature(device: Device) -> dict:
    good = sign(device.new, device.key)
    return {**good, "signature": base64.b64encode(b"A" * 64).decode()}


def _huge_integer(device: Device) -> bytes:
    return _hello(device, 0).replace(b'"size":', b'"size":' + b"9" * 5000 + b",\"x\":")


# name: (the frame payload to send as a HELLO, what the device answers: None = nothing)
Attack = Callable[[Device], bytes]
HELLO_ATTACKS: dict[str, tuple[Attack, str]] = {
    "deeply nested JSON": (lambda d: _deep_hello(7000), "nested more than"),
    "a 5000-digit integer": (_huge_integer, "a number written with more than"),
    "not JSON": (lambda d: b"\xff\xfe{{{", "not UTF-8"),
    "a JSON list": (lambda d: b"[1,2,3]", "not a JSON object"),
    "forged signature for a trusted key id": (
        lambda d: _hello(d, 0, signature=_forged_signature(d)), "is not valid"),
    "signature of another file": (
        lambda d: _hello(d, 0, signature=sign(d.old, d.key)), "the signature is for a"),
    "a name that is a list": (lambda d: _hello(d, 0, name=["a"] * 10), "empty or not text"),
    "a chunk that is true": (lambda d: _hello(d, 0, chunk=True, signature=None), "accepts only signed"),
}


@pytest.mark.timeout(120)
def test_hostile_offers_are_refused_and_an_honest_flash_follows(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        link = FrameLink(port)
        before = device.active_bytes()
        for session, (name, (payload_for, reason)) in enumerate(HELLO_ATTACKS.items(), start=100):
            started = time.monotonic()
            link.send(Frame(FrameType.HELLO, session, 0, payload_for(device)))
            reply = _reply(link, session)
            assert reply is not None, f"{name}: no answer; serve log:\n{device.serve_log()}"
            text = bytes(reply.payload).decode()
            assert reply.type == FrameType.ERROR and reason in text, f"{name}: {text}"
            assert time.monotonic() - started < 5
            assert list((device.root / "staging").iterdir()) == [], name  # nothing staged
            assert device.serve.poll() is None, f"{name}: latent serve died:\n{device.serve_log()}"
        # Too large to be a frame this side takes at all: dropped without an answer.
        link.send(Frame(FrameType.HELLO, 99, 0, _deep_hello(30000)))
        assert _reply(link, 99, wait=1.0) is None
        assert device.active_bytes() == before
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=DEFAULT_TIMING)
        port.close()
        assert report.result["action"] == "installed"
        assert "Traceback" not in device.serve_log()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("announced", [MAX_FRAME_PAYLOAD, 64 * 1024], ids=["16KiB", "64KiB"])
def test_a_stalled_header_does_not_block_the_next_flash(tmp_path: Path, announced: int) -> None:
    """A sender killed mid-frame (or 24 hostile bytes announcing a payload that never comes)."""
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        header = encode(Frame(FrameType.DATA, 7, 0, bytes(announced)))[:HEADER_SIZE]
        port.write(header)
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=DEFAULT_TIMING)
        assert report.result["action"] == "installed"
        # And again straight after a second stall: the first one left nothing behind.
        port.write(header)
        newer = make_bundle(tmp_path / "newer.bundle", version=3, seed=3)
        again = send_bundle(port, newer, signature=sign(newer, device.key), timing=DEFAULT_TIMING)
        port.close()
        assert again.result["action"] == "installed"
        assert device.serve.poll() is None


@pytest.mark.timeout(120)
def test_an_older_signed_bundle_replayed_over_serial_is_refused(tmp_path: Path) -> None:
    """Rollback protection is the device's default: `latent serve` refuses older versions."""
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        send_bundle(port, device.new, signature=sign(device.new, device.key), timing=DEFAULT_TIMING)
        after_new = device.active_bytes()
        replay = make_bundle(tmp_path / "replay.bundle", version=1, seed=11)  # signed, but older
        with pytest.raises(FlashError, match="older than the installed v2; refused"):
            send_bundle(port, replay, signature=sign(replay, device.key), timing=DEFAULT_TIMING)
        port.close()
        assert device.active_bytes() == after_new
        assert list((device.root / "staging").iterdir()) == []


def _legacy_frame(frame_type: int, session: int, payload: bytes) -> bytes:
    """A frame as protocol version 1 wrote it: the trailer is the CRC32 of the payload alone."""
    head = struct.pack("<4sBBHQI", b"\xa5LF\x5a", frame_type, 1, session, 0, len(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload + struct.pack("<I", zlib.crc32(payload))


@pytest.mark.timeout(60)
def test_an_old_sender_is_told_to_update_instead_of_meeting_silence(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        link = FrameLink(port)
        port.write(_legacy_frame(FrameType.HELLO, 77, b'{"protocol":1}'))
        reply = _reply(link, 77)
        port.close()
        assert reply is not None and reply.type == FrameType.ERROR
        assert "protocol version 1 is not spoken here" in bytes(reply.payload).decode()
        assert "update the host tools" in bytes(reply.payload).decode()
