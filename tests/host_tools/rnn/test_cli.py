"""`latent rnn dataset|train|export|eval` as a person runs them, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.cli import main

from .conftest import PITCHES


def test_the_whole_chain_runs_from_the_command_line(ddsp_run: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data, run, bundle = tmp_path / "data", tmp_path / "run", tmp_path / "rnn.bundle"
    assert main(["rnn", "dataset", "--run", str(ddsp_run), "--pca-axes", "0,1", "--range", "-1,1",
                 "--steps", "2", "--pitches", "60,62", "--out", str(data), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and summary["pitches"] == PITCHES
    assert main(["rnn", "train", "--data", str(data), "--config", "tiny", "--out", str(run), "--steps", "3",
                 "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["step"] == 3 and "held note" in captured.err
    assert main(["rnn", "train", "--data", str(data), "--config", "tiny", "--out", str(run), "--steps", "5",
                 "--resume", "--quiet"]) == 0
    assert "to step 5" in capsys.readouterr().out
    assert main(["rnn", "export", "--run", str(run), "--out", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == [str(bundle)]
    assert main(["bundle", "verify", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["rnn", "eval", "--run", str(run), "--data", str(data), "--pitches", "62", "--bundle",
                 str(bundle), "--play-seconds", "6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pitches"] == [62] and report["log_mel_db"]["heldout"]["notes"] == 1
    host, device = report["continuous_play"], report["continuous_play_device"]
    for path in ("held", "wander"):
        here, there = host[path]["level_dbfs_per_second"], device[path]["level_dbfs_per_second"]
        assert len(here) == len(there) == 6 and device[path]["model_faults"] == 0
        # The device's engine and synthesiser play what the host renders, within a dB each second.
        assert max(abs(a - b) for a, b in zip(here, there, strict=True)) < 1.0


@pytest.mark.parametrize(("argv", "message"), [
    (["rnn", "dataset", "--run", "{run}", "--pca-axes", "0,1,2", "--pitches", "60", "--out", "{tmp}/d"],
     "--axes '0,1,2': component 2 does not exist"),
    (["rnn", "dataset", "--run", "{tmp}", "--pca-axes", "0,1", "--pitches", "60", "--out", "{tmp}/d"],
     "is not a training run"),
    (["rnn", "dataset", "--run", "{run}", "--pca-axes", "0,1", "--pitches", "sixty", "--out", "{tmp}/d"],
     "--pitches"),
    (["rnn", "train", "--data", "{tmp}", "--config", "tiny", "--out", "{tmp}/r"], "is not an RNN dataset"),
    (["rnn", "train", "--data", "{tmp}", "--config", "huge", "--out", "{tmp}/r"], "neither a named config"),
    (["rnn", "train", "--data", "{tmp}", "--config", "tiny", "--out", "{tmp}/r", "--steps", "0"],
     "--steps 0 must be at least 1"),
    (["rnn", "export", "--run", "{tmp}", "--out", "{tmp}/x.bundle"], "is not an RNN run"),
    (["rnn", "eval", "--run", "{tmp}", "--data", "{tmp}"], "is not an RNN run"),
    (["rnn", "eval", "--run", "{tmp}", "--data", "{tmp}", "--play-seconds", "0"], "--play-seconds 0"),
])
def test_bad_input_is_refused_in_one_line(argv: list[str], message: str, ddsp_run: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    filled = [a.format(run=ddsp_run, tmp=tmp_path) for a in argv]
    assert main(filled) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
