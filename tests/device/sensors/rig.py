"""A fake bus with both fake chips and the real-driver sensor array on top, for the sensor tests."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from device.bus.fake_ads1115 import FakeADS1115
from device.bus.fake_i2c import FakeI2C
from device.bus.fake_mpr121 import FakeMPR121
from device.bus.pinmap import REPO_PINS, PinMap, load_pin_map
from device.sensors.array import SensorArray
from device.sensors.build import build_sensor_array
from device.sensors.frame import SensorFrame

ELECTRODES = tuple(f"e{i}" for i in range(12))
FLEX = ("flex0", "flex1")


class StepClock:
    """A clock that advances `step` seconds each time it is read: polls at a steady fake rate."""

    def __init__(self, step: float = 0.001) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@dataclass
class Rig:
    pins: PinMap
    bus: FakeI2C
    touch_chip: FakeMPR121
    flex_chip: FakeADS1115
    array: SensorArray
    clock: StepClock

    def poll(self, count: int = 1) -> SensorFrame:
        frame = self.array.poll()
        for _ in range(count - 1):
            frame = self.array.poll()
        return frame


def shipped_pins(**flex_changes: object) -> PinMap:
    pins = load_pin_map(REPO_PINS)
    return dataclasses.replace(pins, ads1115=dataclasses.replace(pins.ads1115, **flex_changes))


def make_rig(*, seed: int = 0, touch_noise: float = 0.8, adc_noise: float = 0.0003,
             channels_per_poll: int = 2, require_all: bool = True, attach: bool = True,
             irq: bool = True) -> Rig:
    pins = shipped_pins(channels_per_poll=channels_per_poll)
    bus = FakeI2C(seed=seed)
    touch_chip = FakeMPR121(seed=seed + 1, noise=touch_noise)
    flex_chip = FakeADS1115(seed=seed + 2, noise_volts=adc_noise)
    if attach:
        bus.attach(pins.mpr121.address, touch_chip)
        bus.attach(pins.ads1115.address, flex_chip)
    for adc_input in pins.ads1115.inputs.values():
        flex_chip.bend(adc_input, 0.0)
    clock = StepClock()
    array = build_sensor_array(bus, pins, clock=clock, require_all=require_all,
                               irq=touch_chip.irq if irq else None)
    return Rig(pins, bus, touch_chip, flex_chip, array, clock)
