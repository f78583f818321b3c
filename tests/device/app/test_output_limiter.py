"""`latent play --ceiling` reaches the engine's limiter, and NaN the limiter silences still fails
a bundle's trial (through the audio tap), while what is played stays finite."""

from __future__ import annotations

import dataclasses
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device.app.audio_tap import AudioTap
from device.app.instrument import Instrument
from device.bundle.reader import SegmentBank
from device.cli import main
from device.engine.granular import GranularEngine
from device.engine.limiter import DEFAULT_CEILING_DBFS, ceiling_from_dbfs
from device.store.policy import TrialPolicy
from device.store.trial import FAILED, PASSED, PENDING, AudioProbe

from ..engine.banks import midi_hz, sine_bank

RATE = 48000
BLOCK = 64


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32767.0


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The PlaySettings `latent play` would run with (nothing is played)."""
    import device.app.play

    seen: list[Any] = []
    monkeypatch.setattr(device.app.play, "play", lambda settings, report: seen.append(settings) or {})
    return seen


def test_ceiling_is_parsed_into_the_settings(captured: list[Any]) -> None:
    assert main(["play", "--out", "x.wav", "--ceiling", "-6"]) == 0
    assert main(["play", "--out", "x.wav", "--ceiling", "0"]) == 0
    assert main(["play", "--out", "x.wav"]) == 0
    assert [s.ceiling_dbfs for s in captured] == [-6.0, 0.0, DEFAULT_CEILING_DBFS]
    assert captured[0].ceiling == pytest.approx(ceiling_from_dbfs(-6.0)) == pytest.approx(0.501187, rel=1e-5)
    assert captured[1].ceiling == 1.0


@pytest.mark.parametrize("value, message", [
    ("0.5", "--ceiling must be at most 0 dBFS (full scale), got 0.5"),
    ("inf", "--ceiling must be at most 0 dBFS (full scale), got inf"),
    ("nan", "--ceiling must be at most 0 dBFS (full scale), got nan"),
    ("-80", "--ceiling -80 dBFS would all but silence the instrument; use -60..0 dBFS"),
])
def test_a_ceiling_above_full_scale_is_refused(captured: list[Any], capsys: pytest.CaptureFixture[str],
                                               value: str, message: str) -> None:
    assert main(["play", "--out", "x.wav", "--ceiling", value]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"latent play: error: {message}") and err.count("\n") == 1, err
    assert captured == []


def test_the_ceiling_reaches_the_rendered_file(tmp_path: Path) -> None:
    """The shipped sound peaks near -9 dBFS: a -30 dBFS ceiling must hold it down, end to end."""
    out = tmp_path / "quiet.wav"
    assert main(["play", "--seconds", "1.5", "--out", str(out), "--ceiling", "-30"]) == 0
    audio = read_wav(out)
    assert len(audio) == int(1.5 * RATE)
    ceiling = ceiling_from_dbfs(-30.0)
    assert float(np.max(np.abs(audio))) <= ceiling + 1 / 32767  # one step of int16 rounding
    assert float(np.max(np.abs(audio))) > 0.9 * ceiling  # limited, not silenced


def test_a_take_reports_the_limiter_work(tmp_path: Path) -> None:
    """At the default ceiling the shipped sound is never touched; at -30 dBFS it is, and says so."""
    from device.app.play import PlaySettings, play

    results = [play(PlaySettings(out=tmp_path / f"{dbfs}.wav", seconds=1.0, ceiling_dbfs=dbfs),
                    report=lambda _message: None) for dbfs in (DEFAULT_CEILING_DBFS, -30.0)]
    assert [r["limited_samples"] > 0 for r in results] == [False, True]
    assert [r["nonfinite_samples"] for r in results] == [0, 0]


# ----- NaN and the trial ---------------------------------------------------------------------

@pytest.fixture
def bank(tmp_path: Path) -> SegmentBank:
    return sine_bank(tmp_path / "b.bundle", steps=(2,), pitches=[57], seconds=0.5,
                     frequency=lambda g, _p: midi_hz(57) * (1 + 0.1 * g[0]))


def tapped(engine: GranularEngine) -> tuple[Instrument, AudioTap]:
    tap = AudioTap(RATE)
    instrument = Instrument(sensors=None, mapper=None, engine=engine, tap=tap)  # type: ignore[arg-type]
    return instrument, tap


def probe_verdict(instrument: Instrument, tap: AudioTap, seconds: float) -> tuple[str, str, np.ndarray]:
    """Play `seconds` through the instrument, judging the tap as the model watcher does."""
    probe = AudioProbe(RATE, TrialPolicy(probe_seconds=0.2))
    played = []
    out = np.zeros(BLOCK, dtype=np.float32)
    verdict = PENDING
    for _ in range(round(seconds * RATE / BLOCK)):
        instrument.render_into(out)
        played.append(out.copy())
        heard = tap.read()
        if verdict == PENDING:
            verdict = probe.observe(heard)
    return verdict, probe.reason, np.concatenate(played)


def test_nan_the_limiter_silences_still_fails_the_trial(bank: SegmentBank) -> None:
    broken = dataclasses.replace(bank, scales=np.full(bank.scales.shape, np.inf, dtype=np.float32))
    engine = GranularEngine(broken, sample_rate=RATE)
    verdict, reason, played = probe_verdict(*tapped(engine), 0.1)
    assert verdict == FAILED and "NaN or infinite samples" in reason
    assert np.all(played == 0.0)  # what reached the sound card: silence, never NaN
    assert engine.nonfinite_samples > 0


def test_a_healthy_engine_passes_and_its_tap_is_its_sound(bank: SegmentBank) -> None:
    engine = GranularEngine(bank, sample_rate=RATE)
    instrument, tap = tapped(engine)
    verdict, _, played = probe_verdict(instrument, tap, 0.3)
    assert float(np.max(np.abs(played))) > 0.1
    assert verdict == PASSED and engine.nonfinite_samples == 0
    out = np.zeros(BLOCK, dtype=np.float32)
    instrument.render_into(out)
    assert np.array_equal(tap.read(), out) and np.any(out != 0.0)


def test_the_tap_marks_only_the_blocks_that_held_nan() -> None:
    tap = AudioTap(100)
    tap.write(np.ones(30, dtype=np.float32))
    tap.write(np.zeros(30, dtype=np.float32), nonfinite=True)
    tap.write(np.ones(50, dtype=np.float32))  # wraps around the ring
    tap.write(np.zeros(20, dtype=np.float32), nonfinite=True)
    got = tap.read()
    assert len(got) == 100 and tap.skipped == 30
    assert np.flatnonzero(np.isnan(got)).tolist() == [29, 99]  # the last sample of each marked block
