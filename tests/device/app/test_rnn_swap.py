"""Hot swap between a segment bank and an rnn through the real store, trial monitor, watcher and
instrument (offline, on the stream clock): bank -> rnn -> a silent rnn rolled back -> bank; a NaN
rnn is refused at install; `latent play --bundle X.bundle --out f.wav` plays an rnn."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from device.app.play import PlaySettings, Rig
from device.cli import main
from device.errors import InstrumentError
from tests.device import rnn_models

from ..store.bundles import new_store
from .test_hot_swap import BLOCK, RATE, UNSIGNED, flatness, play_while_flashing, write_bank


def test_bank_and_rnn_swap_both_ways_and_a_silent_rnn_is_rolled_back(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store = new_store(store_dir)
    store.install_file(write_bank(tmp_path / "sine.bundle", "sine", "sine"), options=UNSIGNED)
    store.report_trial_ok()
    rnn = rnn_models.write(tmp_path / "rnn.bundle", name="rnn")
    silent = rnn_models.write(tmp_path / "silent.bundle", "silent", name="silent-rnn")
    noise = write_bank(tmp_path / "noise.bundle", "noise", "noise")

    settings = PlaySettings(store=store_dir, gesture="demo", block_frames=BLOCK, sample_rate=RATE)
    kinds: dict[float, str] = {}

    def note_engine(t: float, rig: Rig) -> None:
        kinds[t] = type(rig.instrument.engine).__name__

    take = play_while_flashing(settings, {1.0: rnn, 3.5: silent, 8.0: noise}, 10.0, on_check=note_engine)
    audio, messages, watcher = take.audio, take.messages, take.watcher
    assert np.all(np.isfinite(audio)) and len(audio) == 10 * RATE
    assert watcher.swaps == 4, messages  # rnn, silent rnn, rnn again after the rollback, noise bank
    assert watcher.rollbacks == 1
    assert any("failed its trial" in m and "silent" in m for m in messages), "\n".join(messages)
    final = new_store(store_dir).active()
    assert final is not None and final.name == "noise"
    seconds = lambda a, b: audio[int(a * RATE):int(b * RATE)]  # noqa: E731
    assert flatness(seconds(0.5, 0.9)) < 0.05  # the sine bank
    assert np.sqrt(np.mean(seconds(2.0, 3.4) ** 2)) > 1e-3  # the rnn plays
    assert any(kind == "RnnEngine" for t, kind in kinds.items() if 2.0 < t < 3.4)
    assert any(kind == "RnnEngine" for t, kind in kinds.items() if 7.0 < t < 8.0)  # rolled back to it
    assert flatness(seconds(9.0, 10.0)) > 0.3  # and on to the noise bank
    assert all(kind == "GranularEngine" for t, kind in kinds.items() if t > 9.0)


def test_a_nan_rnn_is_refused_at_install(tmp_path: Path) -> None:
    store = new_store(tmp_path / "store")
    with pytest.raises(InstrumentError, match="NaN or infinite"):
        store.install_file(rnn_models.write(tmp_path / "nan.bundle", "nan"), options=UNSIGNED)
    assert store.active() is None


def test_latent_play_renders_an_rnn_bundle_to_a_wav(tmp_path: Path) -> None:
    bundle = rnn_models.write(tmp_path / "rnn.bundle")
    out = tmp_path / "take.wav"
    assert main(["play", "--bundle", str(bundle), "--out", str(out), "--seconds", "1"]) == 0
    with wave.open(str(out)) as take:
        frames = take.readframes(take.getnframes())
        assert take.getframerate() == RATE and take.getnframes() == RATE
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    assert np.max(np.abs(samples)) > 1e-3
