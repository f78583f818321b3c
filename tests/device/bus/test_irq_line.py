"""Interrupt lines: the fake one a fake chip drives, and the real one through gpiozero's mock pins."""

from __future__ import annotations

import threading

from gpiozero.pins.mock import MockFactory

from device.bus.irq_line import FakeIrqLine, GpioIrqLine
from device.bus.pinmap import REPO_PINS, load_pin_map
from device.sensors.build import open_irq_line

IRQ_GPIO = 4


def test_the_fake_line_counts_assertions_not_repeats() -> None:
    line = FakeIrqLine()
    assert not line.asserted and not line.wait(0.0)
    line.assert_()
    line.assert_()  # already low: not a new edge
    assert line.asserted and line.edges == 1 and line.wait(0.0)
    line.release()
    assert not line.asserted and not line.wait(0.01)
    line.assert_()
    assert line.edges == 2


def test_the_gpio_line_is_pulled_up_and_active_low(pin_factory: MockFactory) -> None:
    line = GpioIrqLine(IRQ_GPIO, pin_factory=pin_factory)
    pin = pin_factory.pin(IRQ_GPIO)
    try:
        assert pin.state  # the pull-up holds it high: no interrupt, also with nothing connected
        assert not line.asserted and not line.wait(0.01) and line.edges == 0
        pin.drive_low()  # the MPR121 pulls its open-drain IRQ low
        assert line.asserted and line.wait(0.0) and line.edges == 1
        pin.drive_high()  # released by the status read
        assert not line.asserted and not line.wait(0.01)
    finally:
        line.close()


def test_a_waiter_on_the_gpio_line_wakes_on_the_falling_edge(pin_factory: MockFactory) -> None:
    line = GpioIrqLine(IRQ_GPIO, pin_factory=pin_factory)
    timer = threading.Timer(0.05, pin_factory.pin(IRQ_GPIO).drive_low)
    timer.start()
    try:
        assert line.wait(5.0)
    finally:
        timer.join()
        line.close()


def test_an_irq_gpio_that_cannot_be_opened_is_reported_not_raised(pin_factory: MockFactory) -> None:
    pins = load_pin_map(REPO_PINS)
    busy = GpioIrqLine(pins.mpr121.irq, pin_factory=pin_factory)  # someone else holds the pin
    try:
        line, problem = open_irq_line(pins, pin_factory=pin_factory)
    finally:
        busy.close()
    assert line is None
    assert problem is not None and f"GPIO{pins.mpr121.irq}" in problem and "[mpr121].irq" in problem
    line, problem = open_irq_line(pins, pin_factory=pin_factory)
    assert line is not None and problem is None
    line.close()
