"""One end of the serial link: frames out, frames in, JSON messages (flash layer).

Both halves of the protocol talk through a `FrameLink` wrapped around a pyserial `Serial` (or
anything with `write`, `read`, `in_waiting` and `fileno`). Waiting is done with select() on the
port's descriptor, so neither side spins nor reconfigures the port's timeout per call.

Sessions: the sender draws a random 16-bit id per attempt; each side drops frames of other
sessions, so a frame delayed or duplicated from an earlier attempt can never be taken as current.
"""

from __future__ import annotations

import json
import select
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from device.errors import FlashError
from device.flash.frames import MAX_PAYLOAD, Frame, FrameDecoder, encode
from device.safe_read import loads_json

DEFAULT_BAUD = 115200


class SerialPort(Protocol):
    in_waiting: int

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...

    def fileno(self) -> int: ...


class FrameLink:
    """`max_payload` and `baud` tune the decoder: the longest frame taken, and how long a partial
    frame may take to arrive before it is dropped (see `FrameDecoder`)."""

    def __init__(self, port: SerialPort, *, max_payload: int = MAX_PAYLOAD, baud: int | None = None) -> None:
        self.port = port
        self.decoder = FrameDecoder(max_payload=max_payload,
                                    **({"byte_seconds": 10.0 / baud} if baud else {}))
        self.bytes_out = 0

    def send(self, frame: Frame) -> None:
        data = encode(frame)
        try:
            self.port.write(data)
        except OSError as bad:  # pyserial's SerialException and SerialTimeoutException are OSErrors
            raise FlashError(f"cannot write to the serial port: {bad}") from None
        self.bytes_out += len(data)

    def poll(self, wait: float) -> list[Frame]:
        """Frames that arrived, waiting up to `wait` seconds for the first byte."""
        try:
            if not self.port.in_waiting:
                readable, _, _ = select.select([self.port.fileno()], [], [], max(0.0, wait))
                if not readable:
                    # No bytes, but time passed: a partial frame's deadline may have expired.
                    return self.decoder.feed(b"", time.monotonic())
            waiting = self.port.in_waiting
            data = self.port.read(waiting or 1)
        except OSError as bad:
            raise FlashError(f"cannot read from the serial port: {bad}") from None
        return self.decoder.feed(data, time.monotonic())


def json_payload(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def parse_json_payload(frame: Frame, what: str) -> dict[str, Any]:
    """A frame's JSON object, read as hostile input (bounded depth, no giant numbers)."""
    doc = loads_json(bytes(frame.payload), source=f"malformed {what} frame", error=FlashError,
                     max_bytes=MAX_PAYLOAD)
    if not isinstance(doc, dict):
        raise FlashError(f"malformed {what} frame: its payload is not a JSON object")
    return doc


@dataclass(frozen=True)
class SerialTarget:
    """`serial:///dev/ttyACM0?baud=115200` taken apart."""

    device: str
    baud: int = DEFAULT_BAUD

    @staticmethod
    def parse(url: str) -> SerialTarget:
        parsed = urlparse(url)
        if parsed.scheme != "serial" or not parsed.path or parsed.netloc:
            raise FlashError(f"{url!r} is not a serial target; write serial:///dev/ttyACM0[?baud=N]")
        query = parse_qs(parsed.query)
        unknown = set(query) - {"baud"}
        if unknown:
            raise FlashError(f"{url!r}: unknown option(s) {', '.join(sorted(unknown))}; only baud= is known")
        baud = DEFAULT_BAUD
        if "baud" in query:
            try:
                baud = int(query["baud"][-1])
            except ValueError:
                baud = 0
            if baud <= 0:
                raise FlashError(f"{url!r}: baud must be a positive integer")
        return SerialTarget(parsed.path, baud)


def open_serial(device: str, baud: int, *, write_timeout: float = 30.0) -> Any:
    """Open a serial device in raw mode with pyserial (imported here: only flashing needs it).

    `write_timeout` bounds a write into a link that stopped draining (a stall is reported, not
    waited out forever).
    """
    import serial

    try:
        return serial.Serial(device, baudrate=baud, timeout=0, write_timeout=write_timeout,
                             exclusive=True)
    except (serial.SerialException, OSError, ValueError) as bad:
        raise FlashError(f"cannot open serial device {device}: {bad}") from None
