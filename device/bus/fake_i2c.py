"""A simulated I2C bus that the real Adafruit drivers can talk to (bus layer).

`FakeI2C` speaks the five methods adafruit_bus_device uses on a Blinka `busio.I2C`
(`try_lock`, `unlock`, `writeto`, `readfrom_into`, `writeto_then_readfrom`, plus `scan`)
and hands each transaction to the fake chip registered at the address. Faults are injected
here, where they happen on a real instrument: a seeded per-transaction error rate (EIO, a
glitch on a long cable) and unplugging the whole bus or one chip (ENXIO, no ACK; replugging
power-cycles the chip unless told otherwise). It counts and optionally logs every transaction.

Given `speed_hz` (400 kHz on the instrument), each transaction also takes the time the same
bytes take on a real bus (`transfer_bits`), by sleeping: a real transfer blocks in the kernel's
ioctl, releasing the CPU and the GIL, so a busy-wait here would misstate what polling costs.
The kernel's own per-transfer overhead on a Pi (tens of microseconds) is not added.
"""

from __future__ import annotations

import errno
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from device.errors import SimulationError

FAST_MODE_HZ = 400_000.0  # the instrument's bus speed (dtparam=i2c_arm_baudrate=400000)
BITS_PER_BYTE = 9  # 8 data bits + the ACK/NAK bit
START_BITS = 1  # a start or repeated-start condition takes about one bit time
STOP_BITS = 1


def transfer_bits(op: str, written: int, read: int) -> int:
    """Bit times one transaction keeps the bus busy: start, address byte, the data bytes, and for
    `writeto_then_readfrom` a repeated start and the address again before the read; then stop.
    An address that nobody ACKs ends the transaction after its address byte."""
    bits = START_BITS + BITS_PER_BYTE * (1 + written + read) + STOP_BITS
    if op == "writeto_then_readfrom":
        bits += START_BITS + BITS_PER_BYTE
    return bits


class I2CTarget(Protocol):
    """What a fake chip implements: the bytes of one write or one read after its address ACK."""

    def write(self, data: bytes) -> None: ...

    def read(self, count: int) -> bytes: ...

    def power_on_reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Transaction:
    """One logged bus transaction. `errno` is set when it failed (then nothing reached the chip)."""

    op: str
    address: int
    written: bytes
    read: bytes
    errno: int | None


