"""A wrong chip at a sensor's address is refused with ChipIdentityError, naming address and fix."""

from __future__ import annotations

import pytest

from device.bus.fake_ads1115 import FakeADS1115
from device.bus.fake_i2c import FakeI2C
from device.bus.fake_mpr121 import FakeMPR121
from device.bus.fake_register_chip import FakeRegisterChip
from device.errors import ChipIdentityError, ConfigError
from device.sensors.array import SensorArray
from device.sensors.build import build_sensor_array
from device.sensors.flex import FlexSensor
from device.sensors.touch import TouchSensor

from .rig import ELECTRODES, StepClock, make_rig, shipped_pins


def test_another_register_chip_at_the_touch_address_is_not_an_mpr121() -> None:
    bus = FakeI2C({0x5A: FakeRegisterChip({0x5D: 0x11}), 0x48: FakeADS1115()})
    with pytest.raises(ChipIdentityError) as caught:
        TouchSensor(bus, address=0x5A).connect()
    message = str(caught.value)
    assert "0x5A" in message and "not an MPR121" in message
    assert "read 0x11" in message and "0x24" in message  # what it saw, what it expected
    assert "ADDR" in message and "pins.toml" in message and "0x48, 0x5A" in message


def test_an_adc_at_the_touch_address_is_not_an_mpr121() -> None:
    bus = FakeI2C({0x5A: FakeADS1115()})
    with pytest.raises(ChipIdentityError, match="not an MPR121"):
        TouchSensor(bus, address=0x5A).connect()


def test_a_touch_chip_at_the_adc_address_is_not_an_ads1115() -> None:
    bus = FakeI2C({0x48: FakeMPR121()})
    with pytest.raises(ChipIdentityError) as caught:
        FlexSensor(bus, address=0x48).connect()
    message = str(caught.value)
    assert "0x48" in message and "not an ADS1115" in message and "[ads1115].address" in message


def test_a_wrong_chip_is_refused_at_start_even_when_missing_chips_are_tolerated() -> None:
    bus = FakeI2C({0x5A: FakeRegisterChip(), 0x48: FakeADS1115()})
    with pytest.raises(ChipIdentityError):
        build_sensor_array(bus, shipped_pins(), clock=StepClock(), require_all=False)


def test_a_wrong_chip_appearing_later_keeps_its_channels_stale_without_raising() -> None:
    rig = make_rig()
    rig.poll(2)
    rig.bus.detach(rig.pins.mpr121.address)
    rig.bus.attach(rig.pins.mpr121.address, FakeRegisterChip())
    for _ in range(2000):
        frame = rig.array.poll()
    assert frame.stale == frozenset(ELECTRODES)
    status = rig.array.status().chip("mpr121")
    assert not status.connected and "not an MPR121" in (status.last_error or "")


def test_two_chips_may_not_claim_one_channel_name() -> None:
    bus = FakeI2C({0x48: FakeADS1115(), 0x49: FakeADS1115()})
    with pytest.raises(ConfigError, match="share a channel"):
        SensorArray([FlexSensor(bus, address=0x48), FlexSensor(bus, address=0x49)])


@pytest.mark.parametrize(("make", "message"), [
    (lambda bus: TouchSensor(bus, address=0x48), "0x5A..0x5D"),
    (lambda bus: TouchSensor(bus, touch_threshold=5, release_threshold=5), "release < touch"),
    (lambda bus: FlexSensor(bus, address=0x5A), "0x48..0x4B"),
    (lambda bus: FlexSensor(bus, gain=3), "gain"),
    (lambda bus: FlexSensor(bus, data_rate=1000), "data_rate"),
    (lambda bus: FlexSensor(bus, inputs={"flex0": 0, "flex1": 0}), "distinct"),
    (lambda bus: FlexSensor(bus, channels_per_poll=3), "channels_per_poll"),
])
def test_impossible_settings_are_refused_before_touching_the_bus(make, message: str) -> None:  # type: ignore[no-untyped-def]
    bus = FakeI2C(log_size=10)
    with pytest.raises(ConfigError, match=message):
        make(bus)
    assert not bus.log
