"""SimulatedHardware: the real sensor stack on fake chips, moved by a gesture."""

from __future__ import annotations

import dataclasses
import time

import pytest

from device.bus.fake_i2c import FAST_MODE_HZ
from device.bus.pinmap import REPO_PINS, load_pin_map
from device.errors import GestureError
from device.sim.gesture import load_gesture, parse_gesture
from device.sim.hardware import SimulatedHardware

from ..sensors.rig import ELECTRODES, StepClock

GESTURE = """\
[[keyframe]]
t = 0.0
flex0 = 0.0
flex1 = 1.0

[[keyframe]]
t = 1.0
flex0 = 1.0
flex1 = 0.0

[[touch]]
key = "e6"
at = 0.25
length = 0.5
"""


def simulate(text: str = GESTURE, **kwargs: object) -> tuple[SimulatedHardware, StepClock]:
    clock = StepClock(0.001)
    hardware = SimulatedHardware(load_pin_map(REPO_PINS), gesture=parse_gesture(text, "test.toml"),
                                 clock=clock, **kwargs)  # type: ignore[arg-type]
    return hardware, clock


def poll_at(hardware: SimulatedHardware, clock: StepClock, t: float):  # type: ignore[no-untyped-def]
    while clock.now - hardware.start_time < t:
        frame = hardware.poll()
    return frame


def test_the_gesture_reaches_the_frames_through_the_real_drivers() -> None:
    hardware, clock = simulate()
    early = poll_at(hardware, clock, 0.1)
    held = poll_at(hardware, clock, 0.5)
    late = poll_at(hardware, clock, 0.95)
    assert early["e6"] < 10 and held["e6"] > 40 and late["e6"] < 10
    assert all(held[e] < 10 for e in ELECTRODES if e != "e6")
    assert early["flex0"] < held["flex0"] < late["flex0"]
    assert early["flex1"] > held["flex1"] > late["flex1"]
    assert not (early.stale or held.stale or late.stale)


def test_the_demo_plays_with_the_shipped_pin_map() -> None:
    clock = StepClock(0.001)
    hardware = SimulatedHardware(gesture=load_gesture("demo"), clock=clock)
    frames = [hardware.poll() for _ in range(3000)]  # the first three seconds
    assert max(f["e0"] for f in frames) > 40  # the first note of phrase 1 at 2 s
    assert len({f["flex0"] for f in frames}) > 100
    hardware.close()


def test_faults_injected_into_the_simulation_never_stop_the_frames() -> None:
    hardware, _ = simulate(error_rate=0.1, seed=4)
    frames = [hardware.poll() for _ in range(1000)]
    assert any(f.stale for f in frames) and any(not f.stale for f in frames)
    assert hardware.status().failed_reads > 0


def test_channels_left_out_of_the_gesture_can_be_touched_by_hand() -> None:
    hardware, clock = simulate()
    hardware.touch_chip.touch(11)
    assert poll_at(hardware, clock, 0.1)["e11"] > 40


def test_a_gesture_naming_an_unwired_flex_channel_is_refused() -> None:
    pins = load_pin_map(REPO_PINS)
    one_flex = dataclasses.replace(pins, ads1115=dataclasses.replace(pins.ads1115, inputs={"flex0": 0}))
    with pytest.raises(GestureError, match=r"test\.toml: channel 'flex1' is not wired"):
        SimulatedHardware(one_flex, gesture=parse_gesture(GESTURE, "test.toml"))


def test_the_fakes_take_real_time_only_when_the_simulation_runs_on_the_wall_clock() -> None:
    live = SimulatedHardware(load_pin_map(REPO_PINS))
    assert live.timed and live.bus.speed_hz == FAST_MODE_HZ and live.flex_chip.clock is time.monotonic
    assert live.bus.charged_s > 0  # starting the chips already took bus time
    live.close()
    offline, _ = simulate()
    assert not offline.timed and offline.bus.speed_hz is None and offline.flex_chip.clock is None
    assert offline.bus.charged_s == 0.0
    offline.close()


def test_a_touch_wakes_the_simulated_hardware_like_the_real_irq() -> None:
    hardware, _ = simulate(text="[[keyframe]]\nt = 0.0\nflex0 = 0.0\n")
    hardware.poll()
    assert hardware.sensors.has_activity_line
    assert not hardware.wait_for_activity(0.01)
    hardware.touch_chip.touch(3)
    assert hardware.wait_for_activity(0.01)
    assert hardware.poll()["e3"] > 40
    hardware.close()