class FakeI2C:
    """The bus: chips by 7-bit address, fault injection, counters and an optional log.

    `error_rate` is the probability that a transaction fails with EIO before it reaches the
    chip; `seed` makes the failures repeatable. `log_size` > 0 keeps the last that many
    transactions in `log`. `counts` holds "writeto", "readfrom_into", "writeto_then_readfrom",
    "failed" and "nak" (no chip answered) totals. With `speed_hz` every transaction calls
    `sleep` for its wire time (`last_charge_s`; `charged_s` sums them); None takes no time.
    """

    def __init__(self, chips: dict[int, I2CTarget] | None = None, *, error_rate: float = 0.0,
                 seed: int = 0, log_size: int = 0, speed_hz: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if speed_hz is not None and not 1_000.0 <= speed_hz <= 5_000_000.0:
            raise SimulationError(f"speed_hz must be an I2C clock from 1 kHz to 5 MHz (e.g. 400000), "
                                  f"got {speed_hz}")
        self.speed_hz = speed_hz
        self._sleep = sleep
        self.last_charge_s = 0.0
        self.charged_s = 0.0
        self._chips: dict[int, I2CTarget] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._error_rate = 0.0
        self.error_rate = error_rate
        self._bus_unplugged = False
        self._unplugged_chips: set[int] = set()
        self.counts: Counter[str] = Counter()
        self.log: deque[Transaction] | None = deque(maxlen=log_size) if log_size > 0 else None
        for address, chip in (chips or {}).items():
            self.attach(address, chip)

    # --- wiring and faults (what a test or the simulator does) ---------------------------
    def attach(self, address: int, chip: I2CTarget) -> None:
        if not 0x08 <= address <= 0x77:
            raise SimulationError(f"I2C address 0x{address:02X} is outside the 7-bit range 0x08..0x77")
        if address in self._chips:
            raise SimulationError(f"a chip is already attached at 0x{address:02X}; detach it first")
        self._chips[address] = chip

    def detach(self, address: int) -> I2CTarget:
        try:
            return self._chips.pop(address)
        except KeyError:
            raise SimulationError(f"no chip attached at 0x{address:02X}") from None

    @property
    def error_rate(self) -> float:
        return self._error_rate

    @error_rate.setter
    def error_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise SimulationError(f"error_rate must be a probability in 0..1, got {rate}")
        self._error_rate = float(rate)

    @property
    def unplugged(self) -> bool:
        """True while the whole bus is disconnected (every transaction fails)."""
        return self._bus_unplugged

    def unplug(self, address: int | None = None) -> None:
        """Disconnect the whole bus (address None) or the one chip at `address`."""
        if address is None:
            self._bus_unplugged = True
        else:
            self._chip_at(address)
            self._unplugged_chips.add(address)

    def replug(self, address: int | None = None, *, power_cycle: bool = True) -> None:
        """Reconnect; with `power_cycle` the chips come back in their power-on state, as they do
        when a connector carrying their supply is pulled and pushed back."""
        affected: set[int]
        if address is None:
            affected = set(self._chips) if self._bus_unplugged else set()
            affected |= self._unplugged_chips
            self._bus_unplugged = False
            self._unplugged_chips.clear()
        else:
            self._chip_at(address)
            affected = {address} if address in self._unplugged_chips else set()
            self._unplugged_chips.discard(address)
        if power_cycle:
            for addr in affected:
                self._chips[addr].power_on_reset()

    # --- the busio.I2C surface the drivers use -------------------------------------------
    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        if not self._lock.locked():
            raise SimulationError("unlock() on a fake I2C bus that is not locked")
        self._lock.release()

    def scan(self) -> list[int]:
        self._require_lock("scan")
        if self._bus_unplugged:
            return []
        return sorted(a for a in self._chips if a not in self._unplugged_chips)

    def writeto(self, address: int, buffer: bytes | bytearray | memoryview, *, start: int = 0,
                end: int | None = None) -> None:
        data = bytes(buffer[start:end])
        chip = self._begin("writeto", address, data, 0)
        chip.write(data)
        self._record("writeto", address, data, b"")

    def readfrom_into(self, address: int, buffer: bytearray | memoryview, *, start: int = 0,
                      end: int | None = None) -> None:
        stop = len(buffer) if end is None else end
        chip = self._begin("readfrom_into", address, b"", stop - start)
        data = chip.read(stop - start)
        buffer[start:stop] = data
        self._record("readfrom_into", address, b"", data)

    def writeto_then_readfrom(self, address: int, buffer_out: bytes | bytearray | memoryview,
                              buffer_in: bytearray | memoryview, *, out_start: int = 0,
                              out_end: int | None = None, in_start: int = 0, in_end: int | None = None,
                              stop: bool = False) -> None:
        data = bytes(buffer_out[out_start:out_end])
        in_stop = len(buffer_in) if in_end is None else in_end
        chip = self._begin("writeto_then_readfrom", address, data, in_stop - in_start)
        chip.write(data)
        received = chip.read(in_stop - in_start)
        buffer_in[in_start:in_stop] = received
        self._record("writeto_then_readfrom", address, data, received)

    # --- internals -----------------------------------------------------------------------
    def _chip_at(self, address: int) -> I2CTarget:
        try:
            return self._chips[address]
        except KeyError:
            raise SimulationError(f"no chip attached at 0x{address:02X}") from None

    def _require_lock(self, op: str) -> None:
        if not self._lock.locked():
            raise SimulationError(f"{op}() on the fake I2C bus without holding its lock: "
                                  "call try_lock() first")

    def transfer_seconds(self, op: str, written: int, read: int) -> float:
        """Wire time of one transaction at `speed_hz` (0 when the bus takes no time)."""
        if self.speed_hz is None:
            return 0.0
        return transfer_bits(op, written, read) / self.speed_hz

    def _begin(self, op: str, address: int, written: bytes, read: int) -> I2CTarget:
        """Decide the fate of one transaction; raise the OSError Linux would, or return the chip.

        The wire time is taken before the chip is touched, so what is read is the chip's state
        at the end of the transfer, as on a real bus."""
        self._require_lock(op)
        self.counts[op] += 1
        chip = self._chips.get(address)
        if chip is None or self._bus_unplugged or address in self._unplugged_chips:
            self._charge("writeto", 0, 0)  # the address byte went out; nobody ACKed it
            self.counts["failed"] += 1
            self.counts["nak"] += 1
            self._record(op, address, written, b"", errno.ENXIO)
            raise OSError(errno.ENXIO, f"{os.strerror(errno.ENXIO)} (no ACK from 0x{address:02X})")
        self._charge(op, len(written), read)
        if self._error_rate and self._rng.random() < self._error_rate:
            self.counts["failed"] += 1
            self._record(op, address, written, b"", errno.EIO)
            raise OSError(errno.EIO, f"{os.strerror(errno.EIO)} (injected fault at 0x{address:02X})")
        return chip

    def _charge(self, op: str, written: int, read: int) -> None:
        if self.speed_hz is None:
            return
        seconds = self.transfer_seconds(op, written, read)
        self.last_charge_s = seconds
        self.charged_s += seconds
        self._sleep(seconds)

    def _record(self, op: str, address: int, written: bytes, read: bytes, code: int | None = None) -> None:
        if self.log is not None:
            self.log.append(Transaction(op, address, written, bytes(read), code))
