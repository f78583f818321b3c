"""`latent bench sensors`: what one sensor poll costs, real drivers over the fake bus (sim layer).

Reports CPU time per poll (mean, median, p99, max) of the full SensorArray poll with the pin
map's settings, with every flex input converted each poll, and with the demo gesture playing;
the parts (MPR121 block read, one ADS1115 single-shot read, the fake chip's own simulation
cost, the Adafruit driver's per-electrode reads for comparison); and, from the bytes the poll
puts on the bus, the time the same poll would keep a real bus busy at 100 and 400 kHz plus the
ADS1115's conversion wait at its data rate.
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
from device.bus.pinmap import load_pin_map
from device.sim.gesture import load_gesture
from device.sim.hardware import SimulatedHardware

NAME = "sensors"
HELP = "time a sensor poll (real Adafruit drivers over the fake I2C bus)"
I2C_BITS_PER_BYTE = 9  # 8 data bits + ACK
I2C_FRAMING_BITS = 2  # start + stop (or repeated start)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--polls", type=int, default=20000, help="polls per measurement (default 20000)")


def _timings(action: Callable[[], Any], count: int) -> dict[str, float]:
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        action()
        samples.append(clock() - start)
    samples.sort()
    return {
        "mean_us": round(statistics.fmean(samples) / 1000, 2),
        "p50_us": round(samples[len(samples) // 2] / 1000, 2),
        "p99_us": round(samples[int(len(samples) * 0.99)] / 1000, 2),
        "max_us": round(samples[-1] / 1000, 2),
    }


def _bus_model(hardware: SimulatedHardware, polls: int) -> dict[str, float]:
    """Bytes and transactions per poll, from the fake bus's log, turned into wire time."""
    hardware.bus.log = deque(maxlen=100_000)
    for _ in range(polls):
        hardware.sensors.poll()
    log = hardware.bus.log
    hardware.bus.log = None
    bits = 0
    for tx in log:
        bits += I2C_FRAMING_BITS + I2C_BITS_PER_BYTE * (1 + len(tx.written) + len(tx.read))
        if tx.op == "writeto_then_readfrom":
            bits += I2C_FRAMING_BITS + I2C_BITS_PER_BYTE  # repeated start + address again
    flex = hardware.pins.ads1115
    conversions = flex.channels_per_poll
    return {
        "transactions_per_poll": round(len(log) / polls, 2),
        "bus_bytes_per_poll": round(bits / I2C_BITS_PER_BYTE / polls, 1),
        "wire_time_us_100khz": round(bits / polls / 100e3 * 1e6, 1),
        "wire_time_us_400khz": round(bits / polls / 400e3 * 1e6, 1),
        "ads1115_conversion_wait_us": round(conversions * 1e6 / flex.data_rate, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    pins = load_pin_map()
    hardware = SimulatedHardware(pins)
    every_flex = dataclasses.replace(pins, ads1115=dataclasses.replace(
        pins.ads1115, channels_per_poll=len(pins.ads1115.inputs)))
    hardware_all_flex = SimulatedHardware(every_flex)
    with_gesture = SimulatedHardware(pins, gesture=load_gesture("demo"))
    touch_reader, flex_reader = hardware.sensors.readers
    values: dict[str, float] = {}
    driver = touch_reader.driver
    chip = hardware.touch_chip
    filtered_block = bytes((registers.MPR121_FILTERED_DATA,))

    def chip_only() -> None:
        chip.write(filtered_block)
        chip.read(2 * registers.MPR121_ELECTRODES)

    count = args.polls
    result = {
        "polls": count,
        "flex_channels_per_poll": pins.ads1115.channels_per_poll,
        "poll": _timings(hardware.sensors.poll, count),
        "poll_every_flex_input": _timings(hardware_all_flex.sensors.poll, count),
        "poll_with_demo_gesture": _timings(with_gesture.poll, count),
        "mpr121_block_read": _timings(lambda: touch_reader.read(values), count),
        "ads1115_one_input": _timings(lambda: flex_reader.read(values), count),
        "fake_mpr121_simulation_only": _timings(chip_only, count),
        "mpr121_driver_per_electrode_reads": _timings(
            lambda: [driver.baseline_data(i) - driver.filtered_data(i) for i in range(12)],
            max(count // 10, 1)),
        "real_bus_estimate": _bus_model(hardware, 1000),
    }
    for sim in (hardware, hardware_all_flex, with_gesture):
        sim.close()
    return result
