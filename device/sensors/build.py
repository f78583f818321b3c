"""Builds the instrument's sensor array from the pin map, on any bus (sensors layer).

`build_sensor_array` puts the MPR121 and ADS1115 readers on a given bus object (a Blinka
`busio.I2C` or the simulator's fake bus) and the MPR121's IRQ line, if given, on its reader;
`open_i2c_sensors` does the same on the Pi's real I2C bus and the IRQ GPIO of the pin map,
which it opens lazily and closes with the array. An IRQ GPIO that cannot be opened (no GPIO
access, pin busy) is not a reason to stay silent: the array then polls without it and says why
in `activity_problem`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from device.bus.irq_line import GpioIrqLine, IrqLine
from device.bus.pinmap import PinMap, load_pin_map
from device.sensors.array import SensorArray
from device.sensors.flex import FlexSensor
from device.sensors.touch import TouchSensor


def build_sensor_array(i2c: Any, pins: PinMap, *, clock: Callable[[], float] = time.monotonic,
                       require_all: bool = True, on_close: Callable[[], None] | None = None,
                       irq: IrqLine | None = None) -> SensorArray:
    touch = TouchSensor(i2c, address=pins.mpr121.address, touch_threshold=pins.mpr121.touch_threshold,
                        release_threshold=pins.mpr121.release_threshold, irq=irq)
    flex = FlexSensor(i2c, address=pins.ads1115.address, inputs=pins.ads1115.inputs, gain=pins.ads1115.gain,
                      data_rate=pins.ads1115.data_rate, channels_per_poll=pins.ads1115.channels_per_poll)
    return SensorArray([touch, flex], clock=clock, require_all=require_all, on_close=on_close)


def open_i2c_sensors(pins: PinMap | None = None, *, clock: Callable[[], float] = time.monotonic,
                     require_all: bool = True, pin_factory: Any = None) -> SensorArray:
    """The sensors on the Raspberry Pi's I2C bus named in the pin map (default: hardware/pins.toml).
    `pin_factory` is gpiozero's, for the IRQ GPIO (None: gpiozero's default)."""
    from device.bus.linux_i2c import open_i2c_bus

    pins = pins if pins is not None else load_pin_map()
    bus = open_i2c_bus(pins.i2c_bus)  # first: without a bus there is nothing to interrupt for
    irq, problem = open_irq_line(pins, pin_factory)

    def close() -> None:
        try:
            bus.deinit()
        finally:
            if irq is not None:
                irq.close()

    try:
        array = build_sensor_array(bus, pins, clock=clock, require_all=require_all, on_close=close, irq=irq)
    except BaseException:
        close()
        raise
    array.activity_problem = problem
    return array


def open_irq_line(pins: PinMap, pin_factory: Any = None) -> tuple[GpioIrqLine | None, str | None]:
    """The MPR121's IRQ GPIO, or None and the reason it could not be opened."""
    if pins.mpr121.irq is None:
        return None, ("no [mpr121].irq in the pin map: the touch keys are polled, a few ms later than "
                      "the IRQ line would wake the poll; wire the MPR121's IRQ pin to a GPIO and add "
                      "irq = <BCM number> (hardware/WIRING.md)")
    try:
        return GpioIrqLine(pins.mpr121.irq, pin_factory=pin_factory), None
    except Exception as err:  # gpiozero raises its own classes, OSError and RuntimeError alike
        return None, (f"cannot open the MPR121 IRQ line on GPIO{pins.mpr121.irq} ({type(err).__name__}: "
                      f"{err}); polling the touch keys without it. Check [mpr121].irq in hardware/pins.toml "
                      "and that this user may use the GPIOs (the gpio group)")
