"""`latent bench sensors`: what one sensor poll costs, real drivers over the fake bus (bench layer).

Measured through the timed fakes (each I2C transaction takes its 400 kHz wire time, each
ADS1115 conversion 1/data-rate), so the wall time of a poll is what a Pi's bus makes it and the
CPU time is what Python spends around it. Reports, as wall and CPU microseconds: the full
SensorArray poll with the pin map's settings, paced at the control loop's rate so the ADC
conversion started by one poll is done by the next; the same with every flex input converted
each poll; the poll that follows a touch's IRQ (touch chip only); the parts (MPR121 block read,
the ADS1115's collect-and-start, the fake chip's own simulation cost, the Adafruit driver's
per-electrode reads for comparison); the untimed poll (Python alone); and, from the bytes on
the bus, each poll's wire time at 100 and 400 kHz.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from device.bus import registers
from device.bus.fake_i2c import transfer_bits
from device.bus.pinmap import load_pin_map
from device.sensors.touch import TouchSensor
from device.sim.gesture import load_gesture
from device.sim.hardware import SimulatedHardware

NAME = "sensors"
HELP = "time a sensor poll (real Adafruit drivers over the timed fake I2C bus)"
PACE_S = 0.005  # between paced polls: the control loop's periodic rate (200 Hz)
KEY = 3  # the electrode touched to time the IRQ-driven poll


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--polls", type=int, default=2000,
                        help="polls per measurement (default 2000; paced ones take a tenth, 5 ms apart)")


def _timings(action: Callable[[], Any], count: int, *, pace_s: float = 0.0,
             before: Callable[[], Any] | None = None) -> dict[str, float]:
    """Wall and CPU time of `action`, `count` times, `pace_s` apart (`before` runs untimed first)."""
    walls, cpus = [], []
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(max(count, 1)):
        if pace_s:
            time.sleep(pace_s)
        if before is not None:
            before()
        wall, cpu = wall_clock(), cpu_clock()
        action()
        cpus.append(cpu_clock() - cpu)
        walls.append(wall_clock() - wall)
    walls.sort()
    return {
        "mean_us": round(statistics.fmean(walls) / 1000, 2),
        "p50_us": round(walls[len(walls) // 2] / 1000, 2),
        "p99_us": round(walls[int(len(walls) * 0.99)] / 1000, 2),
        "max_us": round(walls[-1] / 1000, 2),
        "cpu_mean_us": round(statistics.fmean(cpus) / 1000, 2),
    }


def _bus_model(hardware: SimulatedHardware, polls: int) -> dict[str, float]:
    """Bytes and transactions per paced poll, from the fake bus's log, turned into wire time."""
    hardware.bus.log = deque(maxlen=100_000)
    for _ in range(polls):
        time.sleep(PACE_S)
        hardware.sensors.poll()
    log = hardware.bus.log
    hardware.bus.log = None
    bits = sum(transfer_bits(tx.op, len(tx.written), len(tx.read)) for tx in log)
    flex = hardware.pins.ads1115
    return {
        "transactions_per_poll": round(len(log) / polls, 2),
        "bus_bytes_per_poll": round(bits / 9 / polls, 1),
        "wire_time_us_100khz": round(bits / polls / 100e3 * 1e6, 1),
        "wire_time_us_400khz": round(bits / polls / 400e3 * 1e6, 1),
        "ads1115_conversion_us": round(1e6 / flex.data_rate, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    pins = load_pin_map()
    hardware = SimulatedHardware(pins, timed=True)
    every_flex = dataclasses.replace(pins, ads1115=dataclasses.replace(
        pins.ads1115, channels_per_poll=len(pins.ads1115.inputs)))
    hardware_all_flex = SimulatedHardware(every_flex, timed=True)
    with_gesture = SimulatedHardware(pins, gesture=load_gesture("demo"), timed=True)
    untimed = SimulatedHardware(pins, timed=False)
    touch_reader, flex_reader = hardware.sensors.readers
    values: dict[str, float] = {}
    # The bench times the MPR121 driver's own register reads, so it needs the concrete reader.
    assert isinstance(touch_reader, TouchSensor), type(touch_reader)
    driver = touch_reader.driver
    assert driver is not None, "the simulated MPR121 is connected when the hardware is built"
    chip = hardware.touch_chip
    status_block = bytes((registers.MPR121_TOUCH_STATUS,))
    touched = [False]

    def chip_only() -> None:
        chip.write(status_block)
        chip.read(registers.MPR121_FILTERED_DATA + 2 * registers.MPR121_ELECTRODES)

    def touch_and_wait() -> None:
        touched[0] = not touched[0]
        chip.touch(KEY, 1.0 if touched[0] else 0.0)
        if not hardware.sensors.wait_for_activity(0.05):
            raise RuntimeError("the fake MPR121's IRQ did not fire on a touch")

    count = args.polls
    paced = max(count // 10, 1)
    result = {
        "polls": count,
        "paced_polls": paced,
        "flex_channels_per_poll": pins.ads1115.channels_per_poll,
        "bus_speed_hz": hardware.bus.speed_hz,
        "poll": _timings(hardware.sensors.poll, paced, pace_s=PACE_S),
        "poll_every_flex_input": _timings(hardware_all_flex.sensors.poll, paced, pace_s=PACE_S),
        "poll_with_demo_gesture": _timings(with_gesture.poll, paced, pace_s=PACE_S),
        "poll_after_touch_irq": _timings(hardware.sensors.poll, paced, pace_s=PACE_S, before=touch_and_wait),
        "mpr121_block_read": _timings(lambda: touch_reader.read(values), count),
        "ads1115_collect_and_start": _timings(lambda: flex_reader.read(values), paced, pace_s=PACE_S),
        "fake_mpr121_simulation_only": _timings(chip_only, count),
        "mpr121_driver_per_electrode_reads": _timings(
            lambda: [driver.baseline_data(i) - driver.filtered_data(i) for i in range(12)],
            max(count // 100, 1)),
        "poll_untimed_fakes": _timings(untimed.sensors.poll, count),
        "real_bus_estimate": _bus_model(hardware, paced),
    }
    for sim in (hardware, hardware_all_flex, with_gesture, untimed):
        sim.close()
    return result
