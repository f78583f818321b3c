"""Round trips from a fake finger or bend, through the real drivers, to SensorFrame values."""

from __future__ import annotations

import math

import pytest

from device.bus import registers as r
from device.bus.fake_ads1115 import FlexDivider
from device.sensors.frame import SensorFrame
from device.sensors.touch import TouchSensor

from .rig import ELECTRODES, FLEX, make_rig


def test_a_frame_has_every_channel_and_nothing_stale() -> None:
    rig = make_rig()
    frame = rig.poll()
    assert isinstance(frame, SensorFrame)
    assert set(frame.channels) == set(ELECTRODES) | set(FLEX)
    assert frame.stale == frozenset()
    assert rig.array.channels == frame.channels


def test_untouched_electrodes_read_near_zero() -> None:
    rig = make_rig()
    for _ in range(50):
        frame = rig.poll()
        assert all(abs(frame[e]) <= 8 for e in ELECTRODES)


@pytest.mark.parametrize("amount", [0.25, 0.5, 1.0])
def test_a_touch_raises_its_electrode_by_the_depth_of_the_touch(amount: float) -> None:
    rig = make_rig(touch_noise=0.0)
    rest = rig.poll()
    rig.touch_chip.touch(7, amount)
    frame = rig.poll()
    depth = rig.touch_chip.touch_depth * amount
    assert frame["e7"] - rest["e7"] == pytest.approx(depth, abs=1)
    assert all(frame[e] == rest[e] for e in ELECTRODES if e != "e7")
    rig.touch_chip.release(7)
    assert rig.poll()["e7"] == rest["e7"]


def test_values_equal_the_drivers_own_per_electrode_reads() -> None:
    rig = make_rig(touch_noise=0.0)
    rig.touch_chip.touch(1)
    rig.touch_chip.touch(10, 0.4)
    frame = rig.poll()
    driver = rig.array.readers[0].driver
    assert [frame[f"e{i}"] for i in range(12)] == [
        driver.baseline_data(i) - driver.filtered_data(i) for i in range(12)]


def test_a_bend_reads_as_rising_raw_counts() -> None:
    rig = make_rig(adc_noise=0.0)
    readings = []
    for bend in (0.0, 0.3, 0.6, 1.0):
        rig.flex_chip.bend(1, bend)
        readings.append(rig.poll()["flex1"])
    assert readings == sorted(readings)
    full_scale = r.ADS1115_PGA_FULL_SCALE[r.ADS1115_GAIN_CODES[rig.pins.ads1115.gain]]
    assert readings[-1] == math.floor(FlexDivider().volts(1.0) / full_scale * 32768)


def test_round_robin_converts_one_flex_input_per_poll() -> None:
    rig = make_rig(channels_per_poll=1, adc_noise=0.0)
    rig.poll(2)
    rig.flex_chip.bend(0, 1.0)
    rig.flex_chip.bend(1, 1.0)
    first = rig.poll()
    second = rig.poll()
    moved_first = {ch for ch in FLEX if first[ch] > 15000}
    moved_second = {ch for ch in FLEX if second[ch] > 15000}
    assert len(moved_first) == 1 and moved_second == set(FLEX)
    assert first.stale == frozenset()  # not converted this poll is not a fault


def test_configured_thresholds_reach_the_chip() -> None:
    rig = make_rig()
    sensor = TouchSensor(rig.bus, address=rig.pins.mpr121.address, touch_threshold=20, release_threshold=9)
    sensor.connect()
    regs = rig.touch_chip.registers
    assert [regs[r.MPR121_TOUCH_THRESHOLD + 2 * i] for i in range(12)] == [20] * 12
    assert [regs[r.MPR121_TOUCH_THRESHOLD + 2 * i + 1] for i in range(12)] == [9] * 12
