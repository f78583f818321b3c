"""RetryingI2C repeats failed transactions, only when asked to."""

from __future__ import annotations

import pytest

from device.bus.fake_i2c import FakeI2C
from device.bus.fake_register_chip import FakeRegisterChip
from device.bus.retry import RetryingI2C
from device.errors import ConfigError


def test_without_retries_a_failure_passes_straight_through() -> None:
    bus = FakeI2C({0x10: FakeRegisterChip()}, error_rate=1.0)
    retrying = RetryingI2C(bus)
    assert retrying.try_lock()
    with pytest.raises(OSError):
        retrying.writeto(0x10, b"\x00")
    assert bus.counts["writeto"] == 1 and retrying.retried == 0


def test_retries_carry_a_lossy_bus_and_count_the_repeats() -> None:
    chip = FakeRegisterChip()
    bus = FakeI2C({0x10: chip}, error_rate=0.3, seed=11)
    retrying = RetryingI2C(bus, retries=8)
    assert retrying.try_lock()
    out = bytearray(1)
    for value in range(200):
        retrying.writeto(0x10, bytes([0x01, value]))
        retrying.writeto_then_readfrom(0x10, b"\x01", out)
        assert out[0] == value
    assert retrying.retried == bus.counts["failed"] > 0
    retrying.unlock()


def test_after_the_last_retry_the_error_is_raised_and_counted() -> None:
    bus = FakeI2C({0x10: FakeRegisterChip()})
    retrying = RetryingI2C(bus)
    bus.unplug()
    assert retrying.try_lock()
    with retrying.retrying(2), pytest.raises(OSError):
        retrying.readfrom_into(0x10, bytearray(1))
    assert retrying.retries == 0  # restored after the block
    assert bus.counts["readfrom_into"] == 3 and retrying.gave_up == 1


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ConfigError, match="retries"):
        RetryingI2C(FakeI2C(), retries=-1)
