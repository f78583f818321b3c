"""Keeps a live instrument's threads going, from the main thread (app layer).

Checked a few times a second while the instrument plays:
- the render thread died of an unexpected error: a new one is started on the same stream
  (sound is back within one check), and it is reported;
- the control thread died: a new one is started; until then the sound goes on at the last
  controls, since the render thread never waits for the control side;
- the device stopped taking audio (no block delivered for `device_timeout_s`, or the device
  refused a write): `AudioDeviceLostError`, so the caller can stop without hanging and exit
  non-zero for the service to start it again. PortAudio cannot reopen a device in a process
  whose stream on it is stuck (its JACK host API is bound to the dead server), so a fresh
  process is the reliable way back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from device.errors import AudioDeviceLostError

CHECK_PERIOD_S = 0.1
DEVICE_TIMEOUT_S = 0.5


class Supervisor:
    """`check()` restarts dead threads and raises AudioDeviceLostError for a dead device."""

    def __init__(self, output: Any, control: Any, *, make_control: Callable[[], Any] | None = None,
                 report: Callable[[str], None] = lambda message: None,
                 device_timeout_s: float = DEVICE_TIMEOUT_S) -> None:
        self.output = output
        self.control = control
        self.make_control = make_control
        self.report = report
        self.device_timeout_s = device_timeout_s
        self.render_restarts = 0
        self.control_restarts = 0

    def check(self) -> None:
        output = self.output
        lost = output.device_lost
        stalled = output.stalled_s()
        if lost is None and stalled > self.device_timeout_s:
            lost = f"no audio block went out for {stalled:.1f} s"
        if lost is not None:
            raise AudioDeviceLostError(
                f"the sound device went away ({lost}); stopping so that it can be opened again "
                "(the service restarts the instrument; by hand, run `latent play` again once the "
                "device is back)")
        error = output.restart_if_dead()
        if output.thread_restarts > self.render_restarts:
            self.render_restarts = output.thread_restarts
            self.report(f"the render thread stopped ({type(error).__name__}: {error}); restarted it")
        if self.control is not None and not self.control.alive and self.make_control is not None:
            error = self.control.last_error
            self.control = self.make_control()
            self.control.start()
            self.control_restarts += 1
            self.report(f"the sensor thread stopped ({type(error).__name__}: {error}); restarted it")
