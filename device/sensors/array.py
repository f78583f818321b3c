"""All sensor chips polled together into one `SensorFrame` per poll, surviving bus faults
(sensors layer).

An unplugged sensor must never stop the sound, so `poll()` never raises for a bus error. When
a chip's read fails, its channels keep their last good values and are marked stale. After
`fail_limit` failures in a row (10 polls: a cable glitch, even one losing a tenth of all
transactions, almost never fails ten in a row; an unplugged chip does), or at once
when the chip reports that it was reset, the chip is considered lost: its driver is dropped and
re-created (which resets and configures the chip) on a later poll, retrying with a backoff that
doubles from `backoff_min` up to `backoff_max` seconds while the bus stays silent. Counters for
status pages and tests come from `status()`.

A chip reader with an `irq` line (the MPR121) lets the control loop sleep until something is
touched: `wait_for_activity` blocks on the line, and the poll after it reports activity reads
only that chip, so a note-on does not wait for the ADC. The line is trusted only while its chip
is connected and only when it was asserted anew since the last read of the chip (a line still
low after the read that should have released it is stuck: a shorted wire, a chip that stopped
answering); otherwise the wait simply sleeps its timeout, so no fault can make it hang or spin.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from device.bus.irq_line import IrqLine
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
    """`polls` counts every poll, `activity_polls` those that followed a wake-up by a chip's IRQ
    (reading that chip only), `stuck_irq_waits` waits that found the line stuck and slept instead."""

    polls: int
    chips: tuple[ChipStatus, ...]
    activity_polls: int = 0
    stuck_irq_waits: int = 0

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
        self.fresh = False  # whether the last poll of this chip got its values

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
    `clock` gives frame timestamps and paces reconnection attempts; `sleep` is how
    `wait_for_activity` waits when there is no line to wait on.
    """

    def __init__(self, readers: Sequence[ChipReader], *, clock: Callable[[], float] = time.monotonic,
                 fail_limit: int = 10, backoff_min: float = 0.02, backoff_max: float = 1.0,
                 require_all: bool = True, on_close: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
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
        self._sleep = sleep
        self._polls = 0
        self._activity_polls = 0
        self._stuck_waits = 0
        # The first chip with an IRQ line wakes the control loop (one line is all a loop can wait on).
        self._irq_link = next((link for link in self._links if _irq_of(link.reader) is not None), None)
        self._irq: IrqLine | None = _irq_of(self._irq_link.reader) if self._irq_link is not None else None
        self._edges_read: int | None = None  # the line's edge count when its chip was last read
        self._activity = False
        self.activity_problem: str | None = None  # why a wired IRQ line could not be opened, if so
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
        """Read every chip (after an activity wake-up: only the one that signalled) into a frame."""
        now = self._clock()
        values = self._values
        stale = EMPTY
        only = self._irq_link if self._activity else None
        self._activity = False
        if only is not None:
            self._activity_polls += 1
        for link in self._links:
            if only is None or link is only:
                if link is self._irq_link:
                    assert self._irq is not None
                    self._edges_read = self._irq.edges  # before the read, which releases the line
                link.fresh = link.poll(now, values)
            if not link.fresh:  # a chip skipped this time keeps its values and its stale flag
                stale = link.stale_set if not stale else stale | link.stale_set
        self._polls += 1
        return SensorFrame(now, dict(values), stale)

    @property
    def has_activity_line(self) -> bool:
        """True when a chip's IRQ line can wake `wait_for_activity` (else it only sleeps)."""
        return self._irq is not None

    def wait_for_activity(self, timeout_s: float) -> bool:
        """Block until the touch chip signals a change (True) or `timeout_s` passes (False).

        Never spins and never hangs: without a line, while its chip is not connected, or while the
        line is stuck, this sleeps `timeout_s` and returns False. After True, the next `poll()`
        reads only the chip that signalled."""
        line, link = self._irq, self._irq_link
        if line is None or link is None or not link.reader.connected:
            self._sleep(max(timeout_s, 0.0))
            return False
        if line.asserted and line.edges == self._edges_read:
            # Still low since the read that should have released it: stuck, not a new touch.
            self._stuck_waits += 1
            self._sleep(max(timeout_s, 0.0))
            return False
        if line.wait(timeout_s):
            self._activity = True
            return True
        return False

    @property
    def readers(self) -> tuple[ChipReader, ...]:
        return tuple(link.reader for link in self._links)

    def status(self) -> SensorStatus:
        return SensorStatus(self._polls, tuple(link.status() for link in self._links), self._activity_polls,
                            self._stuck_waits)

    def close(self) -> None:
        for link in self._links:
            link.reader.disconnect()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def _irq_of(reader: Any) -> IrqLine | None:
    """A reader's IRQ line, if it has one wired (`TouchSensor.irq`)."""
    line: IrqLine | None = getattr(reader, "irq", None)
    return line
