"""A chip's interrupt output as something a thread can block on (bus layer).

The MPR121 pulls its open-drain IRQ pin low when its touch status changes and lets it go when
the host reads the status registers. `IrqLine` is what the sensor layer sees of such a pin:
`wait(timeout_s)` blocks, without spinning, until the line is asserted (True) or the timeout
passes (False); `edges` counts assertions, so a reader can tell a fresh interrupt from a line
that stayed low after the read that should have released it (a stuck line). `FakeIrqLine` is
driven by the fake chip; `GpioIrqLine` is the real pin through gpiozero, pulled up on the Pi's
side, so an unplugged chip or wire reads as "no interrupt" and never as a stuck one.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class IrqLine(Protocol):
    @property
    def asserted(self) -> bool: ...

    @property
    def edges(self) -> int: ...

    def wait(self, timeout_s: float) -> bool: ...

    def close(self) -> None: ...


class FakeIrqLine:
    """An active-low interrupt output driven by a fake chip: `assert_()` pulls it low, `release()`
    lets it go. Waiting is a `threading.Event`, so a waiter sleeps in the kernel, not in Python."""

    def __init__(self) -> None:
        self._low = threading.Event()
        self._edges = 0

    @property
    def asserted(self) -> bool:
        return self._low.is_set()

    @property
    def edges(self) -> int:
        return self._edges

    def assert_(self) -> None:
        if not self._low.is_set():
            self._edges += 1
            self._low.set()

    def release(self) -> None:
        self._low.clear()

    def wait(self, timeout_s: float) -> bool:
        return self._low.wait(max(timeout_s, 0.0))

    def close(self) -> None:
        """Nothing to free: the line belongs to the fake chip."""


class GpioIrqLine:
    """An active-low interrupt output wired to a BCM GPIO, read through gpiozero with the Pi's
    internal pull-up (the MPR121's IRQ is open-drain). `pin_factory` as in gpiozero: None picks
    the default (lgpio on a Pi); tests pass a `MockFactory`."""

    def __init__(self, gpio: int, *, pin_factory: Any = None) -> None:
        from gpiozero import DigitalInputDevice

        self.gpio = gpio
        self._edges = 0
        self._device = DigitalInputDevice(gpio, pull_up=True, pin_factory=pin_factory)
        # `asserted` follows gpiozero's edge callbacks, not a fresh read of the pin, so that an
        # edge is always counted by the time the line reads as asserted.
        self._low = bool(self._device.is_active)
        self._device.when_activated = self._fell
        self._device.when_deactivated = self._rose

    @property
    def asserted(self) -> bool:
        return self._low

    @property
    def edges(self) -> int:
        return self._edges

    def wait(self, timeout_s: float) -> bool:
        return bool(self._device.wait_for_active(max(timeout_s, 0.0)))

    def close(self) -> None:
        self._device.close()

    def _fell(self) -> None:  # gpiozero's edge thread, on high -> low
        self._edges += 1
        self._low = True

    def _rose(self) -> None:
        self._low = False
