"""The ADS1115 reader converts between polls: it sleeps for a conversion it needs at once, never
polls the chip in a loop, and a poll that comes early leaves the values as they are.

A manual clock drives both the fake chip's conversion time and the reader's sense of time, and
the reader's sleep advances it, so nothing here depends on the wall clock."""

from __future__ import annotations

import pytest

from device.bus import registers as r
from device.bus.fake_ads1115 import FakeADS1115
from device.bus.fake_i2c import FakeI2C
from device.sensors.flex import FlexSensor

ADDRESS = 0x48
PERIOD = 1 / 860


class ManualClock:
    """Time that passes only when told to, or when someone sleeps (unless `frozen`)."""

    def __init__(self) -> None:
        self.now = 10.0
        self.slept: list[float] = []
        self.frozen = False

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if not self.frozen:
            self.now += seconds


def rig(channels_per_poll: int = 1) -> tuple[ManualClock, FakeI2C, FakeADS1115, FlexSensor]:
    clock = ManualClock()
    chip = FakeADS1115(noise_volts=0.0, clock=clock)
    bus = FakeI2C({ADDRESS: chip}, log_size=1000)
    chip.bend(0, 0.0)
    chip.bend(1, 1.0)
    sensor = FlexSensor(bus, address=ADDRESS, channels_per_poll=channels_per_poll, sleep=clock.sleep,
                        clock=clock)
    sensor.connect()
    return clock, bus, chip, sensor


def config_reads_since_the_first_conversion(bus: FakeI2C) -> int:
    assert bus.log is not None
    log = list(bus.log)
    config = bytes([r.ADS1115_CONFIG])
    first = next(i for i, tx in enumerate(log)  # the first config write with OS = 1: a conversion starts
                 if tx.written[:1] == config and len(tx.written) == 3 and tx.written[1] & 0x80)
    return sum(1 for tx in log[first:] if tx.written == config and tx.read)


def test_start_converts_every_input_once_sleeping_through_each_conversion() -> None:
    clock, bus, chip, sensor = rig()
    values: dict[str, float] = {}
    sensor.read(values)
    assert set(values) == {"flex0", "flex1"} and values["flex1"] > values["flex0"] + 5000
    assert clock.slept[:2] == pytest.approx([PERIOD, PERIOD])  # one conversion time each, no spinning
    # Two conversions at start, each looked at twice (at once, then after its sleep), and the
    # poll's one look at the conversion the start left running.
    assert config_reads_since_the_first_conversion(bus) == 5 and chip.conversions == 2


def test_a_poll_during_a_conversion_asks_once_and_leaves_the_values() -> None:
    clock, bus, chip, sensor = rig()
    values: dict[str, float] = {}
    sensor.read(values)  # hands over the start's values, starts converting flex0
    assert bus.log is not None
    bus.log.clear()
    values.clear()
    clock.now += PERIOD / 2
    sensor.read(values)
    assert values == {} and len(bus.log) == 1  # one look at the OS bit: still converting
    clock.now += PERIOD
    chip.bend(0, 0.5)
    sensor.read(values)
    assert list(values) == ["flex0"] and values["flex0"] > 10000


def test_a_poll_well_after_the_start_reads_the_result_without_asking() -> None:
    clock, bus, _, sensor = rig()
    values: dict[str, float] = {}
    sensor.read(values)
    assert bus.log is not None
    for _ in range(4):  # polls at 200 Hz: every conversion long done
        bus.log.clear()
        clock.now += 0.005
        sensor.read(values)
        assert [tx.op for tx in bus.log] == ["writeto_then_readfrom", "writeto"]  # result, next start
        assert bus.log[0].written == bytes([r.ADS1115_CONVERSION])


def test_inputs_take_turns_one_per_poll() -> None:
    clock, _, _, sensor = rig()
    values: dict[str, float] = {}
    sensor.read(values)
    seen = []
    for _ in range(4):
        clock.now += 0.005
        fresh: dict[str, float] = {}
        sensor.read(fresh)
        seen.extend(fresh)
    assert seen == ["flex0", "flex1", "flex0", "flex1"]


def test_more_inputs_per_poll_are_converted_in_the_poll_by_sleeping() -> None:
    clock, _, chip, sensor = rig(channels_per_poll=2)
    values: dict[str, float] = {}
    sensor.read(values)
    clock.slept.clear()
    clock.now += 0.005
    chip.bend(0, 1.0)
    chip.bend(1, 0.0)
    fresh: dict[str, float] = {}
    sensor.read(fresh)
    assert set(fresh) == {"flex0", "flex1"} and fresh["flex0"] > fresh["flex1"] + 5000
    assert clock.slept == pytest.approx([PERIOD])  # the second input's conversion


def test_a_conversion_that_never_ends_is_a_bus_error_not_a_hang() -> None:
    clock, _, _, sensor = rig(channels_per_poll=2)
    sensor.read({})
    clock.now += 0.005
    clock.frozen = True  # the chip never gets to the end of its conversion
    with pytest.raises(OSError, match="did not finish a conversion"):
        sensor.read({})
