"""Waiting in tests for what another thread (MIDI, OSC, the control loop) makes happen."""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_S = 10.0  # only a broken path takes this long: the waits end as soon as the state is reached


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    """Return once `condition()` holds; AssertionError naming `what` when it never does."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.002)
