"""`latent play` end to end: the console script renders the demo gesture to a WAV file."""

from __future__ import annotations

import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from device.app.play import PlaySettings, play
from device.cli import main


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return frames.reshape(-1, w.getnchannels())[:, 0] / 32768.0, w.getframerate()


def windows_rms(x: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    n = int(rate * seconds)
    return np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1))


def test_demo_gesture_renders_five_seconds_of_unclipped_sound(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    done = subprocess.run(
        [sys.executable, "-m", "device.cli", "play", "--sensors", "sim", "--gesture", "demo",
         "--seconds", "5", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stderr
    audio, rate = read_wav(out)
    assert rate == 48000
    assert len(audio) == 5 * 48000
    assert np.all(np.isfinite(audio))
    peak = np.max(np.abs(audio))
    assert 0.05 < peak < 0.99, f"peak {peak}: silent or clipped"
    # Sounding throughout (the idle level keeps an installation alive), after the first
    # second in which the calibration learns the resting sensors.
    rms = windows_rms(audio[48000:], rate, 0.25)
    assert np.all(rms > 0.003), rms


def test_the_demo_plays_notes_louder_than_idle(tmp_path: Path) -> None:
    out = tmp_path / "demo.wav"
    assert main(["play", "--seconds", "12", "--out", str(out)]) == 0
    audio, rate = read_wav(out)
    rms = windows_rms(audio[rate:], rate, 0.25)
    # The demo alternates between touched keys (note gain) and idle stretches.
    assert rms.max() > 2.5 * rms.min()


def test_same_seed_same_render(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert main(["play", "--seconds", "2", "--out", str(a), "--seed", "3"]) == 0
    assert main(["play", "--seconds", "2", "--out", str(b), "--seed", "3"]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_no_sound_card_falls_back_to_a_wav_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from device.audio.devices import has_output_device

    if has_output_device():
        pytest.skip("this machine has an output device; the fallback is for machines without one")
    monkeypatch.chdir(tmp_path)
    result = play(PlaySettings(seconds=1.0))
    assert Path(result["out"]) == tmp_path / "latent-play.wav"
    assert "no sound card found" in capsys.readouterr().out
    audio, _ = read_wav(tmp_path / "latent-play.wav")
    assert len(audio) == 48000


@pytest.mark.parametrize("argv, message", [
    (["--bundle", "/nonexistent.bundle"], "no such bundle file"),
    (["--gesture", "/nonexistent.toml"], "nonexistent.toml"),
    (["--seconds", "0"], "--seconds must be a positive number"),
    (["--map", "/nonexistent-map.toml"], "nonexistent-map.toml"),
    (["--sensors", "i2c", "--gesture", "x.toml"], "--gesture only applies to --sensors sim"),
])
def test_bad_play_arguments_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      argv: list[str], message: str) -> None:
    assert main(["play", "--out", str(tmp_path / "x.wav"), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()


def test_a_corrupt_bundle_is_refused_before_any_audio(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from device.app.play import SHIPPED_BUNDLE

    data = bytearray(SHIPPED_BUNDLE.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(bytes(data))
    assert main(["play", "--bundle", str(bad), "--out", str(tmp_path / "x.wav")]) == 1
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_realtime_is_passed_on_to_the_live_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from device.app import play as play_module
    from device.audio import realtime

    seen: list[PlaySettings] = []
    monkeypatch.setattr(play_module, "play", lambda settings, report: seen.append(settings) or {})
    assert main(["play", "--realtime", "--seconds", "1"]) == 0
    assert main(["play", "--seconds", "1"]) == 0
    assert [s.realtime for s in seen] == [True, False]
    assert play_module.realtime_priorities(seen[0]) == {"audio": realtime.AUDIO_PRIORITY,
                                                        "model": realtime.MODEL_PRIORITY,
                                                        "control": realtime.CONTROL_PRIORITY,
                                                        "watcher": realtime.WATCHER_PRIORITY}
    assert set(play_module.realtime_priorities(seen[1]).values()) == {None}


def test_the_rnn_model_threads_refusal_is_reported_with_the_others() -> None:
    from types import SimpleNamespace

    from device.app.play import realtime_problem, report_realtime

    fine = SimpleNamespace(realtime_problem=None, started=threading.Event(),
                           audio_thread_scheduling="SCHED_FIFO 20")
    fine.started.set()
    refused = SimpleNamespace(realtime_problem="real-time priority 10 refused (test)",
                              model_thread_scheduling="SCHED_OTHER 0")
    bank = SimpleNamespace()  # a granular engine: no thread of its own
    assert realtime_problem(fine, fine, None, refused) == "real-time priority 10 refused (test)"
    assert realtime_problem(fine, fine, None, bank) is None
    lines: list[str] = []
    report_realtime(fine, fine, None, lines.append, model=refused)
    assert lines == ["real-time priority 10 refused (test)"]
    lines.clear()
    report_realtime(fine, fine, None, lines.append,
                    model=SimpleNamespace(realtime_problem=None, model_thread_scheduling="SCHED_RR 10"))
    assert lines == ["real-time scheduling on (render thread SCHED_FIFO 20, model thread SCHED_RR 10)"]


def test_a_store_plays_its_active_bundle_into_a_file(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from device.app.play import SHIPPED_BUNDLE
    from device.bench.swap_bench import DEFAULT_BUNDLES
    from device.store.store import InstallOptions, ModelStore

    store = ModelStore(tmp_path / "store")
    other = next(bundle for bundle in DEFAULT_BUNDLES if bundle != SHIPPED_BUNDLE)
    store.install_file(other, options=InstallOptions(allow_unsigned=True))
    active = store.active_path()
    assert active is not None
    result = play(PlaySettings(store=tmp_path / "store", out=tmp_path / "take.wav", seconds=1.0))
    assert result["bundle"] == str(active)
    assert f"rendering the active bundle of the model store {tmp_path / 'store'}" in capsys.readouterr().out
    # The same through the command line, and with no sound card (the fallback file) alike.
    assert main(["play", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "cli.wav"),
                 "--seconds", "1"]) == 0
    shipped = play(PlaySettings(out=tmp_path / "shipped.wav", seconds=1.0))
    assert read_wav(tmp_path / "cli.wav")[0].tolist() == read_wav(tmp_path / "take.wav")[0].tolist()
    assert read_wav(tmp_path / "take.wav")[0].tolist() != read_wav(tmp_path / "shipped.wav")[0].tolist()
    assert shipped["bundle"] == str(SHIPPED_BUNDLE)


def test_an_empty_store_says_so_and_renders_the_fallback(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from device.app.play import SHIPPED_BUNDLE

    result = play(PlaySettings(store=tmp_path / "empty", out=tmp_path / "take.wav", seconds=0.5))
    assert result["bundle"] == str(SHIPPED_BUNDLE)
    assert "has no active bundle; rendering" in capsys.readouterr().out


def test_the_real_instrument_without_a_sound_card_exits_for_the_service(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from device.app import play_cli
    from device.audio import devices

    monkeypatch.setattr(devices, "has_output_device", lambda pa=None: False)
    monkeypatch.chdir(tmp_path)
    exits: list[int] = []
    monkeypatch.setattr(play_cli.os, "_exit", lambda code: exits.append(code))
    main(["play", "--sensors", "i2c", "--seconds", "1"])
    assert exits == [play_cli.EXIT_DEVICE_LOST]
    err = capsys.readouterr().err
    assert "no sound card found; connect or enable the audio HAT" in err
    assert not (tmp_path / "latent-play.wav").exists()


@pytest.mark.timeout(120)
def test_an_out_path_that_is_no_file_is_one_clean_error(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "fifo")
    for out in (tmp_path, tmp_path / "fifo"):
        done = subprocess.run([sys.executable, "-m", "device.cli", "play", "--seconds", "0.1",
                               "--out", str(out)], capture_output=True, text=True, timeout=100, check=False)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"latent play: error: cannot write WAV file {out}: it is a ")
