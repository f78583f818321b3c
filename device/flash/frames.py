"""Frames of the USB-serial flashing protocol: layout, encoding, resynchronising decoder (flash layer).

Every frame, little-endian:

    offset 0   4 bytes  magic b"\\xa5LF\\x5a"
    offset 4   uint8    frame type (FrameType)
    offset 5   uint8    protocol version (1)
    offset 6   uint16   session id (chosen by the sender per attempt; stale frames are ignored)
    offset 8   uint64   byte offset (DATA: where the payload goes; ACK: next byte expected)
    offset 16  uint32   payload length L (at most MAX_PAYLOAD)
    offset 20  uint32   CRC32 of bytes 0..19
    offset 24  L bytes  payload
    24+L       uint32   CRC32 of the payload

The header has its own CRC so a corrupted length is caught before the decoder waits for a payload
that will never come. Payload bytes are not escaped: after garbage or a broken frame the decoder
scans for the next magic; a magic that happens to occur inside a payload fails the header CRC and
is skipped. Overhead is 28 bytes per frame (0.7 % at 4 KiB payloads).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"\xa5LF\x5a"
PROTOCOL_VERSION = 1
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
    return b"".join((head, HEADER_CRC.pack(zlib.crc32(head)), frame.payload,
                     HEADER_CRC.pack(zlib.crc32(frame.payload))))


class FrameDecoder:
    """Turns a byte stream with noise into frames; counts what it had to throw away."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.garbage_bytes = 0
        self.bad_frames = 0

    def _skip(self, count: int) -> None:
        self.garbage_bytes += count
        del self._buf[:count]

    def feed(self, data: bytes) -> list[Frame]:
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
            if zlib.crc32(memoryview(buf)[:HEADER.size]) != head_crc or length > MAX_PAYLOAD:
                self.bad_frames += 1
                self._skip(1)
                continue
            end = HEADER_SIZE + length
            if len(buf) < end + TRAILER_SIZE:
                return frames
            payload = bytes(buf[HEADER_SIZE:end])
            (payload_crc,) = HEADER_CRC.unpack_from(buf, end)
            if zlib.crc32(payload) != payload_crc:
                self.bad_frames += 1
                self._skip(1)
                continue
            del buf[:end + TRAILER_SIZE]
            frames.append(Frame(ftype, session, offset, payload, version))
