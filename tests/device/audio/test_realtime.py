"""Real-time scheduling of the instrument's threads: granted, refused with a reason, never inherited."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from device.app.control_thread import ControlThread
from device.audio import realtime
from device.audio.realtime import promote_current_thread, thread_scheduling


def in_new_thread(work: Callable[[], object]) -> object:
    """Run `work` in a fresh thread (whose scheduling dies with it) and return its result."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def can_use_realtime() -> bool:
    return in_new_thread(lambda: promote_current_thread(1)) is None


needs_realtime = pytest.mark.skipif(not can_use_realtime(),
                                    reason="this user may not use real-time scheduling (no RTPRIO limit)")


@needs_realtime
def test_a_thread_promotes_itself_and_only_itself() -> None:
    def promote_and_report() -> tuple[str | None, str]:
        return promote_current_thread(3), thread_scheduling()

    assert in_new_thread(promote_and_report) == (None, "SCHED_RR 3")
    assert in_new_thread(lambda: (promote_current_thread(7, fifo=True), thread_scheduling())) == (
        None, "SCHED_FIFO 7")
    assert thread_scheduling() == "SCHED_OTHER 0"  # the calling (main) thread is untouched


@needs_realtime
def test_a_thread_already_real_time_is_left_where_it_was_put() -> None:
    def placed_then_asked_again() -> str:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))  # as JACK places its client thread
        assert promote_current_thread(20, fifo=True) is None
        return thread_scheduling()

    assert in_new_thread(placed_then_asked_again) == "SCHED_FIFO 5"


@needs_realtime
def test_a_process_started_while_a_thread_is_promoted_runs_in_the_normal_class() -> None:
    promoted, release = threading.Event(), threading.Event()

    def promote_and_hold() -> None:
        assert promote_current_thread(2) is None
        promoted.set()
        release.wait(10.0)

    thread = threading.Thread(target=promote_and_hold)
    thread.start()
    try:
        assert promoted.wait(5.0)
        code = "import os; print(os.sched_getscheduler(0) == os.SCHED_OTHER)"
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    finally:
        release.set()
        thread.join()
    assert child.stdout.strip() == "True"


def test_a_refusal_is_a_reason_to_report_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(realtime.os, "sched_setscheduler", refuse)
    reason = in_new_thread(lambda: promote_current_thread(2))
    assert isinstance(reason, str)
    assert "real-time priority 2 refused (Operation not permitted)" in reason
    assert "LimitRTPRIO" in reason and "playing at normal priority" in reason


def test_priorities_outside_the_real_time_range_are_refused() -> None:
    for priority in (0, 100):
        with pytest.raises(ValueError, match="between 1 and 99"):
            promote_current_thread(priority)


def test_the_control_thread_polls_in_its_real_time_class_or_says_why_not() -> None:
    seen: list[str] = []
    thread = ControlThread(lambda: seen.append(thread_scheduling()), rate_hz=200.0,
                           realtime_priority=realtime.CONTROL_PRIORITY)
    with thread:
        assert thread.started.wait(2.0)
        while not seen:
            threading.Event().wait(0.01)
    if thread.realtime_problem is None:
        assert seen[0] == f"SCHED_RR {realtime.CONTROL_PRIORITY}"
    else:
        assert seen[0] == "SCHED_OTHER 0" and "refused" in thread.realtime_problem
    assert thread.polls >= 1 and thread.errors == 0


def test_the_instrument_threads_rank_below_the_audio_thread() -> None:
    assert realtime.AUDIO_PRIORITY > realtime.MODEL_PRIORITY > realtime.CONTROL_PRIORITY \
        > realtime.WATCHER_PRIORITY >= 1
