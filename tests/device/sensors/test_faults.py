"""I2C faults never stop the frames: values hold, channels go stale, lost chips are re-initialised."""

from __future__ import annotations

import pytest

from device.errors import SensorError
from device.sensors.frame import SensorFrame

from .rig import ELECTRODES, FLEX, Rig, make_rig

ALL = frozenset(ELECTRODES) | frozenset(FLEX)
FAULT_POLLS = 3000  # three seconds of polling at 1 kHz on the rig's clock


def poll_through_faults(rig: Rig, polls: int) -> tuple[list[SensorFrame], SensorFrame]:
    """Poll `polls` times; every frame must be complete, newer than the last, and hold stale values."""
    previous = rig.poll()
    frames = []
    for _ in range(polls):
        frame = rig.array.poll()  # must never raise
        assert frame.channels == previous.channels and set(frame.channels) == ALL
        assert frame.timestamp > previous.timestamp
        assert frame.stale <= ALL
        for channel in frame.stale:
            assert frame[channel] == previous[channel], f"{channel} was not held"
        frames.append(frame)
        previous = frame
    return frames, previous


def poll_until_fresh(rig: Rig, limit: int = 3000) -> SensorFrame:
    for _ in range(limit):
        frame = rig.array.poll()
        if not frame.stale:
            return frame
    raise AssertionError(f"still stale after {limit} polls: {rig.array.status()}")


@pytest.mark.parametrize("rate", [0.01, 0.10, 1.00])
def test_polling_survives_injected_errors_and_tracks_again_afterwards(rate: float) -> None:
    rig = make_rig(seed=int(rate * 100))
    rig.touch_chip.touch(2)
    rig.flex_chip.bend(0, 0.2)
    before = rig.poll(5)
    resets_before = rig.touch_chip.soft_resets
    rig.bus.error_rate = rate

    frames, last = poll_through_faults(rig, FAULT_POLLS)

    stale = [f for f in frames if f.stale]
    assert stale, "injected errors should have made some channels stale"
    during = rig.array.status()
    assert during.failed_reads > 0
    if rate == 1.0:
        assert all(f.stale == ALL for f in frames)
        assert all(f.values == before.values for f in frames)  # the last good values, held
        assert not during.all_connected
    else:
        assert len(stale) < len(frames)  # most polls still get through
        assert last["e2"] > 40  # the held touch is still seen
        # A glitchy bus is not a lost chip: no reset that would re-learn the baselines.
        assert during.chip("mpr121").reinits == 0

    # Hands off while the bus comes back: a re-initialised MPR121 takes its baseline from the
    # first measurement, so a finger resting on a key then would read as untouched (the real part does this).
    rig.touch_chip.release(2)
    rig.bus.error_rate = 0.0
    poll_until_fresh(rig)
    rig.touch_chip.touch(9)
    rig.flex_chip.bend(0, 1.0)
    frame = rig.poll(2)  # two polls: every flex input converted at least once
    assert frame["e9"] > 40 and frame["e2"] < 10
    assert frame["flex0"] > before["flex0"] + 5000
    after = rig.array.status()
    assert after.all_connected
    if rate == 1.0:
        assert after.chip("mpr121").reinits >= 1 and after.chip("ads1115").reinits >= 1
        assert rig.touch_chip.soft_resets > resets_before  # the driver really ran its reset again


def test_a_chip_power_cycled_by_a_pulled_connector_is_reinitialised() -> None:
    rig = make_rig()
    rig.poll(3)
    rig.bus.unplug()
    poll_through_faults(rig, 200)
    rig.bus.replug(power_cycle=True)
    assert not rig.touch_chip.running  # came back in its power-on state
    poll_until_fresh(rig)
    assert rig.touch_chip.running
    rig.touch_chip.touch(4)
    assert rig.poll()["e4"] > 40
    assert rig.array.status().chip("mpr121").reinits == 1


def test_a_reset_without_any_bus_error_is_caught_by_housekeeping() -> None:
    rig = make_rig()
    rig.poll(3)
    rig.touch_chip.power_on_reset()  # a supply glitch: the chip restarts, the bus never failed
    reader = rig.array.readers[0]
    poll_through_faults(rig, reader.housekeeping_every + 1)
    status = rig.array.status().chip("mpr121")
    assert status.reinits == 1 and "stopped measuring" in (status.last_error or "")
    rig.touch_chip.touch(0)
    assert rig.poll()["e0"] > 40


def test_an_unplugged_chip_leaves_the_other_one_fresh() -> None:
    rig = make_rig(adc_noise=0.0)
    rig.poll(3)
    rig.bus.unplug(rig.pins.mpr121.address)
    rig.flex_chip.bend(1, 0.0)
    flat = rig.poll(5)
    rig.flex_chip.bend(1, 1.0)
    bent = rig.poll(2)
    assert flat.stale == bent.stale == frozenset(ELECTRODES)
    assert bent["flex1"] > flat["flex1"] + 5000


def test_reconnection_attempts_back_off_while_the_bus_stays_silent() -> None:
    rig = make_rig()
    rig.poll()
    rig.bus.unplug()
    polls = 10_000  # ten seconds on the rig's clock
    poll_through_faults(rig, polls)
    attempts = rig.array.status().chip("mpr121").failed_connects
    # Backoff doubles from 20 ms to a 1 s ceiling: about 6 quick attempts, then one a second.
    assert 8 <= attempts <= 20
    assert rig.bus.counts["failed"] < polls * 2  # far fewer than one attempt per poll would cost


def test_a_chip_missing_at_start_is_reported_with_what_does_answer() -> None:
    with pytest.raises(SensorError) as caught:
        make_rig(attach=False)
    message = str(caught.value)
    assert "MPR121" in message and "0x5A" in message and "devices answering: none" in message


def test_without_require_all_a_missing_chip_is_stale_until_it_appears() -> None:
    rig = make_rig(attach=False, require_all=False)
    frame = rig.poll()
    assert frame.stale == ALL
    assert all(frame[ch] == 0.0 for ch in ALL)
    rig.bus.attach(rig.pins.mpr121.address, rig.touch_chip)
    rig.bus.attach(rig.pins.ads1115.address, rig.flex_chip)
    poll_until_fresh(rig)
    rig.touch_chip.touch(11)
    assert rig.poll()["e11"] > 40
    status = rig.array.status()
    assert status.reinits == 0 and status.chip("mpr121").failed_connects >= 1  # a first start, not a re-init
