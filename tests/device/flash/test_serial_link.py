"""Flashing over a pty pair between two processes (this one sends, `latent serve --serial` receives),
through a relay that corrupts, drops, duplicates and stalls: the transfer completes or fails in
bounded time, resumes, and bad input never touches the active bundle."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import time
from pathlib import Path

import pytest

from device.bundle.reader import open_bundle
from device.errors import FlashError
from device.flash.frames import PROTOCOL_VERSION, Frame, FrameType
from device.flash.link import FrameLink, SerialTarget, json_payload, open_serial
from device.flash.linksim import LinkFaults
from device.flash.sender import send_bundle
from device.store.store import ModelStore

from ..store.bundles import sha256_of, sign
from .serial_kit import FAST, Device, serial_device

LOSSY = LinkFaults(bit_errors=0.05, drops=0.05, duplicates=0.05, garbage=0.05)
LOSSY_ACKS = LinkFaults(bit_errors=0.1, drops=0.1, duplicates=0.1, garbage=0.1)


def _installed_new(device: Device) -> None:
    store = ModelStore(device.root)
    assert store.pointer.active == sha256_of(device.new)
    with open_bundle(store.active_path(), verify=True):
        pass


def _replies(link: FrameLink, session: int, wait: float = 5.0) -> list[Frame]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        frames = [f for f in link.poll(0.1) if f.session == session]
        if frames:
            return frames
    return []


def _hello(device: Device, session: int, **changes: object) -> dict:
    data = device.new.read_bytes()
    doc = {"protocol": PROTOCOL_VERSION, "name": "new.bundle", "size": len(data),
           "sha256": hashlib.sha256(data).hexdigest(),
           "signature": sign(device.new, device.key), "chunk": 4096, "restart": False}
    return {**doc, **changes}


@pytest.mark.parametrize("faults, ack_faults", [(LinkFaults(), LinkFaults()), (LOSSY, LOSSY_ACKS)],
                         ids=["clean", "lossy"])
def test_transfer_completes_over_clean_and_lossy_links(tmp_path: Path, faults: LinkFaults,
                                                       ack_faults: LinkFaults) -> None:
    with serial_device(tmp_path, a_to_b=faults, b_to_a=ack_faults, serve_args=("--once",)) as device:
        port = open_serial(device.sim.end_a, 115200)
        seen: list[int] = []
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST,
                             progress=lambda acked, total: seen.append(acked))
        port.close()
        assert device.serve.wait(timeout=10) == 0
        stats = device.sim.stats()
    assert report.result["action"] == "installed" and report.resumed_from == 0
    assert seen[-1] == report.size and seen == sorted(seen)
    _installed_new(device)
    if faults.lossy:
        hurt = stats["a_to_b"]
        assert hurt["dropped"] and hurt["duplicated"] and hurt["corrupted"] and hurt["garbage"]
        assert stats["b_to_a"]["dropped"] and report.retransmits > 0, (stats, report)


def test_a_long_stall_fails_in_bounded_time_and_the_next_attempt_resumes(tmp_path: Path) -> None:
    stall = LinkFaults(stall_at=40_000, stall_seconds=2.5)
    with serial_device(tmp_path, a_to_b=stall) as device:
        port = open_serial(device.sim.end_a, 115200)
        short = dataclasses.replace(FAST, stall_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(FlashError, match=r"stalled: no acknowledgement for 1 s at byte .*run the same"):
            send_bundle(port, device.new, signature=sign(device.new, device.key), timing=short)
        assert time.monotonic() - started < 15
        assert device.active_bytes() == device.old.read_bytes()
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST)
        port.close()
    # what the relay held during the stall reached the device afterwards: the resume starts past it
    assert report.resumed_from >= 40_000
    assert report.result["action"] == "installed"
    _installed_new(device)


def test_a_truncated_transfer_is_kept_staged_and_resumed(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        link = FrameLink(port)
        link.send(Frame(FrameType.HELLO, 77, 0, json_payload(_hello(device, 77))))
        assert _replies(link, 77)[0].type == FrameType.READY
        data = device.new.read_bytes()
        for offset in range(0, 20_000, 4000):
            link.send(Frame(FrameType.DATA, 77, offset, data[offset:offset + 4000]))
        acks = []
        while not acks or acks[-1] < 20_000:
            acks += [f.offset for f in _replies(link, 77) if f.type == FrameType.ACK]
        # the sender vanishes here; the device keeps playing the old bundle
        assert device.active_bytes() == device.old.read_bytes()
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST)
        port.close()
    assert report.resumed_from == 20_000 and report.result["action"] == "installed"


def test_a_sender_that_keeps_going_is_cut_off(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        link = FrameLink(open_serial(device.sim.end_a, 115200))
        data = device.new.read_bytes()
        link.send(Frame(FrameType.HELLO, 5, 0, json_payload(_hello(device, 5))))
        assert _replies(link, 5)[0].type == FrameType.READY
        for offset in range(0, len(data), 4096):
            link.send(Frame(FrameType.DATA, 5, offset, data[offset:offset + 4096]))
        link.send(Frame(FrameType.DATA, 5, len(data), b"and more"))
        link.send(Frame(FrameType.DONE, 5, len(data) + 8))
        errors = []
        deadline = time.monotonic() + 10
        while not errors and time.monotonic() < deadline:
            errors = [f for f in _replies(link, 5) if f.type == FrameType.ERROR]
        reason = bytes(errors[0].payload).decode()
        assert "cut off: data up to byte" in reason and "past the declared size" in reason
        assert device.active_bytes() == device.old.read_bytes()
        assert list((device.root / "staging").iterdir()) == []


@pytest.mark.parametrize("change, reason", [
    ({"name": "../../etc/passwd"}, "is a path, not a plain file name"),
    ({"name": ".."}, "contains '..'"),
    ({"size": 1 << 40}, "over this device's limit"),
    ({"signature": None}, "accepts only signed bundles"),
    ({"sha256": "not-a-hash"}, "is not a sha256 digest"),
    ({"protocol": 99}, "protocol 99 is not spoken here"),
], ids=["path", "dotdot", "oversized", "unsigned", "bad-sha", "protocol"])
def test_bad_offers_are_refused_before_any_byte(tmp_path: Path, change: dict, reason: str) -> None:
    with serial_device(tmp_path) as device:
        link = FrameLink(open_serial(device.sim.end_a, 115200))
        link.send(Frame(FrameType.HELLO, 9, 0, json_payload(_hello(device, 9, **change))))
        reply = _replies(link, 9)[0]
        assert reply.type == FrameType.ERROR and reason in bytes(reply.payload).decode()
        assert device.active_bytes() == device.old.read_bytes()
        assert list((device.root / "staging").iterdir()) == []


def test_wrong_key_garbage_and_stray_frames_leave_the_device_playing(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        before = device.active_bytes()
        with pytest.raises(FlashError, match=r"device refused the transfer: .*does not trust"):
            send_bundle(port, device.new, signature=sign(device.new, device.stranger), timing=FAST)
        rng = random.Random(4)
        port.write(os.urandom(20_000) + b"\xa5LF\x5a" * 50 + bytes(rng.randrange(256) for _ in range(999)))
        link = FrameLink(port)
        link.send(Frame(FrameType.DATA, 4242, 0, b"x" * 100))
        stray = _replies(link, 4242)
        assert stray and "no transfer in progress" in bytes(stray[0].payload).decode()
        assert device.active_bytes() == before
        report = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST)
        port.close()
        assert report.result["action"] == "installed"
        assert "refused" in device.serve_log()


def test_a_resent_identical_bundle_sends_no_data(tmp_path: Path) -> None:
    with serial_device(tmp_path) as device:
        port = open_serial(device.sim.end_a, 115200)
        send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST)
        generation = ModelStore(device.root).generation
        again = send_bundle(port, device.new, signature=sign(device.new, device.key), timing=FAST)
        port.close()
    assert again.result["action"] == "unchanged" and again.payload_bytes == 0
    assert ModelStore(device.root).generation == generation


def test_serial_target_urls() -> None:
    assert SerialTarget.parse("serial:///dev/ttyACM0") == SerialTarget("/dev/ttyACM0", 115200)
    assert SerialTarget.parse("serial:///dev/ttyGS0?baud=921600").baud == 921600
    for bad, why in (("serial://host/dev/x", "not a serial target"), ("serial:///dev/x?baud=fast", "baud"),
                     ("serial:///dev/x?parity=E", "unknown option"), ("ssh:///dev/x", "not a serial")):
        with pytest.raises(FlashError, match=why):
            SerialTarget.parse(bad)
    assert json.loads(json_payload({"a": 1})) == {"a": 1}
