"""Gallery mode in the offline runner, on the simulated chips played by a gesture: the drift
starts after the idle time and the touch that ends it is heard in the very block it registers;
the limiter holds the room's caps on a worst-case bank; `latent play --settings` runs it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device.app.control_merge import ControlMerge
from device.app.gallery import attach_gallery
from device.app.gallery_settings import GallerySettings, QuietHours
from device.app.instrument import Instrument
from device.app.play import PlaySettings, Rig, StreamClock, attach_gallery_mode, build_rig
from device.app.settings import InstrumentSettings
from device.audio.null_output import NullOutput
from device.audio.offline import run_offline
from device.bundle.reader import SegmentBank
from device.cli import main
from device.engine.granular import GranularEngine
from device.engine.limiter import ceiling_from_dbfs
from device.mapping import Mapper
from device.sim.hardware import SimulatedHardware

from ..engine.banks import midi_hz, sine_bank
from .test_output_limiter import read_wav

RATE = 48000
BLOCK = 64
NOON = dt.datetime(2026, 3, 1, 12, 0)

# Someone plays a note at 2 s and leaves; someone else comes by at 14 s.
VISIT = """
name = "visit"
duration = 20.0

[[touch]]
key = "e3"
at = 2.0
length = 0.5

[[touch]]
key = "e5"
at = 14.0
length = 1.0
"""


@pytest.fixture
def bank_path(tmp_path: Path) -> Path:
    path = tmp_path / "grid.bundle"
    sine_bank(path, steps=(3, 3), pitches=[48, 60], seconds=0.5,
              frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.1 * g[0] + 0.05 * g[1]))
    return path


@pytest.fixture
def gesture(tmp_path: Path) -> Path:
    path = tmp_path / "visit.toml"
    path.write_text(VISIT)
    return path


def test_drift_starts_after_the_idle_time_and_yields_within_one_block_of_a_touch(
        bank_path: Path, gesture: Path) -> None:
    gallery = GallerySettings(idle_s=5.0, speed=0.05, pitch_every_s=0.0, gain=0.6)
    settings = PlaySettings(bundle=bank_path, gesture=str(gesture), sample_rate=RATE, block_frames=BLOCK,
                            instrument=InstrumentSettings(gallery=gallery), wall_start=NOON)
    clock = StreamClock(RATE)
    rig = build_rig(settings, clock)
    records: list[tuple[float, bool, Any, Any, bool, tuple[float, ...]]] = []
    try:
        attach_gallery_mode(rig, settings, wall_clock=lambda: NOON + dt.timedelta(seconds=clock()),
                            report=lambda _message: None)
        assert rig.gallery is not None

        def before_block(t: float) -> None:  # what play_offline does, plus a look at every block
            clock.frames = round(t * RATE)
            rig.instrument.poll()
            records.append((t, rig.gallery.drifting, rig.instrument.latest_state, rig.mapper.state,
                            rig.mapper.key_held, rig.engine.point))

        run_offline(rig.instrument, NullOutput(RATE), 20.0, sample_rate=RATE, block_frames=BLOCK,
                    before_block=before_block)
    finally:
        rig.close()

    block_s = BLOCK / RATE
    held = [r[0] for r in records if r[4]]
    first_leaves = max(t for t in held if t < 10.0)  # the last block the first note was held
    drift = [r for r in records if r[1]]
    assert drift, "the drift never started"
    # Drifting begins idle_s after the last touch, to the block.
    assert drift[0][0] - first_leaves == pytest.approx(5.0, abs=block_s)
    # It moves through the space, and the engine follows it.
    assert len({r[5] for r in drift}) > 1000
    assert all(r[5] == r[2].point for r in records)
    # The second visitor's touch: the block whose poll first sees the key plays the sensors' state.
    touch = next(r for r in records if r[0] > 10.0 and r[4])
    assert not touch[1]
    assert touch[2].point == touch[3].point == touch[5] and touch[2].pitch == 60.0 and touch[2].trigger
    before = records[records.index(touch) - 1]
    assert before[1] and before[5] != touch[5]  # one block earlier it was still drifting
    assert rig.gallery.episodes == 1 and rig.gallery.handbacks == 1


# ----- the limiter holds the room's caps on a worst-case bank --------------------------------

def worst_case(bank: SegmentBank) -> SegmentBank:
    """Scales of 1000 (tests/device/engine/test_limiter.py): what a broken bundle could carry."""
    return dataclasses.replace(bank, scales=np.broadcast_to(np.float32(1000.0), bank.scales.shape).copy())


def test_the_limiter_holds_every_cap_of_the_day_on_a_worst_case_bank(tmp_path: Path) -> None:
    bank = sine_bank(tmp_path / "loud.bundle", steps=(3, 2), pitches=[48, 60], seconds=0.5,
                     frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.1 * g[0] + 0.05 * g[1]))
    engine = GranularEngine(worst_case(bank), sample_rate=RATE, seed=3)
    engine.set_params(gain=4.0, overlap=16.0, grain_ms=60.0, jitter=0.5)
    t_now = [0.0]
    sensors = SimulatedHardware(clock=lambda: t_now[0])
    mapper = Mapper()
    merge = ControlMerge(mapper)
    instrument = Instrument(sensors, merge, engine)
    quiet = (QuietHours(12 * 60 + 1, 12 * 60 + 2, cap_db=-30.0),
             QuietHours(12 * 60 + 2, 12 * 60 + 3, silence=True))
    gallery = attach_gallery(GallerySettings(idle_s=2.0, gain=1.0, level_cap_db=-6.0, quiet=quiet), merge,
                             mapper, axes=2, engine=lambda: instrument.engine, base_ceiling_db=-1.0,
                             wall_clock=lambda: NOON + dt.timedelta(seconds=t_now[0]))
    assert gallery is not None
    out = np.zeros(1024, dtype=np.float32)
    peaks: dict[int, float] = {}
    for block in range(round(200 * RATE / len(out))):  # 12:00:00 to 12:03:20, drifting from 12:00:02
        t_now[0] = block * len(out) / RATE
        instrument.poll()
        instrument.render_into(out)
        assert np.all(np.isfinite(out))
        # No block passes the ceiling the engine had while rendering it.
        assert float(np.max(np.abs(out))) <= engine.ceiling
        second = int(t_now[0])
        peaks[second] = max(peaks.get(second, 0.0), float(np.max(np.abs(out))))
    assert gallery.episodes == 2  # silence stops the drift; it takes up again afterwards
    # 12:00-12:01 the all-day -6 dBFS cap holds a sound that would be some 70 dB louder...
    assert all(ceiling_from_dbfs(-6.0) * 0.5 < peaks[s] <= ceiling_from_dbfs(-6.0) for s in range(3, 60))
    # ... 12:01-12:02 the -30 dBFS night cap (after the fade of 24 dB at 6 dB/s, plus a clock read) ...
    assert all(ceiling_from_dbfs(-30.0) * 0.5 < peaks[s] <= ceiling_from_dbfs(-30.0) for s in range(66, 120))
    # ... 12:02-12:03 silence (after the engine's short gain ramp), then the day's cap again.
    assert all(peaks[s] == 0.0 for s in range(122, 180))
    assert all(ceiling_from_dbfs(-6.0) * 0.5 < peaks[s] <= ceiling_from_dbfs(-6.0) for s in range(187, 200))
    assert engine.limited_samples > 0 and engine.nonfinite_samples == 0


# ----- `latent play --settings FILE` -----------------------------------------------------------

def test_latent_play_with_a_gallery_section_drifts_offline(tmp_path: Path, bank_path: Path,
                                                           gesture: Path) -> None:
    settings = tmp_path / "instrument.toml"
    settings.write_text('[gallery]\nidle_s = 3\nspeed = 0.1\ngain = 0.8\ndrift = "walk"\n'
                        "bookmarks = [[0.0, 0.0], [1.0, 1.0]]\nhold_s = 0.5\n")
    out = tmp_path / "take.wav"
    assert main(["play", "--settings", str(settings), "--bundle", str(bank_path), "--gesture", str(gesture),
                 "--out", str(out), "--seconds", "12", "--sample-rate", "16000"]) == 0
    audio = read_wav(out)
    assert len(audio) == 12 * 16000
    # Drifting from about 5.5 s: sounding, at a level above the sensors' idle level of 0.2.
    drifting, waiting = audio[7 * 16000:12 * 16000], audio[4 * 16000:5 * 16000]
    assert float(np.sqrt(np.mean(drifting ** 2))) > 2.0 * float(np.sqrt(np.mean(waiting ** 2)))


def test_latent_play_keeps_quiet_hours_offline(tmp_path: Path, bank_path: Path) -> None:
    settings = tmp_path / "instrument.toml"
    # Silent all day, whenever this test runs.
    settings.write_text('[gallery]\n[[gallery.quiet]]\nfrom = "00:00"\nto = "12:00"\nsilence = true\n'
                        '[[gallery.quiet]]\nfrom = "12:00"\nto = "00:00"\nsilence = true\n')
    out = tmp_path / "night.wav"
    assert main(["play", "--settings", str(settings), "--bundle", str(bank_path), "--out", str(out),
                 "--seconds", "2", "--sample-rate", "16000"]) == 0
    audio = read_wav(out)
    assert np.all(audio[1600:] == 0.0)  # after the engine's 10 ms gain ramp: nothing


def test_a_bad_gallery_section_stops_latent_play_with_one_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "instrument.toml"
    settings.write_text("[gallery]\nidle_s = -1\n")
    assert main(["play", "--settings", str(settings), "--out", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "instrument.toml:2: gallery.idle_s: is -1, out of range" in err, err


# ----- quiet hours and the model store's trial -----------------------------------------------

def test_a_bundle_flashed_in_quiet_hours_is_judged_when_they_end_not_failed_for_the_silence(
        tmp_path: Path) -> None:
    from ..store.bundles import new_store
    from .test_hot_swap import UNSIGNED, flatness, play_while_flashing, write_bank

    store_dir = tmp_path / "store"
    store = new_store(store_dir)
    store.install_file(write_bank(tmp_path / "sine.bundle", "sine", "sine"), options=UNSIGNED)
    store.report_trial_ok()
    noise = write_bank(tmp_path / "noise.bundle", "noise", "noise")
    # Silent until 12:01; the take starts at 12:00:52.
    gallery = GallerySettings(quiet=(QuietHours(11 * 60, 12 * 60 + 1, silence=True),))
    settings = PlaySettings(store=store_dir, gesture="demo", block_frames=BLOCK, sample_rate=RATE,
                            instrument=InstrumentSettings(gallery=gallery))
    start = NOON + dt.timedelta(seconds=52)
    trial: dict[float, bool] = {}

    def attach(rig: Rig, watcher: Any, clock: StreamClock, messages: list[str]) -> None:
        attach_gallery_mode(rig, settings, watcher=watcher,
                            wall_clock=lambda: start + dt.timedelta(seconds=clock()), report=messages.append)

    def note_trial(t: float, rig: Rig) -> None:
        trial[round(t, 1)] = new_store(store_dir).on_trial

    take = play_while_flashing(settings, {2.0: noise}, 14.0, attach=attach,  # flashed in the silence
                               on_check=note_trial)
    audio, messages, watcher = take.audio, take.messages, take.watcher
    assert watcher.rollbacks == 0 and watcher.swaps == 1, messages
    assert np.all(audio[RATE // 10:8 * RATE] == 0.0)  # silent until 12:01:00 (8 s in)
    assert trial[7.5] is True  # on trial all through the silence, not failed for it
    assert trial[13.9] is False  # heard once the silence ended, and passed
    final = new_store(store_dir).active()
    assert final is not None and final.name == "noise"
    assert flatness(audio[9 * RATE:11 * RATE]) > 0.3
