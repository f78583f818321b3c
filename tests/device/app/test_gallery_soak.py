"""A 30-minute offline soak of gallery mode, faster than real time: visitors come and go every
5 minutes, the evening's quiet hours begin (a cap, then silence, then sound again) and the daily
recalibration falls due. Afterwards nothing is stuck and the memory the run holds has not grown.

Made cheap where it does not matter: the sound is rendered at 8 kHz in 64 ms blocks (one sensor
poll per block, as `play_offline` does), so the control side, the mapping and gallery mode run
the whole 30 minutes of virtual time in well under a minute here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from device.app.gallery_settings import GallerySettings, QuietHours
from device.app.play import PlaySettings, StreamClock, attach_gallery_mode, build_rig
from device.app.settings import InstrumentSettings
from device.audio.offline import run_offline

from ..engine.banks import midi_hz, sine_bank
from .soak_memory import SoakMemory

RATE = 8000
BLOCK = 512
MINUTES = 30
START = dt.datetime(2026, 3, 1, 21, 50)

# A visitor every 5 minutes: a note, a bend there and back, then nobody for the rest of the loop.
VISITS = """
name = "visits"
loop = true
duration = 300.0

[[touch]]
key = "e3"
at = 2.0
length = 0.5

[[touch]]
key = "e6"
at = 4.0
length = 1.5

[[keyframe]]
t = 0.0
flex0 = 0.1

[[keyframe]]
t = 10.0
flex0 = 0.6

[[keyframe]]
t = 20.0
flex0 = 0.1
"""


class PeakPerSecond:
    """An offline output keeping each second's peak (preallocated: it must not grow while measured)."""

    def __init__(self, seconds: int) -> None:
        self.peaks = np.zeros(seconds + 1)
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        second = self.frames // RATE
        self.peaks[second] = max(self.peaks[second], float(np.max(np.abs(block))))
        self.frames += block.shape[0]


@pytest.mark.slow
def test_half_an_hour_of_gallery_mode_leaves_nothing_stuck_and_no_memory_growth(tmp_path: Path) -> None:
    bank = tmp_path / "grid.bundle"
    sine_bank(bank, steps=(3, 3), pitches=[48, 60], sample_rate=RATE, seconds=0.5,
              frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.1 * g[0] + 0.05 * g[1]))
    gesture = tmp_path / "visits.toml"
    gesture.write_text(VISITS)
    gallery = GallerySettings(
        idle_s=60.0, speed=0.05, pitch_every_s=20.0, recalibrate_at=22 * 60 + 17,
        quiet=(QuietHours(22 * 60, 22 * 60 + 10, cap_db=-20.0),
               QuietHours(22 * 60 + 10, 22 * 60 + 15, silence=True)))
    settings = PlaySettings(bundle=bank, gesture=str(gesture), sample_rate=RATE, block_frames=BLOCK,
                            instrument=InstrumentSettings(gallery=gallery), wall_start=START)
    clock = StreamClock(RATE)
    rig = build_rig(settings, clock)
    messages: list[str] = []
    seconds = MINUTES * 60
    output = PeakPerSecond(seconds)
    modes = np.zeros(seconds + 1, dtype=np.int8)  # 0 play, 1 drift, 2 quiet, each second
    codes = {"play": 0, "drift": 1, "quiet": 2}
    memory = SoakMemory()
    try:
        attach_gallery_mode(rig, settings, wall_clock=lambda: START + dt.timedelta(seconds=clock()),
                            report=messages.append)
        assert rig.gallery is not None

        def before_block(t: float) -> None:
            clock.frames = round(t * RATE)
            rig.instrument.poll()
            second = int(t)
            modes[second] = codes[rig.gallery.mode]
            memory.sample(second)

        with memory:
            frames = run_offline(rig.instrument, output, float(seconds), sample_rate=RATE, block_frames=BLOCK,
                                 before_block=before_block)
        g = rig.gallery
        assert frames == seconds * RATE
        assert rig.instrument.polls == -(-frames // BLOCK)

        # Memory: after the first visit (the first 5 minutes fill every cache there is), nothing grows.
        memory.assert_nothing_grows()

        # Every mode change of the half hour (second, mode), as it should be: a visitor every 5 minutes
        # takes over from the drift, which takes up again 78 s later (a minute after the last bend
        # came to rest); at 22:10 quiet hours silence it (and keep it from drifting) until 22:15,
        # when it sounds again, drifting for the second before the visitor arrives.
        changes = [(i, int(modes[i])) for i in range(1, seconds) if modes[i] != modes[i - 1]]
        assert changes == [(78, 1), (301, 0), (378, 1), (601, 0), (678, 1), (901, 0), (978, 1), (1200, 2),
                           (1500, 1), (1501, 0), (1578, 1)]
        assert g.episodes == 6 and g.handbacks == 5 and g.drifting
        # Quiet hours by the clock: 22:10-22:15 silent, sound again after.
        assert np.all(modes[20 * 60 + 2:25 * 60] == 2) and np.all(output.peaks[20 * 60 + 1:25 * 60] == 0.0)
        assert not np.any(modes[:20 * 60] == 2) and not np.any(modes[25 * 60 + 1:] == 2)
        assert np.all(output.peaks[25 * 60 + 1:seconds] > 0.01)
        # The night cap held from 22:00 to 22:10, and the ceiling came back up afterwards.
        cap = 10 ** (-20 / 20)
        assert np.all(output.peaks[10 * 60 + 5:20 * 60] <= cap) and g.ceiling_db == -1.0
        # The daily recalibration: once, at 22:17, nobody there (the visitor left at 22:15:20).
        assert g.recalibrations == 1
        assert [m for m in messages if m.startswith("daily recalibration")] == [
            "daily recalibration (2026-03-01 22:17): relearning the sensors' rest"]
        assert not rig.mapper.calibrating
        assert rig.engine.nonfinite_samples == 0
    finally:
        rig.close()
