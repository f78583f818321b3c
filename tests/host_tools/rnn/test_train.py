"""`latent rnn train`: a tiny run trains, learns, checkpoints, resumes where it stopped, auditions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
import torch

from device.errors import ConfigError
from host_tools.rnn.config import CONFIG_DIR, load_config
from host_tools.rnn.train import TrainRequest, list_checkpoints, load_run, train

from .conftest import TRAIN_STEPS, train_tiny


def test_a_tiny_run_learns_and_leaves_checkpoints_config_and_auditions(tiny_run: Path) -> None:
    lines = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [TRAIN_STEPS]
    saved = json.loads((tiny_run / "config.json").read_text())
    assert saved["config_name"] == "tiny" and saved["config"]["model"]["hidden"] == 32
    model, _, checkpoint = load_run(tiny_run)
    assert checkpoint["step"] == TRAIN_STEPS and not model.training
    for name in ("sweep_slow", "sweep_fast", "held_10s"):
        audio, rate = soundfile.read(tiny_run / "samples" / f"{name}.wav")
        assert rate == 16000 and audio.std() > 1e-4
    held, _ = soundfile.read(tiny_run / "samples" / "held_10s.wav")
    assert len(held) == 10 * 16000


def test_training_lowers_the_loss(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train_tiny(dataset, out, 1)
    before = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["heldout_total"]
    train_tiny(dataset, out, 80, resume=True)
    after = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["heldout_total"]
    assert after < 0.8 * before


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(dataset: Path, tmp_path: Path,
                                                                      tiny_run: Path) -> None:
    out = tmp_path / "run"
    train_tiny(dataset, out, TRAIN_STEPS // 2)
    assert [int(p.stem[5:]) for p in list_checkpoints(out)] == [TRAIN_STEPS // 2]
    summary = train_tiny(dataset, out, TRAIN_STEPS, resume=True)
    assert summary["step"] == TRAIN_STEPS
    resumed, _, _ = load_run(out)
    whole, _, _ = load_run(tiny_run)
    for (name, a), b in zip(resumed.state_dict().items(), whole.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_an_existing_run_needs_resume_and_resume_needs_the_same_config(dataset: Path, tiny_run: Path) -> None:
    with pytest.raises(ConfigError, match="pass --resume"):
        train_tiny(dataset, tiny_run, TRAIN_STEPS + 1)
    request = TrainRequest(data=dataset, config=load_config("small"), config_name="small", out=tiny_run,
                           steps=TRAIN_STEPS + 1, resume=True, progress=False)
    with pytest.raises(ConfigError, match="--config differs"):
        train(request)


def test_bad_configs_are_refused_by_key(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    tiny = (CONFIG_DIR / "tiny.toml").read_text()
    path.write_text(tiny.replace("layers = 1", "layers = 1\nlayer = 2"))
    with pytest.raises(ConfigError, match=r"model\.layer: unknown key"):
        load_config(path)
    path.write_text(tiny.replace("hidden = 32", "hidden = 0"))
    with pytest.raises(ConfigError, match=r"model\.hidden: is 0, out of range"):
        load_config(path)
    with pytest.raises(ConfigError, match="neither a named config"):
        load_config("huge")
