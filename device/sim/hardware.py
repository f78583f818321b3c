"""The whole sensor side of the instrument, simulated at the bus (sim layer).

`SimulatedHardware` builds a fake I2C bus with a fake MPR121 and ADS1115 at the addresses of
the pin map, puts the real-driver `SensorArray` on top, with the MPR121's IRQ line wired, and,
given a gesture, plays it on the fake chips before every poll. It polls and waits like the real
thing (`poll() -> SensorFrame`, `wait_for_activity(timeout_s)`), so the app treats
`--sensors sim` and `--sensors i2c` alike; the bus and chips stay reachable (`bus`,
`touch_chip`, `flex_chip`) for tests and fault injection.

When the simulation runs in real time (the wall clock), the fakes take real time too: each bus
transaction its wire time at 400 kHz and each ADC conversion 1/data-rate, so what polling costs
and how long a touch takes to sound are measured as on a Pi. With any other clock (offline
rendering, tests) they answer at once: there the wall clock means nothing to the simulation.
A gesture is applied at each poll, so its touches land on the poll schedule, not on the IRQ.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from device.bus.fake_ads1115 import FakeADS1115
from device.bus.fake_i2c import FAST_MODE_HZ, FakeI2C
from device.bus.fake_mpr121 import FakeMPR121
from device.bus.pinmap import PinMap, load_pin_map
from device.sensors.array import SensorStatus
from device.sensors.build import build_sensor_array
from device.sensors.frame import SensorFrame
from device.sim.gesture import Gesture
from device.sim.player import GesturePlayer


class SimulatedHardware:
    """Fake chips + real drivers. `clock` stamps frames and times the gesture (which starts at
    the clock's value when this object is made); pass a clock driven by rendered audio frames
    to simulate faster than real time. `error_rate` injects I2C faults once the sensors have started.
    `timed` makes the bus and the ADC take real time; None (the default): when `clock` is the wall
    clock (`time.monotonic`)."""

    def __init__(self, pins: PinMap | None = None, *, gesture: Gesture | None = None,
                 clock: Callable[[], float] = time.monotonic, seed: int = 0, error_rate: float = 0.0,
                 timed: bool | None = None) -> None:
        self.pins = pins if pins is not None else load_pin_map()
        self.timed = clock is time.monotonic if timed is None else timed
        self.bus = FakeI2C(seed=seed, speed_hz=FAST_MODE_HZ if self.timed else None)
        self.touch_chip = FakeMPR121(seed=seed + 1)
        self.flex_chip = FakeADS1115(seed=seed + 2, clock=time.monotonic if self.timed else None)
        self.bus.attach(self.pins.mpr121.address, self.touch_chip)
        self.bus.attach(self.pins.ads1115.address, self.flex_chip)
        for adc_input in self.pins.ads1115.inputs.values():
            self.flex_chip.bend(adc_input, 0.0)  # sensors lie flat until a gesture bends them
        self.player = (GesturePlayer(gesture, self.touch_chip, self.flex_chip, self.pins.ads1115.inputs)
                       if gesture is not None else None)
        self._clock = clock
        self.start_time = clock()
        if self.player is not None:
            self.player.apply(0.0)
        self.sensors = build_sensor_array(self.bus, self.pins, clock=clock, irq=self.touch_chip.irq)
        self.bus.error_rate = error_rate
        self.channels = self.sensors.channels

    def poll(self) -> SensorFrame:
        if self.player is not None:
            self.player.apply(self._clock() - self.start_time)
        return self.sensors.poll()

    @property
    def activity_problem(self) -> str | None:
        """Always None here: the fake IRQ line is always there (kept for parity with SensorArray)."""
        return self.sensors.activity_problem

    def wait_for_activity(self, timeout_s: float) -> bool:
        """Block until the fake MPR121 raises its IRQ (True) or `timeout_s` passes (False)."""
        return self.sensors.wait_for_activity(timeout_s)

    def status(self) -> SensorStatus:
        return self.sensors.status()

    def close(self) -> None:
        self.sensors.close()
