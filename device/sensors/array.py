"""All sensor chips polled together into one `SensorFrame` per poll, surviving bus faults
(sensors layer).

An unplugged sensor must never stop the sound, so `poll()` never raises for a bus error. When
a chip's read fails, its channels keep their last good values and are marked stale. After
`fail_limit` failures in a row (10 polls, ~10 ms at 1 kHz: a cable glitch, even one losing a
tenth of all transactions, almost never fails ten in a row; an unplugged chip does), or at once
when the chip reports that it was reset, the chip is considered lost: its driver is dropped and
re-created (which resets and configures the chip) on a later poll, retrying with a backoff that
doubles from `backoff_min` up to `backoff_max` seconds while the bus stays silent. Counters for
status pages and tests come from `status()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from device.errors import ChipIdentityError, ConfigError, SensorError
from device.sensors.chip import ChipReader
from device.sensors.frame import SensorFrame

EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChipStatus:
    """One chip's health. `failed_reads` counts polls whose read failed, `failed_connects` start or
    re-initialisation attempts that failed, `reinits` successful re-initialisations after a loss."""

    name: str
    address: int
    channels: tuple[str, ...]
    connected: bool
    failed_reads: int
    failed_connects: int
    reinits: int
    last_error: str | None


@dataclass(frozen=True)
class SensorStatus:
    polls: int
    chips: tuple[ChipStatus, ...]

    @property
    def failed_reads(self) -> int:
        return sum(c.failed_reads for c in self.chips)

    @property
    def reinits(self) -> int:
        return sum(c.reinits for c in self.chips)

    @property
    def all_connected(self) -> bool:
        return all(c.connected for c in self.chips)

    def chip(self, name: str) -> ChipStatus:
        for chip in self.chips:
            if chip.name == name:
                return chip
        raise KeyError(f"no sensor chip named {name!r}; chips: {[c.name for c in self.chips]}")


class _ChipLink:
    """One chip's connection state machine: connected -> failing -> lost -> reconnecting."""

    def __init__(self, reader: ChipReader, fail_limit: int, backoff_min: float, backoff_max: float) -> None:
        self.reader = reader
        self.stale_set = frozenset(reader.channels)
        self.fail_limit = fail_limit
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.backoff = backoff_min
        self.next_attempt = 0.0
        self.consecutive_failures = 0
        self.failed_reads = 0
        self.failed_connects = 0
        self.reinits = 0
        self.ever_connected = False
        self.last_error: str | None = None

    def connect(self) -> None:
        self.reader.connect()
        if self.ever_connected:
            self.reinits += 1
        self.ever_connected = True
        self.consecutive_failures = 0
        self.backoff = self.backoff_min

    def lose(self, now: float) -> None:
        self.reader.disconnect()
        self.next_attempt = now

    def connect_failed(self, now: float, err: OSError) -> None:
        self.failed_connects += 1
        self.last_error = str(err)
        self.next_attempt = now + self.backoff
        self.backoff = min(self.backoff * 2.0, self.backoff_max)

    def poll(self, now: float, values: dict[str, float]) -> bool:
        """Read the chip into `values`; False when its channels are stale after this poll."""
        reader = self.reader
        if not reader.connected:
            if now < self.next_attempt:
                return False
            try:
                self.connect()
            except OSError as err:  # SensorError and ChipIdentityError are OSErrors too
                self.connect_failed(now, err)
                return False
        try:
            reader.read(values)
        except SensorError as err:  # the chip answered but was reset: re-initialise at once
            self.failed_reads += 1
            self.last_error = str(err)
            self.lose(now)
            return False
        except OSError as err:
            self.failed_reads += 1
            self.consecutive_failures += 1
            self.last_error = str(err)
            if self.consecutive_failures >= self.fail_limit:
                self.lose(now)
            return False
        self.consecutive_failures = 0
        return True

    def status(self) -> ChipStatus:
        return ChipStatus(self.reader.name, self.reader.address, self.reader.channels, self.reader.connected,
                          self.failed_reads, self.failed_connects, self.reinits, self.last_error)


class SensorArray:
    """Polls chip readers (`TouchSensor`, `FlexSensor`) into SensorFrames.

    Chips are connected here. With `require_all` (the default) a chip that cannot be started
    raises its `SensorError` so a wiring fault is reported before anything plays; without it,
    a missing chip's channels stay stale (value 0) until it answers. A chip that answers as
    the wrong part always raises `ChipIdentityError` at start: retrying cannot fix that.
    `clock` gives frame timestamps and paces reconnection attempts.
    """

    def __init__(self, readers: Sequence[ChipReader], *, clock: Callable[[], float] = time.monotonic,
                 fail_limit: int = 10, backoff_min: float = 0.02, backoff_max: float = 1.0,
                 require_all: bool = True, on_close: Callable[[], None] | None = None) -> None:
        if fail_limit < 1 or not 0 < backoff_min <= backoff_max:
            raise ConfigError(f"need fail_limit >= 1 and 0 < backoff_min <= backoff_max, got {fail_limit}, "
                              f"{backoff_min}, {backoff_max}")
        names = [name for reader in readers for name in reader.channels]
        if len(set(names)) != len(names):
            raise ConfigError(f"two sensor chips share a channel name: {names}")
        self._clock = clock
        self._links = [_ChipLink(reader, fail_limit, backoff_min, backoff_max) for reader in readers]
        self._values: dict[str, float] = dict.fromkeys(names, 0.0)
        self.channels: tuple[str, ...] = tuple(names)
        self._on_close = on_close
        self._polls = 0
        now = clock()
        for link in self._links:
            try:
                link.connect()
            except ChipIdentityError:
                raise
            except SensorError as err:
                if require_all:
                    raise
                link.connect_failed(now, err)

    def poll(self) -> SensorFrame:
        now = self._clock()
        values = self._values
        stale = EMPTY
        for link in self._links:
            if not link.poll(now, values):
                stale = link.stale_set if not stale else stale | link.stale_set
        self._polls += 1
        return SensorFrame(now, dict(values), stale)

    @property
    def readers(self) -> tuple[ChipReader, ...]:
        return tuple(link.reader for link in self._links)

    def status(self) -> SensorStatus:
        return SensorStatus(self._polls, tuple(link.status() for link in self._links))

    def close(self) -> None:
        for link in self._links:
            link.reader.disconnect()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()
