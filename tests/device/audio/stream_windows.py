"""Measure a running PyAudioOutput in windows, retaking a window spoilt by a stall.

This box is a shared 2-core VM: under other load, jackd itself reports missed cycles that no
client causes (its driver timer wakes late, or an idle realtime client thread is not
scheduled; a plain C client sees them too). A window in which jackd reports such a machine
stall is not evidence either way, so it is measured again, up to `attempts` times. A window
with underruns and no machine stall ends the measurement at once (the caller's assertion on
the last window then fails), unless `retake_any=True`: with the whole instrument running, a
lone callback here waits ~3 ms for the GIL about once a minute, real-time class or not, and
jackd reports it as a slow client (`latent bench swap --every 30` counts them); those tests
require one clean window out of `attempts`, which a systematic cost (a swap that always drops
a block, a thread that hogs the GIL) still fails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from device.audio.pyaudio_output import OutputStats, PyAudioOutput

from ...jack_server import JackServer, XrunReport


@dataclass(frozen=True)
class StreamWindow:
    underruns: int
    callbacks: int
    callbacks_expected: float
    stats: OutputStats  # counters at the end of the window (peaks: within the window)
    xruns: XrunReport

    def __str__(self) -> str:
        s = self.stats
        return (f"{self.underruns} underruns in {self.callbacks} callbacks ({self.callbacks_expected:.0f} "
                f"expected); callback interval max {s.max_interval_s * 1e3:.2f} ms, p99 "
                f"{s.interval_p99_s * 1e3:.2f} ms; longest callback {s.max_callback_s * 1e3:.3f} ms; "
                f"cpu load {s.cpu_load:.3f}; {self.xruns}")


def measure_until_clean(server: JackServer, output: PyAudioOutput, *, seconds: float, attempts: int,
                        retake_any: bool = False) -> list[StreamWindow]:
    """Windows of `seconds` until one is clean or unexplained (see the module doc); the last decides.

    Every window must have delivered every block its elapsed time calls for (none skipped).
    """
    windows: list[StreamWindow] = []
    for _ in range(attempts):
        mark = server.log_mark()
        warm = output.stats
        output.reset_peaks()
        time.sleep(seconds)
        done = output.stats
        expected = (done.elapsed_s - warm.elapsed_s) * output.sample_rate / output.frames_per_buffer
        window = StreamWindow(done.underruns - warm.underruns, done.callbacks - warm.callbacks, expected,
                              done, server.xruns_since(mark))
        windows.append(window)
        assert window.callbacks == pytest.approx(expected, rel=0.02), str(window)
        if window.underruns == 0 or not (retake_any or window.xruns.machine_stalled):
            break
    return windows
