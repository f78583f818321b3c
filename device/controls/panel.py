"""The instrument's buttons and LEDs, through gpiozero (controls layer).

Pins come from the pin map. gpiozero's pin factory is injected (`pin_factory=`): None uses
gpiozero's default (lgpio on a Raspberry Pi), tests pass a `MockFactory(pin_class=MockPWMPin)`.
Buttons call the app's callbacks from gpiozero's event thread, so callbacks must be short and
thread-safe (set a flag, put on a queue). LEDs are driven by `update(now, ...)`, which the app
calls from its own loop a few tens of times per second: the status LED breathes while all is
well and blinks fast on a sensor fault; the touch LED is lit while any electrode is touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from gpiozero import LED, PWMLED, Button

from device.bus.pinmap import PinMap
from device.controls.patterns import blink, heartbeat


class ControlPanel:
    """Buttons: preset (`on_cycle_preset()` when released after a short press, `on_hold_preset()`
    once held for `hold_s`, and then no cycle on release), freeze (`on_freeze_toggle(frozen)`,
    latching), recalibrate (`on_recalibrate()`). `presses` counts presses per button name."""

    def __init__(self, pins: PinMap, *, pin_factory: Any = None, heartbeat_period: float = 2.0,
                 blink_hz: float = 4.0, hold_s: float = 1.0) -> None:
        bounce = pins.buttons.bounce_ms / 1000.0 or None
        self.on_cycle_preset: Callable[[], None] | None = None
        self.on_hold_preset: Callable[[], None] | None = None
        self._preset_was_held = False
        self.on_freeze_toggle: Callable[[bool], None] | None = None
        self.on_recalibrate: Callable[[], None] | None = None
        self.frozen = False
        self.presses: Counter[str] = Counter()
        self.heartbeat_period = heartbeat_period
        self.blink_hz = blink_hz
        self._devices: list[Any] = []
        try:
            # The preset button acts on release, so that a hold (store a preset) is not also a press.
            self.preset_button = self._button(pins.buttons.preset, bounce, pin_factory, self._preset_down)
            self.preset_button.hold_time = hold_s
            self.preset_button.when_held = self._preset_held
            self.preset_button.when_released = self._preset
            self.freeze_button = self._button(pins.buttons.freeze, bounce, pin_factory, self._freeze)
            self.recalibrate_button = self._button(pins.buttons.recalibrate, bounce, pin_factory,
                                                   self._recalibrate)
            self.status_led = self._add(PWMLED(pins.leds.status, pin_factory=pin_factory))
            self.touch_led = self._add(LED(pins.leds.touch, pin_factory=pin_factory))
        except BaseException:
            self.close()
            raise

    def update(self, now: float, *, fault: bool, touching: bool) -> None:
        """Set the LEDs for time `now` (seconds, any clock): fault -> blink, else heartbeat."""
        level = blink(now, self.blink_hz) if fault else heartbeat(now, self.heartbeat_period)
        if self.status_led.value != level:
            self.status_led.value = level
        if self.touch_led.is_lit != touching:
            self.touch_led.value = touching

    def close(self) -> None:
        for device in reversed(self._devices):
            device.close()
        self._devices.clear()

    def _add(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    def _button(self, gpio: int, bounce: float | None, pin_factory: Any,
                handler: Callable[[], None]) -> Button:
        button = self._add(Button(gpio, pull_up=True, bounce_time=bounce, pin_factory=pin_factory))
        button.when_pressed = handler
        return button

    def _preset_down(self) -> None:
        self._preset_was_held = False

    def _preset_held(self) -> None:
        self._preset_was_held = True
        self.presses["preset_hold"] += 1
        if self.on_hold_preset is not None:
            self.on_hold_preset()

    def _preset(self) -> None:
        if self._preset_was_held:
            return
        self.presses["preset"] += 1
        if self.on_cycle_preset is not None:
            self.on_cycle_preset()

    def _freeze(self) -> None:
        self.presses["freeze"] += 1
        self.frozen = not self.frozen
        if self.on_freeze_toggle is not None:
            self.on_freeze_toggle(self.frozen)

    def _recalibrate(self) -> None:
        self.presses["recalibrate"] += 1
        if self.on_recalibrate is not None:
            self.on_recalibrate()
