"""Builds the instrument's sensor array from the pin map, on any bus (sensors layer).

`build_sensor_array` puts the MPR121 and ADS1115 readers on a given bus object (a Blinka
`busio.I2C` or the simulator's fake bus); `open_i2c_sensors` does the same on the Pi's real
I2C bus, which it opens lazily and closes with the array.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from device.bus.pinmap import PinMap, load_pin_map
from device.sensors.array import SensorArray
from device.sensors.flex import FlexSensor
from device.sensors.touch import TouchSensor


def build_sensor_array(i2c: Any, pins: PinMap, *, clock: Callable[[], float] = time.monotonic,
                       require_all: bool = True, on_close: Callable[[], None] | None = None) -> SensorArray:
    touch = TouchSensor(i2c, address=pins.mpr121.address, touch_threshold=pins.mpr121.touch_threshold,
                        release_threshold=pins.mpr121.release_threshold)
    flex = FlexSensor(i2c, address=pins.ads1115.address, inputs=pins.ads1115.inputs, gain=pins.ads1115.gain,
                      data_rate=pins.ads1115.data_rate, channels_per_poll=pins.ads1115.channels_per_poll)
    return SensorArray([touch, flex], clock=clock, require_all=require_all, on_close=on_close)


def open_i2c_sensors(pins: PinMap | None = None, *, clock: Callable[[], float] = time.monotonic,
                     require_all: bool = True) -> SensorArray:
    """The sensors on the Raspberry Pi's I2C bus named in the pin map (default: hardware/pins.toml)."""
    from device.bus.linux_i2c import open_i2c_bus

    pins = pins if pins is not None else load_pin_map()
    bus = open_i2c_bus(pins.i2c_bus)
    try:
        return build_sensor_array(bus, pins, clock=clock, require_all=require_all, on_close=bus.deinit)
    except BaseException:
        bus.deinit()
        raise
