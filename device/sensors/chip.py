"""What every sensor chip reader offers the sensor array, and how a missing chip is reported
(sensors layer).

A reader owns one chip: `connect()` (re)creates its Adafruit driver, which resets and
configures the chip, and raises `SensorError` or `ChipIdentityError` when that fails;
`read(values)` writes the chip's channels into `values` and raises OSError on a bus error.
"""

from __future__ import annotations

from typing import Any, Protocol

from adafruit_bus_device.i2c_device import I2CDevice

from device.errors import SensorError


class ChipReader(Protocol):
    name: str
    address: int
    channels: tuple[str, ...]

    @property
    def connected(self) -> bool: ...

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def read(self, values: dict[str, float]) -> None: ...


def devices_answering(bus: Any) -> str:
    """The addresses that answer a bus scan, for error messages ("0x48, 0x5A", "none")."""
    if not bus.try_lock():
        return "unknown (bus busy)"
    try:
        found = bus.scan()
    except OSError as err:
        return f"unknown (scan failed: {err})"
    finally:
        bus.unlock()
    return ", ".join(f"0x{a:02X}" for a in found) or "none"


def probe(bus: Any, address: int, part: str, wiring_hint: str) -> None:
    """Raise SensorError, listing what does answer, when nothing ACKs at `address`."""
    try:
        I2CDevice(bus, address)
    except ValueError:
        raise SensorError(
            f"no {part} answered at I2C address 0x{address:02X} (devices answering: "
            f"{devices_answering(bus)}). {wiring_hint}") from None
