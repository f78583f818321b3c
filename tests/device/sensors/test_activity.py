"""Waiting for a touch: the MPR121's IRQ wakes `wait_for_activity`, the poll after it reads the
touch chip alone, and no fault (a lost chip, a stuck line, no line at all) makes it hang or spin."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from device.sensors.array import SensorArray

from .rig import ELECTRODES, FLEX, make_rig

SHORT = 0.01  # a timeout that is allowed to pass: nothing here waits on it being exact


def returns_within(call: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Run `call` on a thread; fail the test if it is still blocked after `seconds`."""
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "wait_for_activity hung"
    return result[0]


def test_a_touch_wakes_the_wait_and_nothing_else_does() -> None:
    rig = make_rig(touch_noise=0.0)
    rig.poll(2)
    assert rig.array.has_activity_line
    assert not rig.array.wait_for_activity(SHORT)  # nobody touched: the timeout passes
    rig.touch_chip.touch(5)
    assert rig.array.wait_for_activity(SHORT)


def test_a_touch_from_another_thread_ends_a_long_wait() -> None:
    rig = make_rig(touch_noise=0.0)
    rig.poll(2)
    timer = threading.Timer(0.05, rig.touch_chip.touch, args=(2,))
    timer.start()
    try:
        assert returns_within(lambda: rig.array.wait_for_activity(30.0))
    finally:
        timer.join()


def test_the_poll_after_a_wake_reads_the_touch_chip_only_and_releases_the_line() -> None:
    rig = make_rig(touch_noise=0.0, adc_noise=0.0)
    before = rig.poll(2)
    rig.flex_chip.bend(0, 1.0)
    conversions = rig.flex_chip.conversions
    rig.touch_chip.touch(8)
    assert rig.array.wait_for_activity(SHORT)
    frame = rig.array.poll()
    assert frame["e8"] > 40  # the touch is in this frame
    assert rig.flex_chip.conversions == conversions  # the ADC was left alone
    assert frame["flex0"] == before["flex0"] and frame.stale == frozenset()  # held, not stale
    assert not rig.touch_chip.irq.asserted  # the status read let the line go
    assert rig.array.status().activity_polls == 1
    assert rig.poll(2)["flex0"] > before["flex0"] + 5000  # the next plain polls read the ADC again


def test_an_unplugged_touch_chip_makes_the_wait_sleep_not_hang_or_spin() -> None:
    rig = make_rig()
    rig.poll(2)
    rig.touch_chip.touch(1)  # the line goes low ...
    rig.bus.unplug(rig.pins.mpr121.address)  # ... and no read can release it any more
    rig.poll()  # the read fails: the line stays low
    # Low since a read that should have released it: a stuck line, not a new touch.
    assert not returns_within(lambda: rig.array.wait_for_activity(SHORT))
    for _ in range(20):  # fail_limit polls: the chip is lost
        rig.poll()
    assert not rig.array.status().chip("mpr121").connected
    assert not returns_within(lambda: rig.array.wait_for_activity(SHORT))
    assert rig.array.status().stuck_irq_waits >= 1


def test_a_missing_chip_at_start_never_blocks_the_wait() -> None:
    rig = make_rig(attach=False, require_all=False)
    assert not returns_within(lambda: rig.array.wait_for_activity(SHORT))
    assert rig.poll().stale == frozenset(ELECTRODES) | frozenset(FLEX)


def test_without_a_line_the_wait_just_sleeps_its_timeout() -> None:
    rig = make_rig(irq=False)
    rig.poll()
    assert not rig.array.has_activity_line
    rig.touch_chip.touch(3)
    assert not returns_within(lambda: rig.array.wait_for_activity(SHORT))


def test_the_fallback_sleep_is_the_injected_one() -> None:
    slept: list[float] = []
    array = SensorArray([], sleep=slept.append)
    assert not array.wait_for_activity(0.25)
    assert slept == [0.25]


def test_housekeeping_due_on_a_touchs_read_waits_for_the_next_poll() -> None:
    rig = make_rig(touch_noise=0.0)
    reader = rig.array.readers[0]
    rig.poll(reader.housekeeping_every)  # the next read is due to re-read the baselines
    rig.bus.log = deque(maxlen=100)
    touch_address = rig.pins.mpr121.address
    rig.touch_chip.touch(0)
    assert rig.array.wait_for_activity(SHORT)
    assert rig.array.poll()["e0"] > 40
    assert [tx.address for tx in rig.bus.log] == [touch_address]  # the status and data, nothing else
    rig.bus.log.clear()
    rig.poll()
    assert sum(tx.address == touch_address for tx in rig.bus.log) == 3  # housekeeping caught up
