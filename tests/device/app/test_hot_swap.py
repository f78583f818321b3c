"""Hot swap: the playing instrument crossfades to a newly flashed bundle, and back when it fails.

The store, the trial monitor, the watcher and the instrument are the real ones; the run is
offline on the stream clock, with the watcher's loop driven between blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device.app.engines import load_engine, preroll
from device.app.instrument import Instrument
from device.app.play import PlaySettings, Rig, StreamClock, open_live_rig
from device.audio.offline import run_offline
from device.bundle.grid import Axis
from device.bundle.writer import write_segment_bank
from device.store.store import InstallOptions

from ..store.bundles import TEST_POLICY, new_store

RATE = 48000
BLOCK = 64
UNSIGNED = InstallOptions(allow_unsigned=True)


def write_bank(path: Path, kind: str, name: str) -> Path:
    """A 2x2 bank of one timbre everywhere: 'sine' (peaky spectrum), 'noise' (flat), 'silent'."""
    frames, bank_rate = 8000, 16000
    t = np.arange(frames) / bank_rate
    rng = np.random.default_rng(1)
    pitches = [48, 60]
    segments = np.zeros((2, 2, len(pitches), frames), dtype=np.float32)
    for p, midi in enumerate(pitches):
        if kind == "sine":
            segments[:, :, p] = 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((midi - 69) / 12) * t)
        elif kind == "noise":
            segments[:, :, p] = rng.uniform(-0.5, 0.5, (2, 2, frames))
    return write_segment_bank(path, name=name, sample_rate=bank_rate,
                              axes=[Axis("x", 0, 1, 2), Axis("y", 0, 1, 2)], pitches=pitches,
                              segments=segments)


def flatness(x: np.ndarray) -> float:
    """Spectral flatness over 100 Hz..6 kHz (the banks hold audio only up to 8 kHz)."""
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    band = (freqs > 100) & (freqs < 6000)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))[band] ** 2 + 1e-20
    return float(np.exp(np.mean(np.log(spectrum))) / np.mean(spectrum))


def max_step(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x))))


def render(instrument: Instrument, seconds: float) -> np.ndarray:
    out = np.zeros(BLOCK, dtype=np.float32)
    blocks = []
    for _ in range(round(seconds * RATE / BLOCK)):
        instrument.render_into(out)
        blocks.append(out.copy())
    return np.concatenate(blocks)


def test_crossfade_is_continuous_and_drops_nothing(tmp_path: Path) -> None:
    sine = load_engine(write_bank(tmp_path / "a.bundle", "sine", "a"), sample_rate=RATE)
    noise = load_engine(write_bank(tmp_path / "b.bundle", "noise", "b"), sample_rate=RATE)
    for engine in (sine, noise):
        engine.set_pitch(57.0)
    instrument = Instrument(sensors=None, mapper=None, engine=sine)  # type: ignore[arg-type]
    before = render(instrument, 0.5)
    preroll(noise, None)
    instrument.swap_engine(noise, fade_s=0.1)
    after = render(instrument, 0.5)

    assert instrument.swaps == 1 and instrument.retired_engine is sine and instrument.engine is noise
    assert len(after) == round(0.5 * RATE / BLOCK) * BLOCK
    assert flatness(before[-8192:]) < 0.05 < 0.3 < flatness(after[-8192:])
    # Across the fade no sample-to-sample step exceeds what the two sounds have on their own.
    steady = max(max_step(before), max_step(after[RATE // 5:]))
    assert max_step(np.concatenate((before[-1000:], after[:RATE // 5]))) <= 1.05 * steady
    assert np.all(np.isfinite(after))


@dataclass
class FlashedTake:
    """What a take with flashes left: the audio, the app's messages and the store watcher."""

    audio: np.ndarray
    messages: list[str]
    watcher: Any


def play_while_flashing(settings: PlaySettings, flashes: dict[float, Path], seconds: float, *,
                        attach: Callable[[Rig, Any, StreamClock, list[str]], None] | None = None,
                        on_check: Callable[[float, Rig], None] | None = None) -> FlashedTake:
    """Play `seconds` offline on the stream clock through the real store (`settings.store`), watcher
    and instrument, while another process installs each bundle of `flashes` (seconds -> bundle) into
    the store once its time has come. The watcher checks every 16 blocks, then `on_check(t, rig)`;
    `attach(rig, watcher, clock, messages)` adds to the rig before the take."""
    assert settings.store is not None
    clock = StreamClock(RATE)
    messages: list[str] = []
    rig, watcher = open_live_rig(settings, messages.append, clock=clock)
    watcher.store.policy = TEST_POLICY  # the test store keeps no free-space reserve
    if attach is not None:
        attach(rig, watcher, clock, messages)
    pending = dict(flashes)
    blocks: list[np.ndarray] = []

    class Recorder:
        def write(self, block: np.ndarray) -> None:
            blocks.append(block.copy())

    def before_block(t: float) -> None:
        clock.frames = round(t * RATE)
        for at, bundle in list(pending.items()):
            if t >= at:  # another process (latent install / serve) flashes the store meanwhile
                new_store(settings.store).install_file(bundle, options=UNSIGNED)
                del pending[at]
        rig.instrument.poll()
        if clock.frames % (BLOCK * 16) == 0:
            watcher.check()
            if on_check is not None:
                on_check(t, rig)

    try:
        watcher.tap.read()
        run_offline(rig.instrument, Recorder(), seconds, sample_rate=RATE, block_frames=BLOCK,
                    before_block=before_block)
    finally:
        rig.close()
    return FlashedTake(np.concatenate(blocks), messages, watcher)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def test_flashed_bundle_is_swapped_in_and_a_failing_one_rolled_back(tmp_path: Path, store_dir: Path) -> None:
    store = new_store(store_dir)
    store.install_file(write_bank(tmp_path / "sine.bundle", "sine", "sine"), options=UNSIGNED)
    store.report_trial_ok()
    noise = write_bank(tmp_path / "noise.bundle", "noise", "noise")
    silent = write_bank(tmp_path / "silent.bundle", "silent", "silent")

    settings = PlaySettings(store=store_dir, gesture="demo", block_frames=BLOCK, sample_rate=RATE)
    take = play_while_flashing(settings, {1.5: noise, 5.0: silent}, 10.0)
    audio, messages, watcher = take.audio, take.messages, take.watcher
    assert np.all(np.isfinite(audio))
    assert len(audio) == 10 * RATE
    assert watcher.swaps == 3, messages  # noise, silent, then noise again after the rollback
    assert watcher.rollbacks == 1
    assert any("failed its trial" in m and "silent" in m for m in messages), messages
    final = new_store(store_dir).active()
    assert final is not None and final.name == "noise"
    seconds = lambda a, b: audio[int(a * RATE):int(b * RATE)]  # noqa: E731
    assert flatness(seconds(1.0, 1.4)) < 0.05  # the sine bundle from the store
    assert flatness(seconds(3.0, 4.5)) > 0.3  # the flashed noise bundle
    assert np.sqrt(np.mean(seconds(6.0, 7.5) ** 2)) < 1e-4  # the silent one, on trial
    assert flatness(seconds(9.0, 10.0)) > 0.3  # rolled back to noise
