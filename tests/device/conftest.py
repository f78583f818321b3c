"""Fixtures shared by the device tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin


@pytest.fixture
def pin_factory() -> Iterator[MockFactory]:
    """gpiozero's mock pins (PWM-capable, so LEDs can pulse), reset after the test."""
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
