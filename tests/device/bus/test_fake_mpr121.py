"""The MPR121 fake, exercised through the real adafruit_mpr121 driver and raw register access,
and its IRQ output."""

from __future__ import annotations

import threading

import adafruit_mpr121
import pytest

from device.bus import registers as r
from device.bus.fake_i2c import FakeI2C
from device.bus.fake_mpr121 import FakeMPR121
from device.errors import SimulationError

ADDRESS = 0x5A


def rig(**chip_args: object) -> tuple[FakeI2C, FakeMPR121, adafruit_mpr121.MPR121]:
    chip = FakeMPR121(**chip_args)  # type: ignore[arg-type]
    bus = FakeI2C({ADDRESS: chip})
    return bus, chip, adafruit_mpr121.MPR121(bus, address=ADDRESS)


def read_registers(bus: FakeI2C, start: int, count: int) -> bytes:
    out = bytearray(count)
    assert bus.try_lock()
    try:
        bus.writeto_then_readfrom(ADDRESS, bytes([start]), out)
    finally:
        bus.unlock()
    return bytes(out)


def write_register(bus: FakeI2C, register: int, value: int) -> None:
    assert bus.try_lock()
    try:
        bus.writeto(ADDRESS, bytes([register, value]))
    finally:
        bus.unlock()


def test_the_real_driver_starts_it_and_reads_resting_electrodes() -> None:
    _, chip, driver = rig(noise=0.0)
    assert chip.running and chip.soft_resets == 1
    for electrode in range(12):
        assert driver.filtered_data(electrode) == chip.rest_counts[electrode]
        # Baseline loads from the first measurement; only its top 8 bits are visible.
        assert driver.baseline_data(electrode) == chip.rest_counts[electrode] & ~3
    assert driver.touched() == 0


def test_a_touch_pulls_filtered_data_down_and_sets_the_status_bit() -> None:
    _, chip, driver = rig(noise=0.0, touch_depth=60.0)
    chip.touch(5)
    assert driver.filtered_data(5) == chip.rest_counts[5] - 60
    assert driver.touched_pins[5] and driver.touched() == 1 << 5
    chip.touch(5, 0.5)
    assert driver.filtered_data(5) == chip.rest_counts[5] - 30
    chip.release(5)
    assert driver.filtered_data(5) == chip.rest_counts[5]
    assert driver.touched() == 0


def test_touch_status_follows_thresholds_with_hysteresis() -> None:
    _, chip, driver = rig(noise=0.0, touch_depth=100.0, rest_counts=[700] * 12)
    driver[2].threshold = 20
    driver[2].release_threshold = 10
    assert driver[2].threshold == 20 and driver[2].release_threshold == 10
    chip.touch(2, 0.15)  # 15 counts: between release and touch thresholds, not yet touched
    assert not driver[2].value
    chip.touch(2, 0.25)
    assert driver[2].value
    chip.touch(2, 0.15)  # still above the release threshold: stays touched
    assert driver[2].value
    chip.touch(2, 0.05)
    assert not driver[2].value


def test_a_block_read_auto_increments_through_the_data_registers() -> None:
    bus, chip, driver = rig(noise=0.0)
    chip.touch(0)
    chip.touch(11, 0.5)
    block = read_registers(bus, r.MPR121_FILTERED_DATA, 24)
    words = [block[2 * i] | block[2 * i + 1] << 8 for i in range(12)]
    assert words == [driver.filtered_data(i) for i in range(12)]
    baselines = read_registers(bus, r.MPR121_BASELINE, 12)
    assert [b << 2 for b in baselines] == [driver.baseline_data(i) for i in range(12)]


def test_configuration_writes_are_ignored_in_run_mode() -> None:
    bus, _, _ = rig()
    write_register(bus, r.MPR121_TOUCH_THRESHOLD, 99)
    assert read_registers(bus, r.MPR121_TOUCH_THRESHOLD, 1)[0] == 12  # what the driver wrote
    write_register(bus, r.MPR121_ECR, 0x00)
    write_register(bus, r.MPR121_TOUCH_THRESHOLD, 99)
    assert read_registers(bus, r.MPR121_TOUCH_THRESHOLD, 1)[0] == 99


