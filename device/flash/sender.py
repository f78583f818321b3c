"""The sending half of the serial flashing protocol (flash layer; host_tools imports it from here).

A transfer is one session: HELLO (the offer) -> READY (resume offset) -> DATA frames under a
sliding window, acknowledged cumulatively -> DONE -> RESULT (the device's install verdict).

- Loss and corruption: frames failing their CRC are dropped by the receiver, which answers a gap
  with a duplicate ACK; two duplicate ACKs make the sender go back to the first unacknowledged
  byte at once (once per offset), otherwise a retransmission timer does (go-back-N).
- The timer follows the measured round trip (smoothed RTT + 4 deviations, as TCP does, no
  samples from retransmitted frames), so it adapts to a slow UART as well as to a fast USB link.
- Bounded time: no acknowledged progress for `stall_timeout` seconds, no READY within
  `connect_timeout`, or no RESULT within `install_timeout` ends the attempt with a FlashError;
  the bytes the device has already staged stay there, and the next attempt resumes after them
  once the sender has checked the device's sha256 of that prefix against its own file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.errors import FlashError
from device.flash.frames import PROTOCOL_VERSION, Frame, FrameType
from device.flash.link import FrameLink, SerialPort, json_payload, parse_json_payload

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LinkTiming:
    chunk: int = 4096
    window_frames: int = 16
    connect_timeout: float = 10.0
    stall_timeout: float = 10.0
    install_timeout: float = 120.0
    initial_rto: float = 0.5
    min_rto: float = 0.05
    max_rto: float = 3.0


@dataclass(frozen=True)
class SendReport:
    result: dict[str, Any]
    size: int
    resumed_from: int
    line_bytes: int
    retransmits: int
    transfer_seconds: float
    total_seconds: float

    @property
    def payload_bytes(self) -> int:
        return self.size - self.resumed_from


class _RttEstimator:
    def __init__(self, timing: LinkTiming) -> None:
        self.timing = timing
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = timing.initial_rto

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.rto = min(self.timing.max_rto, max(self.timing.min_rto, self.srtt + 4 * self.rttvar))

    def back_off(self) -> None:
        self.rto = min(self.timing.max_rto, self.rto * 2)


class _Sender:
    def __init__(self, port: SerialPort, data: memoryview, offer: dict[str, Any], timing: LinkTiming,
                 progress: Progress | None) -> None:
        self.link = FrameLink(port)
        self.data = data
        self.size = len(data)
        self.offer = offer
        self.timing = timing
        self.progress = progress
        self.session = 0
        self.retransmits = 0

    def _frames(self, wait: float) -> list[Frame]:
        return [f for f in self.link.poll(wait) if f.session == self.session]

    def _refused(self, frame: Frame) -> FlashError:
        reason = bytes(frame.payload).decode("utf-8", errors="replace")
        return FlashError(f"the device refused the transfer: {reason}")

    def handshake(self, restart: bool) -> dict[str, Any]:
        self.session = random.randint(1, 0xFFFF)
        hello = Frame(FrameType.HELLO, self.session, 0, json_payload({**self.offer, "restart": restart}))
        deadline = time.monotonic() + self.timing.connect_timeout
        wait = self.timing.initial_rto
        while time.monotonic() < deadline:
            self.link.send(hello)
            until = min(deadline, time.monotonic() + wait)
            while time.monotonic() < until:
                for frame in self._frames(until - time.monotonic()):
                    if frame.type == FrameType.READY:
                        return parse_json_payload(frame, "READY")
                    if frame.type == FrameType.ERROR:
                        raise self._refused(frame)
            wait = min(wait * 2, self.timing.max_rto)
        raise FlashError(f"no answer from the device within {self.timing.connect_timeout:g} s: is "
                         "`latent serve --serial DEV` running on it, and is this the right port?")

    def stream(self, start: int) -> None:
        """Send bytes start..size until all are acknowledged (see the module docstring)."""
        timing, size, link = self.timing, self.size, self.link
        window = timing.window_frames * timing.chunk
        rtt = _RttEstimator(timing)
        acked = next_off = highest = start
        sent_at: dict[int, float] = {}  # frame end -> time first sent (never retransmitted)
        dup_acks, fast_for = 0, -1
        now = time.monotonic()
        last_progress = timer = now
        while acked < size:
            while next_off < size and next_off - acked < window:
                end = min(size, next_off + timing.chunk)
                link.send(Frame(FrameType.DATA, self.session, next_off, self.data[next_off:end]))
                if end > highest:
                    sent_at[end] = time.monotonic()
                    highest = end
                next_off = end
            for frame in self._frames(min(rtt.rto, 0.05)):
                if frame.type == FrameType.ERROR:
                    raise self._refused(frame)
                if frame.type != FrameType.ACK:
                    continue
                if acked < frame.offset <= size:
                    now = time.monotonic()
                    done = [end for end in sent_at if end <= frame.offset]
                    if done:
                        rtt.sample(now - sent_at[max(done)])
                        for end in done:
                            del sent_at[end]
                    acked, dup_acks, last_progress, timer = frame.offset, 0, now, now
                    next_off = max(next_off, acked)
                    if self.progress is not None:
                        self.progress(acked, size)
                elif frame.offset == acked and next_off > acked:
                    dup_acks += 1
                    if dup_acks >= 2 and fast_for != acked:
                        fast_for, next_off, timer = acked, acked, time.monotonic()
                        self.retransmits += 1
                        sent_at.clear()  # Karn: no RTT samples from what is sent again
            now = time.monotonic()
            if acked >= size:
                break
            if now - last_progress > timing.stall_timeout:
                raise FlashError(f"the link stalled: no acknowledgement for {timing.stall_timeout:g} s at "
                                 f"byte {acked} of {size}; run the same command again to resume there")
            if next_off > acked and now - timer > rtt.rto:
                next_off, timer = acked, now
                rtt.back_off()
                self.retransmits += 1
                sent_at.clear()

    def finish(self) -> dict[str, Any]:
        done = Frame(FrameType.DONE, self.session, self.size)
        deadline = time.monotonic() + self.timing.install_timeout
        while time.monotonic() < deadline:
            self.link.send(done)
            until = min(deadline, time.monotonic() + max(1.0, self.timing.max_rto))
            while time.monotonic() < until:
                for frame in self._frames(until - time.monotonic()):
                    if frame.type == FrameType.RESULT:
                        return parse_json_payload(frame, "RESULT")
                    if frame.type == FrameType.ERROR:
                        raise self._refused(frame)
        raise FlashError(f"the device did not report the install within {self.timing.install_timeout:g} s "
                         "after all bytes arrived; check `latent models list` on it")


def send_bundle(port: SerialPort, bundle: str | Path, *, signature: dict[str, Any] | None,
                name: str | None = None, timing: LinkTiming = LinkTiming(),
                progress: Progress | None = None) -> SendReport:
    """Send one bundle file over an open serial port; returns the device's install result."""
    path = Path(bundle)
    started = time.monotonic()
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as bad:  # ValueError: mmap of an empty file
        raise FlashError(f"{path}: cannot read the bundle: {bad}") from None
    data = memoryview(mapped)
    try:
        size = len(data)
        offer = {"protocol": PROTOCOL_VERSION, "name": name or path.name, "size": size,
                 "sha256": hashlib.sha256(data).hexdigest(), "signature": signature,
                 "chunk": timing.chunk}
        sender = _Sender(port, data, offer, timing, progress)
        ready = sender.handshake(restart=False)
        start = int(ready.get("offset", 0))
        if not 0 <= start <= size or (
                start and hashlib.sha256(data[:start]).hexdigest() != ready.get("prefix_sha256")):
            # What the device staged is not a prefix of this file: start over from zero.
            ready = sender.handshake(restart=True)
            start = int(ready.get("offset", 0))
            if start != 0:
                raise FlashError(f"the device kept {start} staged bytes after being asked to restart")
        chunk = max(1, min(timing.chunk, int(ready.get("chunk", timing.chunk))))
        sender.timing = dataclasses.replace(timing, chunk=chunk)
        if progress is not None:
            progress(start, size)
        streamed = time.monotonic()
        sender.stream(start)
        transfer = time.monotonic() - streamed
        result = sender.finish()
    finally:
        data.release()
        mapped.close()
    return SendReport(result=result, size=size, resumed_from=start, line_bytes=sender.link.bytes_out,
                      retransmits=sender.retransmits, transfer_seconds=transfer,
                      total_seconds=time.monotonic() - started)
