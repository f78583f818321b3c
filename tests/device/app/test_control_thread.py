"""The control loop: woken by activity, periodic otherwise, never spinning, never stopped by errors.

No timing is asserted: a wake-up is shown by a poll arriving long before the period would
bring one, and "no spin" by poll counts orders of magnitude below what a spinning loop makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from device.app.control_thread import MIN_WAIT_S, ControlThread
from device.bus.irq_line import FakeIrqLine


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def test_activity_reaches_the_poll_without_waiting_for_the_period() -> None:
    line = FakeIrqLine()
    polled = threading.Event()

    def poll() -> None:
        line.release()  # as reading the touch status does
        polled.set()

    thread = ControlThread(poll, rate_hz=0.1, wait=line.wait)  # a periodic poll only every 10 s
    with thread:
        assert polled.wait(2.0)  # the first poll comes at once
        polled.clear()
        line.assert_()
        assert polled.wait(5.0), "a touch must wake the loop, not wait 10 s for the period"
    assert thread.polls == 2 and thread.woken_polls == 1 and thread.errors == 0


def test_every_touch_is_a_poll_of_its_own() -> None:
    line = FakeIrqLine()
    polls: list[int] = []
    thread = ControlThread(lambda: (line.release(), polls.append(1)), rate_hz=0.1, wait=line.wait)
    with thread:
        assert wait_until(lambda: len(polls) == 1)
        for touch in range(1, 6):
            line.assert_()
            assert wait_until(lambda touch=touch: len(polls) == touch + 1)  # type: ignore[misc]
    assert thread.woken_polls == 5


def test_without_a_wait_it_polls_on_its_period() -> None:
    thread = ControlThread(lambda: None, rate_hz=200.0)
    with thread:
        assert wait_until(lambda: thread.polls >= 5)
    assert thread.woken_polls == 0 and thread.errors == 0


def test_a_poll_that_raises_is_counted_and_the_loop_carries_on() -> None:
    calls = [0]

    def flaky() -> None:
        calls[0] += 1
        if calls[0] % 2:
            raise RuntimeError(f"glitch {calls[0]}")

    thread = ControlThread(flaky, rate_hz=500.0, wait=FakeIrqLine().wait)
    with thread:
        assert wait_until(lambda: thread.polls >= 5)
    assert thread.errors >= 5 and isinstance(thread.last_error, RuntimeError)


def test_a_wait_that_raises_is_counted_and_polling_goes_on() -> None:
    def broken(timeout_s: float) -> bool:
        raise OSError("GPIO closed")

    thread = ControlThread(lambda: None, rate_hz=200.0, wait=broken)
    with thread:
        assert wait_until(lambda: thread.polls >= 5)
    assert thread.errors >= 4 and isinstance(thread.last_error, OSError)


@pytest.mark.parametrize("answer", [True, False], ids=["stuck-active", "returns-at-once"])
def test_a_wait_that_never_blocks_does_not_make_it_spin(answer: bool) -> None:
    rate = 100.0
    thread = ControlThread(lambda: None, rate_hz=rate, wait=lambda timeout_s: answer)
    started = time.monotonic()
    with thread:
        time.sleep(0.3)
    elapsed = time.monotonic() - started
    # A spinning loop makes hundreds of thousands of polls here; this one at most three a period.
    assert 0 < thread.polls <= 3 * elapsed * rate + 10
    if answer:
        assert thread.distrusted_waits > 0 and thread.woken_polls > 0
    else:
        assert thread.woken_polls == 0


def test_rates_above_a_kilohertz_are_not_sub_millisecond_waits() -> None:
    assert ControlThread(lambda: None, rate_hz=2000.0).period == MIN_WAIT_S
    assert ControlThread(lambda: None, rate_hz=200.0).period == pytest.approx(0.005)
    with pytest.raises(ValueError, match="positive"):
        ControlThread(lambda: None, rate_hz=0.0)


def test_the_thread_reports_its_own_cpu_time() -> None:
    def busy() -> None:
        end = time.thread_time() + 0.002
        while time.thread_time() < end:
            pass

    thread = ControlThread(busy, rate_hz=200.0)
    with thread:
        assert wait_until(lambda: thread.polls >= 10)
    assert thread.cpu_s >= 10 * 0.002 * 0.9


def test_stop_is_heard_even_at_a_slow_rate() -> None:
    thread = ControlThread(lambda: None, rate_hz=0.01, name="control-stop-test", wait=FakeIrqLine().wait)
    thread.start()
    assert wait_until(lambda: thread.polls == 1)
    thread.stop(timeout=2.0)
    assert "control-stop-test" not in {t.name for t in threading.enumerate()}
