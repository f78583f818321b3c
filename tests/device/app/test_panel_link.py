"""The front panel on the playing instrument: gpiozero mock pins, the real mapping and sensors."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from device.app.play import PlaySettings, Rig, StreamClock, attach_panel, build_rig
from device.bus.pinmap import load_pin_map
from device.controls.patterns import heartbeat

RATE = 48000
PINS = load_pin_map()


@pytest.fixture
def rig(pin_factory: MockFactory) -> Iterator[Rig]:
    clock = StreamClock(RATE)
    rig = build_rig(PlaySettings(gesture=None), clock)
    attach_panel(rig, PlaySettings(gesture=None), pin_factory=pin_factory)
    original = rig.control_step

    def step() -> None:  # each step is 10 ms of stream time
        clock.frames += RATE // 100
        original()

    rig.control_step = step  # type: ignore[method-assign]
    for _ in range(150):  # past the calibration window
        step()
    yield rig
    rig.close()


def press(pin_factory: MockFactory, gpio: int) -> None:
    pin = pin_factory.pin(gpio)
    pin.drive_low()
    pin.drive_high()
    time.sleep(0.06)  # past the buttons' debounce time


def test_buttons_latch_freeze_cycle_presets_and_recalibrate(rig: Rig, pin_factory: MockFactory) -> None:
    rig.control_step()
    assert rig.instrument.latest_state.params.get("freeze") is False
    press(pin_factory, PINS.buttons.freeze)
    rig.control_step()
    assert rig.instrument.latest_state.params["freeze"] is True
    press(pin_factory, PINS.buttons.freeze)
    rig.control_step()
    assert rig.instrument.latest_state.params["freeze"] is False

    first = rig.mapper.preset
    press(pin_factory, PINS.buttons.preset)
    rig.control_step()
    assert rig.mapper.preset != first

    press(pin_factory, PINS.buttons.recalibrate)
    assert rig.mapper.calibrating


def test_leds_show_touch_and_a_missing_chip(rig: Rig) -> None:
    panel = rig.panel.panel  # type: ignore[union-attr]
    chip, bus = rig.sensors.touch_chip, rig.sensors.bus
    for _ in range(3):
        rig.control_step()
        time.sleep(0.025)
    assert not panel.touch_led.is_lit
    chip.touch(2, 1.0)
    for _ in range(3):
        rig.control_step()
        time.sleep(0.025)
    assert panel.touch_led.is_lit
    now = time.monotonic()
    assert panel.status_led.value == pytest.approx(heartbeat(now), abs=0.2)

    bus.unplug()
    lit = set()
    for _ in range(40):  # the chip is declared lost after some failed polls, then the LED blinks
        rig.control_step()
        lit.add(round(panel.status_led.value, 1))
        time.sleep(0.025)
    assert not rig.sensors.status().all_connected
    assert {0.0, 1.0} <= lit