def test_soft_reset_restores_power_on_state_and_stops_measuring() -> None:
    bus, chip, _ = rig()
    assert read_registers(bus, r.MPR121_CONFIG2, 1)[0] == 0x20  # the driver's 1 ms period setting
    write_register(bus, r.MPR121_SOFT_RESET, r.MPR121_SOFT_RESET_KEY)
    assert not chip.running
    assert read_registers(bus, r.MPR121_CONFIG1, 2) == bytes([0x10, 0x24])
    assert read_registers(bus, r.MPR121_FILTERED_DATA, 4) == bytes(4)
    write_register(bus, r.MPR121_SOFT_RESET, 0x00)  # any other value is not a reset
    assert chip.soft_resets == 2


def test_a_touch_present_at_start_is_forgotten_once_released() -> None:
    chip = FakeMPR121(noise=0.0)
    chip.touch(4)
    driver = adafruit_mpr121.MPR121(FakeI2C({ADDRESS: chip}), address=ADDRESS)
    assert driver.baseline_data(4) == (chip.rest_counts[4] - 60) & ~3  # loaded while touched
    chip.release(4)
    driver.filtered_data(4)  # an untouched measurement above the baseline pulls it up
    assert driver.baseline_data(4) == chip.rest_counts[4] & ~3


def test_noise_is_small_and_seeded() -> None:
    _, _, driver = rig(seed=3, noise=0.8)
    samples = [driver.filtered_data(7) for _ in range(200)]
    assert max(samples) - min(samples) <= 8
    assert len(set(samples)) > 1
    _, _, driver2 = rig(seed=3, noise=0.8)
    assert [driver2.filtered_data(7) for _ in range(200)] == samples


def test_impossible_touches_are_refused() -> None:
    chip = FakeMPR121()
    with pytest.raises(SimulationError, match=r"0\.\.11"):
        chip.touch(12)
    with pytest.raises(SimulationError, match=r"0\.\.1"):
        chip.touch(3, 1.5)


def test_the_irq_line_goes_low_on_a_touch_change_and_the_status_read_releases_it() -> None:
    bus, chip, _ = rig(noise=0.0)
    assert not chip.irq.asserted
    chip.touch(6)
    assert chip.irq.asserted and chip.irq.edges == 1
    read_registers(bus, r.MPR121_FILTERED_DATA, 24)  # measurements only: the line stays low
    assert chip.irq.asserted
    status = read_registers(bus, r.MPR121_TOUCH_STATUS, 2)
    assert status == bytes([1 << 6, 0]) and not chip.irq.asserted
    chip.touch(6, 0.9)  # still touched: no change of status, no interrupt
    assert not chip.irq.asserted
    chip.release(6)
    assert chip.irq.asserted and chip.irq.edges == 2
    read_registers(bus, r.MPR121_TOUCH_STATUS + 1, 1)  # either status byte releases it
    assert not chip.irq.asserted


def test_a_block_read_from_the_status_register_sees_the_change_and_releases_the_line() -> None:
    bus, chip, _ = rig(noise=0.0)
    chip.touch(9)
    block = read_registers(bus, r.MPR121_TOUCH_STATUS, r.MPR121_FILTERED_DATA + 24)
    assert block[0] | block[1] << 8 == 1 << 9
    assert not chip.irq.asserted


def test_the_irq_line_is_quiet_while_the_chip_is_stopped_and_released_by_a_reset() -> None:
    bus, chip, _ = rig(noise=0.0)
    chip.touch(1)
    assert chip.irq.asserted
    write_register(bus, r.MPR121_SOFT_RESET, r.MPR121_SOFT_RESET_KEY)
    assert not chip.irq.asserted  # the reset lets the line go
    chip.touch(2)
    assert not chip.irq.asserted  # stopped: nothing is measured, nothing changes


def test_a_waiter_wakes_on_a_touch_from_another_thread() -> None:
    _, chip, _ = rig(noise=0.0)
    assert not chip.irq.wait(0.0)
    timer = threading.Timer(0.05, chip.touch, args=(3,))
    timer.start()
    try:
        assert chip.irq.wait(5.0)
    finally:
        timer.join()
