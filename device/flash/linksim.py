"""A simulated serial line between two pty pairs: paced, lossy, stallable (flash layer, test double).

    sender -pyserial- end_a (pty slave) | master A <-relay-> master B | end_b (pty slave) -pyserial- device

`LinkSim` joins two pseudo-terminals with a relay thread, so both programs open an ordinary tty
path with pyserial (nothing in the protocol code is replaced). The relay can:

- pace each direction at a baud rate, 10 bits per byte as on a UART with 8N1 framing (a pty
  itself has no baud rate and moves hundreds of MB/s);
- per forwarded unit (the bytes from one frame magic to the next, i.e. about one frame) flip a
  bit, drop it, send it twice, or put random garbage before it;
- stall: forward nothing for a while, once a direction has forwarded a given number of bytes.

Used by the serial flashing tests and by `latent bench flash`. The slaves are put in raw mode at
once, so nothing is echoed before the programs open them.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import random
import select
import threading
import time
import tty
from dataclasses import dataclass

from device.flash.frames import MAGIC

IDLE_FLUSH_S = 0.002
MAX_BUFFERED = 1 << 20


@dataclass(frozen=True)
class LinkFaults:
    bit_errors: float = 0.0
    drops: float = 0.0
    duplicates: float = 0.0
    garbage: float = 0.0
    stall_at: int | None = None
    stall_seconds: float = 0.0

    @property
    def lossy(self) -> bool:
        return any((self.bit_errors, self.drops, self.duplicates, self.garbage))


class _Direction:
    def __init__(self, src: int, dst: int, faults: LinkFaults, bytes_per_s: float | None,
                 rng: random.Random) -> None:
        self.src, self.dst, self.faults, self.rate, self.rng = src, dst, faults, bytes_per_s, rng
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.last_rx = 0.0
        self.tokens = 0.0
        self.last_tick = time.monotonic()
        self.stalled_until = 0.0
        self.stall_done = faults.stall_at is None
        self.stats = {"bytes_in": 0, "bytes_out": 0, "dropped": 0, "duplicated": 0, "corrupted": 0,
                      "garbage": 0, "stalls": 0}

    def take(self, data: bytes, now: float) -> None:
        self.stats["bytes_in"] += len(data)
        self.last_rx = now
        if self.faults.lossy:
            self.inbuf += data
        else:
            self.outbuf += data

    def split(self, now: float) -> None:
        """Cut held input into units at frame magics and pass them on through the faults."""
        buf = self.inbuf
        if not buf:
            return
        marks = [i for i in _find_all(buf, MAGIC)]
        if not marks or marks[0] != 0:
            marks.insert(0, 0)
        complete_to = marks[-1]
        if now - self.last_rx >= IDLE_FLUSH_S:
            complete_to = len(buf)
        bounds = [m for m in marks if m < complete_to] + [complete_to]
        for start, end in itertools.pairwise(bounds):
            self._pass(bytes(buf[start:end]))
        del buf[:complete_to]

    def _pass(self, unit: bytes) -> None:
        f, rng = self.faults, self.rng
        if rng.random() < f.garbage:
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48)))
            self.outbuf += (MAGIC + junk) if rng.random() < 0.5 else junk
            self.stats["garbage"] += 1
        if rng.random() < f.drops:
            self.stats["dropped"] += 1
            return
        if unit and rng.random() < f.bit_errors:
            flipped = bytearray(unit)
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            unit = bytes(flipped)
            self.stats["corrupted"] += 1
        self.outbuf += unit
        if rng.random() < f.duplicates:
            self.outbuf += unit
            self.stats["duplicated"] += 1

    def pump(self, now: float) -> None:
        if self.rate is not None:
            cap = max(512.0, self.rate * 0.02)
            self.tokens = min(cap, self.tokens + self.rate * (now - self.last_tick))
        self.last_tick = now
        if not self.outbuf or now < self.stalled_until:
            return
        budget = len(self.outbuf) if self.rate is None else int(self.tokens)
        if self.faults.stall_at is not None and not self.stall_done:
            budget = min(budget, max(0, self.faults.stall_at - self.stats["bytes_out"]))
            if budget == 0:
                self.stall_done = True
                self.stalled_until = now + self.faults.stall_seconds
                self.stats["stalls"] += 1
                return
        if budget <= 0:
            return
        try:
            written = os.write(self.dst, self.outbuf[:budget])
        except BlockingIOError:
            return
        except OSError as bad:
            if bad.errno != errno.EIO:  # EIO: nobody has the far end open right now
                raise
            return
        del self.outbuf[:written]
        self.stats["bytes_out"] += written
        if self.rate is not None:
            self.tokens -= written

    @property
    def busy(self) -> bool:
        return bool(self.outbuf or self.inbuf)


def _find_all(buf: bytearray, needle: bytes) -> list[int]:
    found, start = [], 0
    while (i := buf.find(needle, start)) >= 0:
        found.append(i)
        start = i + 1
    return found


class LinkSim:
    """See the module docstring. `baud=None` forwards as fast as the ptys go."""

    def __init__(self, *, baud: int | None = None, a_to_b: LinkFaults = LinkFaults(),
                 b_to_a: LinkFaults = LinkFaults(), seed: int = 0) -> None:
        self.baud = baud
        (self._master_a, self._slave_a), (self._master_b, self._slave_b) = os.openpty(), os.openpty()
        for fd in (self._slave_a, self._slave_b):
            tty.setraw(fd)
        for fd in (self._master_a, self._master_b):
            os.set_blocking(fd, False)
        self.end_a = os.ttyname(self._slave_a)
        self.end_b = os.ttyname(self._slave_b)
        rate = None if baud is None else baud / 10.0
        rng = random.Random(seed)
        self.a_to_b = _Direction(self._master_a, self._master_b, a_to_b, rate, random.Random(rng.random()))
        self.b_to_a = _Direction(self._master_b, self._master_a, b_to_a, rate, random.Random(rng.random()))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="linksim", daemon=True)

    def start(self) -> LinkSim:
        self._thread.start()
        return self

    def stall(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        for direction in (self.a_to_b, self.b_to_a):
            direction.stalled_until = until
            direction.stats["stalls"] += 1

    def stats(self) -> dict[str, dict[str, int]]:
        return {"a_to_b": dict(self.a_to_b.stats), "b_to_a": dict(self.b_to_a.stats)}

    def _run(self) -> None:
        directions = (self.a_to_b, self.b_to_a)
        while not self._stop.is_set():
            busy = any(d.busy for d in directions)
            readers = [d.src for d in directions if len(d.outbuf) + len(d.inbuf) < MAX_BUFFERED]
            readable, _, _ = select.select(readers, [], [], 0.001 if busy else 0.02)
            now = time.monotonic()
            for d in directions:
                if d.src in readable:
                    try:
                        data = os.read(d.src, 65536)
                    except (BlockingIOError, InterruptedError):
                        data = b""
                    except OSError as bad:
                        if bad.errno != errno.EIO:
                            raise
                        data = b""
                    if data:
                        d.take(data, now)
            for d in directions:
                d.split(now)
                d.pump(now)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master_a, self._slave_a, self._master_b, self._slave_b):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> LinkSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
