"""Frames of the USB-serial flashing protocol: layout, encoding, resynchronising decoder (flash layer).

Every frame, little-endian:

    offset 0   4 bytes  magic b"\\xa5LF\\x5a"
    offset 4   uint8    frame type (FrameType)
    offset 5   uint8    protocol version (2)
    offset 6   uint16   session id (chosen by the sender per attempt; stale frames are ignored)
    offset 8   uint64   byte offset (DATA: where the payload goes; ACK: next byte expected)
    offset 16  uint32   payload length L (at most MAX_PAYLOAD)
    offset 20  uint32   CRC32 of bytes 0..19
    offset 24  L bytes  payload
    24+L       uint32   CRC32 of bytes 0..19 followed by the payload

The trailer covers the header too. In version 1 it covered the payload alone, and CRC32's
structure made two stale headers decode as frames that were never sent: a header announcing 20
bytes took the next frame's header and CRC as its payload and trailer (crc32(H) follows H), and
one announcing 4 bytes was completed by eight 0xff bytes of an idle line (crc32(ff ff ff ff) is
ff ff ff ff). Both found by the fuzz tests. A version-1 frame is still recognised, so the device
can tell an old sender to update instead of staying silent.

The header has its own CRC so a corrupted length is caught before the decoder waits for a payload
that will never come. Payload bytes are not escaped: after garbage or a broken frame the decoder
scans for the next magic; a magic that happens to occur inside a payload fails the header CRC and
is skipped. Overhead is 28 bytes per frame (0.7 % at 4 KiB payloads).

A header whose payload never arrives (a sender killed mid-frame, or a hostile 24 bytes announcing
64 KiB) must not hold the decoder: a partial frame has a deadline (a grace period plus three times
the time its bytes take at the line's rate), after which it is dropped and the bytes behind its
header are scanned again, so the next sender's HELLO is found. Deadlines need the time, which the
link passes to `feed` on every poll, data or not.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"\xa5LF\x5a"
PROTOCOL_VERSION = 2
LEGACY_VERSION = 1
HEADER = struct.Struct("<4sBBHQI")
HEADER_CRC = struct.Struct("<I")
HEADER_SIZE = HEADER.size + HEADER_CRC.size  # 24
TRAILER_SIZE = 4
FRAME_OVERHEAD = HEADER_SIZE + TRAILER_SIZE
MAX_PAYLOAD = 64 * 1024


class FrameType(IntEnum):
    HELLO = 1    # sender -> device: JSON offer (name, size, sha256, signature, chunk, restart)
    READY = 2    # device -> sender: JSON (offset to resume from, sha256 of the staged prefix, chunk)
    DATA = 3     # sender -> device: bundle bytes at `offset`
    ACK = 4      # device -> sender: `offset` = next byte expected (cumulative)
    DONE = 5     # sender -> device: all bytes acknowledged; verify and install
    RESULT = 6   # device -> sender: JSON install result
    ERROR = 7    # either way: UTF-8 reason; the session is over


@dataclass(frozen=True)
class Frame:
    type: int
    session: int
    offset: int = 0
    payload: bytes | memoryview = b""
    version: int = PROTOCOL_VERSION


def encode(frame: Frame) -> bytes:
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD}")
    head = HEADER.pack(MAGIC, frame.type, frame.version, frame.session, frame.offset, len(frame.payload))
    head_crc = zlib.crc32(head)
    return b"".join((head, HEADER_CRC.pack(head_crc), frame.payload,
                     HEADER_CRC.pack(zlib.crc32(frame.payload, head_crc))))


class FrameDecoder:
    """Turns a byte stream with noise into frames; counts what it had to throw away.

    `max_payload`: longer announced payloads are treated as a broken header (a receiver that only
    ever takes small frames sets it low, so a hostile length cannot make it wait for much).
    `byte_seconds`: the time one byte takes on the line (10 / baud), for partial-frame deadlines.
    """

    def __init__(self, *, max_payload: int = MAX_PAYLOAD, byte_seconds: float = 10 / 9600,
                 partial_grace: float = 1.0) -> None:
        self._buf = bytearray()
        self.max_payload = min(max_payload, MAX_PAYLOAD)
        self.byte_seconds = byte_seconds
        self.partial_grace = partial_grace
        self._pending_since: float | None = None
        self.garbage_bytes = 0
        self.bad_frames = 0
        self.stalled_frames = 0

    def _skip(self, count: int) -> None:
        self.garbage_bytes += count
        self._pending_since = None
        del self._buf[:count]

    def partial_deadline(self, length: int) -> float:
        """Seconds a frame with a `length`-byte payload may take to arrive in full."""
        return self.partial_grace + 3.0 * (HEADER_SIZE + length + TRAILER_SIZE) * self.byte_seconds

    def feed(self, data: bytes, now: float | None = None) -> list[Frame]:
        """Frames completed by `data` (which may be empty: a poll that only lets deadlines pass)."""
        now = time.monotonic() if now is None else now
        self._buf += data
        frames: list[Frame] = []
        buf = self._buf
        while True:
            start = buf.find(MAGIC)
            if start < 0:
                # Keep a tail that may be the first bytes of a magic split across reads.
                self._skip(max(0, len(buf) - (len(MAGIC) - 1)))
                return frames
            if start:
                self._skip(start)
            if len(buf) < HEADER_SIZE:
                return frames
            _magic, ftype, version, session, offset, length = HEADER.unpack_from(buf, 0)
            (head_crc,) = HEADER_CRC.unpack_from(buf, HEADER.size)
            if zlib.crc32(memoryview(buf)[:HEADER.size]) != head_crc or length > self.max_payload:
                self.bad_frames += 1
                self._skip(1)
                continue
            end = HEADER_SIZE + length
            if len(buf) < end + TRAILER_SIZE:
                if self._pending_since is None:
                    self._pending_since = now
                if now - self._pending_since <= self.partial_deadline(length):
                    return frames
                # Its payload never came: drop the header, look for a frame behind it.
                self.stalled_frames += 1
                self._skip(1)
                continue
            payload = bytes(buf[HEADER_SIZE:end])
            (payload_crc,) = HEADER_CRC.unpack_from(buf, end)
            # crc32(payload, crc32(header)) is the CRC of header + payload.
            if zlib.crc32(payload, head_crc) != payload_crc and not (
                    version == LEGACY_VERSION and zlib.crc32(payload) == payload_crc):
                self.bad_frames += 1
                self._skip(1)
                continue
            del buf[:end + TRAILER_SIZE]
            self._pending_since = None
            frames.append(Frame(ftype, session, offset, payload, version))
