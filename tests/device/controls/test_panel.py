"""The control panel, on gpiozero's mock pins: press the buttons, watch the LEDs."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from device.bus.pinmap import REPO_PINS, PinMap, load_pin_map
from device.controls.panel import ControlPanel
from device.controls.patterns import blink, heartbeat


@pytest.fixture
def pins() -> PinMap:
    shipped = load_pin_map(REPO_PINS)
    return dataclasses.replace(shipped, buttons=dataclasses.replace(shipped.buttons, bounce_ms=0))


@pytest.fixture
def panel(pins: PinMap, pin_factory: MockFactory) -> Iterator[ControlPanel]:
    panel = ControlPanel(pins, pin_factory=pin_factory)
    yield panel
    panel.close()


def press(pin_factory: MockFactory, gpio: int) -> None:
    pin = pin_factory.pin(gpio)
    pin.drive_low()  # the switch pulls the input to ground
    pin.drive_high()


def test_buttons_call_the_apps_callbacks(panel: ControlPanel, pins: PinMap, pin_factory: MockFactory) -> None:
    calls: list[object] = []
    panel.on_cycle_preset = lambda: calls.append("preset")
    panel.on_recalibrate = lambda: calls.append("recalibrate")
    panel.on_freeze_toggle = calls.append
    press(pin_factory, pins.buttons.preset)
    press(pin_factory, pins.buttons.freeze)
    press(pin_factory, pins.buttons.recalibrate)
    press(pin_factory, pins.buttons.freeze)
    press(pin_factory, pins.buttons.preset)
    assert calls == ["preset", True, "recalibrate", False, "preset"]
    assert panel.presses == {"preset": 2, "freeze": 2, "recalibrate": 1}
    assert not panel.frozen


def test_presses_without_callbacks_are_still_counted(panel: ControlPanel, pins: PinMap,
                                                     pin_factory: MockFactory) -> None:
    press(pin_factory, pins.buttons.freeze)
    assert panel.presses["freeze"] == 1 and panel.frozen


def test_the_status_led_breathes_while_all_is_well(panel: ControlPanel, pins: PinMap,
                                                   pin_factory: MockFactory) -> None:
    led = pin_factory.pin(pins.leds.status)
    levels = []
    for step in range(41):
        panel.update(step * 0.05, fault=False, touching=False)
        levels.append(led.state)
    assert levels == pytest.approx([heartbeat(step * 0.05, panel.heartbeat_period) for step in range(41)])
    assert min(levels) < 0.01 and max(levels) > 0.99
    assert sum(0.05 < level < 0.95 for level in levels) > 10  # a fade, not a blink


def test_the_status_led_blinks_hard_on_a_fault(panel: ControlPanel, pins: PinMap,
                                                pin_factory: MockFactory) -> None:
    led = pin_factory.pin(pins.leds.status)
    levels = []
    for step in range(40):
        panel.update(step * 0.025, fault=True, touching=False)
        levels.append(led.state)
    assert set(levels) == {0.0, 1.0}
    assert levels == [blink(step * 0.025, panel.blink_hz) for step in range(40)]
    flips = sum(a != b for a, b in itertools.pairwise(levels))
    assert flips >= 2 * panel.blink_hz - 1  # about two flips per flash over one second


def test_the_touch_led_follows_touching(panel: ControlPanel, pins: PinMap, pin_factory: MockFactory) -> None:
    led = pin_factory.pin(pins.leds.touch)
    states = []
    for touching in (False, True, True, False, True):
        panel.update(0.0, fault=False, touching=touching)
        states.append(led.state)
    assert states == [False, True, True, False, True]


def test_closing_frees_the_pins(pins: PinMap, pin_factory: MockFactory) -> None:
    first = ControlPanel(pins, pin_factory=pin_factory)
    first.close()
    second = ControlPanel(pins, pin_factory=pin_factory)  # would fail if the GPIOs were still claimed
    second.close()
