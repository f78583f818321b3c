"""`latent gan train`, `latent gan generate`, `latent gan eval` as a person runs them, bad input included
(the old spellings `latent train gan`, `latent generate`, `latent eval`: tests/device/test_cli.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.cli import main
from host_tools.gan.checkpoint import list_checkpoints
from host_tools.gan.run_dir import RunLayout

from .micro import micro_overrides, write_micro_dataset


def _train(data: Path, out: Path, *extra: str, **changes: object) -> int:
    return main(["gan", "train", "--data", str(data), "--config", "tiny", "--out", str(out), "--quiet",
                 *micro_overrides(**changes), *extra])


@pytest.fixture(scope="module")
def trained(micro_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "run"
    assert _train(micro_data, run) == 0
    return run


def test_generate_writes_one_note_at_the_run_rate(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "note.wav"
    assert main(["gan", "generate", "--run", str(trained), "--pitch", "61", "--seed", "3",
                 "--out", str(out)]) == 0
    audio, rate = soundfile.read(out)
    assert rate == 16000 and audio.shape == (4000,)
    np.save(tmp_path / "z.npy", np.ones(8, dtype=np.float32))
    assert main(["gan", "generate", "--run", str(trained), "--pitch", "61", "--z", str(tmp_path / "z.npy"),
                 "--out", str(tmp_path / "z.wav")]) == 0
    assert soundfile.info(str(tmp_path / "z.wav")).frames == 4000


def test_generate_levels_the_note_like_the_training_notes_and_never_clips(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from host_tools.bank.loudness import to_db
    from host_tools.gan import run_dir
    from host_tools.gan.levelling import CEILING, active_rms

    level = json.loads(RunLayout(trained).data_record.read_text())["level"]
    # The micro notes: harmonic tones peaking at 0.4 (write_micro_dataset), all six read (preload).
    assert level["notes"] == 6 and level["peak"] == pytest.approx(0.4, abs=0.01)
    assert -20.0 < level["rms_dbfs"] < -8.0
    real = run_dir.generate_audio
    for gain in (1.0, 25.0):  # as the model made it, and a model whose output is 25x too loud
        monkeypatch.setattr(run_dir, "generate_audio", lambda *a, gain=gain: gain * real(*a))
        out = tmp_path / f"x{gain:g}.wav"
        assert main(["gan", "generate", "--run", str(trained), "--pitch", "61", "--out", str(out)]) == 0
        audio = soundfile.read(out)[0]
        peak = float(np.max(np.abs(audio)))
        assert peak <= CEILING + 1 / 32768 and not np.any(np.abs(audio) >= 32767 / 32768)
        rms_db = float(to_db(active_rms(audio)[0]))
        # At the data's level, unless that would have put the peak past -1 dBFS (then exactly there).
        assert rms_db == pytest.approx(level["rms_dbfs"], abs=0.05) or (
            peak == pytest.approx(CEILING, abs=1 / 32768) and rms_db < level["rms_dbfs"])


def test_generate_refuses_an_untrained_pitch_and_a_wrong_z(trained: Path, tmp_path: Path, capsys) -> None:
    assert main(["gan", "generate", "--run", str(trained), "--pitch", "70",
                 "--out", str(tmp_path / "x.wav")]) == 1
    assert "pitch 70 was not trained" in capsys.readouterr().err
    np.save(tmp_path / "z.npy", np.ones(5))
    assert main(["gan", "generate", "--run", str(trained), "--pitch", "60", "--z", str(tmp_path / "z.npy"),
                 "--out", str(tmp_path / "x.wav")]) == 1
    assert "needs 8 finite floats" in capsys.readouterr().err


def test_eval_prints_the_quality_figures_as_json(trained: Path, capsys) -> None:
    assert main(["gan", "eval", "--run", str(trained), "--per-pitch", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"pitch_accuracy", "pitch_accuracy_real", "frechet_log_mel", "frechet_log_mel_real_halves",
            "unvoiced_generated", "step"} <= report.keys()
    assert report["step"] == 4 and report["generated_notes"] == 6 and report["real_notes"] == 6
    assert report["pitch_accuracy_real"] == 1.0  # clean harmonic tones: YIN finds every one
    assert 0.0 <= report["pitch_accuracy"] <= 1.0 and report["frechet_log_mel"] > 0


def test_an_empty_data_dir_fails_before_a_run_dir_is_made(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert _train(tmp_path / "empty", tmp_path / "run") == 1
    assert "examples.json is missing" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_mismatched_data_is_named(micro_data: Path, tmp_path: Path, capsys) -> None:
    assert _train(micro_data, tmp_path / "a", **{"data.pitches": [60, 64]}) == 1
    assert "no selected note at pitch 63, 64" in capsys.readouterr().err
    assert _train(micro_data, tmp_path / "b", **{"audio.sample_rate": 22050}) == 1
    assert "holds 16000 Hz notes" in capsys.readouterr().err
    assert _train(micro_data, tmp_path / "c", **{"audio.seconds": 1.0}) == 1
    assert "shorter than the config's" in capsys.readouterr().err
    assert _train(micro_data, tmp_path / "d", **{"train.batch_size": 8}) == 1
    assert "fewer than one batch" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_unknown_config_keys_fail_before_training(micro_data: Path, tmp_path: Path, capsys) -> None:
    assert _train(micro_data, tmp_path / "run", **{"train.warmup": 3}) == 1
    assert "names no config key" in capsys.readouterr().err


def test_a_checkpoint_of_another_architecture_is_refused(trained: Path, micro_data: Path, capsys) -> None:
    before = list_checkpoints(RunLayout(trained).checkpoints)
    assert _train(micro_data, trained, "--resume", **{"model.channels": [8, 8, 8]}) == 1
    err = capsys.readouterr().err
    assert "was trained as spectral" in err and "channels [8, 8, 4]" in err
    assert _train(micro_data, trained) == 1  # no --resume: never trains over a run
    assert "already holds a training run" in capsys.readouterr().err
    assert list_checkpoints(RunLayout(trained).checkpoints) == before


def test_a_checkpoint_whose_config_was_swapped_is_refused(trained: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    (copy / "checkpoints").mkdir(parents=True)
    for path in RunLayout(trained).checkpoints.iterdir():
        (copy / "checkpoints" / path.name).write_bytes(path.read_bytes())
    config = json.loads(RunLayout(trained).config.read_text())
    config["model"]["latent_dim"] = 16
    (copy / "config.json").write_text(json.dumps(config))
    assert main(["gan", "generate", "--run", str(copy), "--pitch", "60",
                 "--out", str(tmp_path / "x.wav")]) == 1
    assert "trained with another architecture" in capsys.readouterr().err


def test_ctrl_c_finishes_the_step_saves_and_resume_continues(tmp_path: Path) -> None:
    data = write_micro_dataset(tmp_path / "data")
    run = tmp_path / "run"
    args = [sys.executable, "-m", "host_tools.gan.train_cli", "--data", str(data), "--config", "tiny",
            "--out", str(run), "--quiet", *micro_overrides(**{"train.steps": 100000,
                                                               "train.checkpoint_every": 100000})]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[3], env={**os.environ, "PYTHONPATH": "."})
    metrics = RunLayout(run).metrics
    deadline = time.monotonic() + 60
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["interrupted"] and "--resume" in err
    saved = list_checkpoints(RunLayout(run).checkpoints)
    assert [p.name for p in saved] == [f"step_{summary['step']:08d}.json"]
    assert main(["gan", "train", "--data", str(data), "--out", str(run), "--resume", "--quiet",
                 "--steps", str(summary["step"] + 1)]) == 0
    assert list_checkpoints(RunLayout(run).checkpoints)[-1].name == f"step_{summary['step'] + 1:08d}.json"
