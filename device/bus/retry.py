"""An I2C bus wrapper that repeats failed transactions (bus layer).

A chip's start-up sequence is a hundred-odd transactions (the MPR121 driver's reset writes
every threshold and filter register); on a bus that loses one transaction in ten it would
almost never get through. Every transaction the drivers send is idempotent (register writes,
pointer-then-read), so repeating a failed one is safe. The sensors turn retries on while they
(re)initialise a chip and off while polling, where a failed read is cheaper to hold than to repeat.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from device.errors import ConfigError


class RetryingI2C:
    """Delegates the busio.I2C surface to `bus`, repeating a transaction up to `retries` more
    times when it raises OSError. `retried` counts the repeats, `gave_up` the final failures."""

    def __init__(self, bus: Any, retries: int = 0) -> None:
        if retries < 0:
            raise ConfigError(f"I2C retries must be >= 0, got {retries}")
        self.bus = bus
        self.retries = retries
        self.retried = 0
        self.gave_up = 0

    @contextlib.contextmanager
    def retrying(self, retries: int) -> Iterator[None]:
        """Use `retries` inside the block, restoring the previous setting after it."""
        previous, self.retries = self.retries, retries
        try:
            yield
        finally:
            self.retries = previous

    def try_lock(self) -> bool:
        return bool(self.bus.try_lock())

    def unlock(self) -> None:
        self.bus.unlock()

    def scan(self) -> list[int]:
        return list(self.bus.scan())

    def writeto(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        if not self.retries:
            self.bus.writeto(address, buffer, start=start, end=end)
            return
        self._repeat(self.bus.writeto, address, buffer, start=start, end=end)

    def readfrom_into(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        if not self.retries:
            self.bus.readfrom_into(address, buffer, start=start, end=end)
            return
        self._repeat(self.bus.readfrom_into, address, buffer, start=start, end=end)

    def writeto_then_readfrom(self, address: int, buffer_out: Any, buffer_in: Any, *, out_start: int = 0,
                              out_end: int | None = None, in_start: int = 0,
                              in_end: int | None = None, stop: bool = False) -> None:
        kwargs = {"out_start": out_start, "out_end": out_end, "in_start": in_start, "in_end": in_end,
                  "stop": stop}
        if not self.retries:
            self.bus.writeto_then_readfrom(address, buffer_out, buffer_in, **kwargs)
            return
        self._repeat(self.bus.writeto_then_readfrom, address, buffer_out, buffer_in, **kwargs)

    def _repeat(self, method: Any, *args: Any, **kwargs: Any) -> None:
        for attempt in range(self.retries + 1):
            try:
                method(*args, **kwargs)
                return
            except OSError:
                if attempt == self.retries:
                    self.gave_up += 1
                    raise
                self.retried += 1
