"""Measure a playing output in windows, judged against a C client on the same JACK server.

This box is a shared 2-core VM whose timer wakes late now and then: jackd then reports missed
cycles for every client, a C client (`jack_metro`) included, tens to hundreds a minute in a
noisy hour and a few in a quiet one. A window is therefore judged against the reference client
the session's server runs beside ours, never against zero: our missed cycles (those jackd names
our client in, plus the times the render thread found PortAudio's ring run dry) may not exceed
`TOLERANCE_FACTOR` times the reference's plus `TOLERANCE_SLACK`. A systematic cost of ours (the
old arrangement: hundreds a minute beside a reference's handful) fails that by far; the
machine's noise, which the reference shares, does not. A window that fails is taken again, up
to `attempts` times, and one must pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from device.audio.output_stats import OutputStats
from device.bench.jack_server import REFERENCE_CLIENT, JackServer, XrunReport

OUR_CLIENT = "PortAudio"
TOLERANCE_FACTOR = 2
TOLERANCE_SLACK = 3


@dataclass(frozen=True)
class StreamWindow:
    gaps: int  # our output's own count: the ring ran dry (ring output) or PortAudio's flags (callback)
    jack_named: int  # cycles jackd reported our client not finished in
    reference: int  # cycles jackd reported the C reference client not finished in
    blocks: int
    blocks_due: float
    stats: OutputStats  # counters at the end of the window (peaks: within the window)
    xruns: XrunReport

    @property
    def ours(self) -> int:
        return self.gaps + self.jack_named

    @property
    def within_reference(self) -> bool:
        return self.ours <= TOLERANCE_FACTOR * self.reference + TOLERANCE_SLACK

    def __str__(self) -> str:
        s = self.stats
        return (f"ours {self.ours} ({self.gaps} ring ran dry, {self.jack_named} named by jackd) vs "
                f"reference {self.reference}; {self.blocks} blocks ({self.blocks_due:.0f} due); "
                f"interval max {s.max_interval_s * 1e3:.2f} ms, p99.9 {s.interval_p999_s * 1e3:.2f} ms; "
                f"longest render {s.max_render_s * 1e3:.3f} ms; {self.xruns}")


def measure_window(server: JackServer, output: object, seconds: float) -> StreamWindow:
    mark = server.log_mark()
    warm = output.stats  # type: ignore[attr-defined]
    output.reset_peaks()  # type: ignore[attr-defined]
    time.sleep(seconds)
    done = output.stats  # type: ignore[attr-defined]
    xruns = server.xruns_since(mark)
    return StreamWindow(done.underruns - warm.underruns, xruns.client_count(OUR_CLIENT),
                        xruns.client_count(REFERENCE_CLIENT), done.blocks - warm.blocks,
                        done.blocks_due - warm.blocks_due, done, xruns)


def measure_until_within_reference(server: JackServer, output: object, *, seconds: float,
                                   attempts: int) -> list[StreamWindow]:
    """Windows of `seconds` until one is within the reference (see the module doc); the last decides."""
    windows: list[StreamWindow] = []
    for _ in range(attempts):
        windows.append(measure_window(server, output, seconds))
        if windows[-1].within_reference:
            break
    return windows
