"""`latent space grid` and `explore` write the WAVs, contact sheet and index they promise."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.cli import main
from host_tools.gan import run_dir
from host_tools.gan.levelling import CEILING
from host_tools.gan.run_dir import RunLayout

PNG = b"\x89PNG\r\n\x1a\n"


def test_grid_renders_every_cell_and_a_contact_sheet(pca_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid"
    assert main(["space", "grid", "--run", str(pca_run), "--axes", "0,2", "--range", "-2,2",
                 "--steps", "3", "--pitch", "61", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    wavs = sorted(out.glob("*.wav"))
    assert len(wavs) == 9 and report["wavs"] == 9
    audio, rate = soundfile.read(wavs[0])
    assert rate == 16000 and len(audio) == 4000 and abs(audio).max() > 0
    assert (out / "contact_sheet.png").read_bytes()[:8] == PNG
    index = json.loads((out / "index.json").read_text())
    assert index["cells"][0]["coeffs"] == {"pc0": -2.0, "pc2": -2.0}
    assert report["smoothness"]["neighbour_db"] > 0


def test_grid_refuses_a_component_beyond_the_stored_ones(pca_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["space", "grid", "--run", str(pca_run), "--axes", "0,4", "--out", str(tmp_path / "g")]) == 1
    assert "component 4 does not exist; the run's PCA stores components 0..3" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_explore_renders_n_points_with_an_index(pca_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "explore"
    assert main(["space", "explore", "--run", str(pca_run), "-n", "3", "--seed", "5", "--out", str(out)]) == 0
    with open(out / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["file"] for r in rows] == ["point_000.wav", "point_001.wav", "point_002.wav"]
    assert all((out / r["file"]).is_file() for r in rows)
    assert len(rows[0]["coeffs"].split(",")) == 4
    points = json.loads((out / "index.json").read_text())
    assert len(points) == 3 and len(points[0]["z"]) == 8


def test_grid_and_explore_wavs_are_levelled_and_never_clip(
    pca_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from host_tools.bank.loudness import to_db
    from host_tools.gan.levelling import active_rms

    real = run_dir.generate_audio
    monkeypatch.setattr(run_dir, "generate_audio", lambda *a: 25.0 * real(*a))  # a model 25x too loud
    # The fixture run has no data.json (as a run trained before the level was recorded): peak only.
    assert main(["space", "grid", "--run", str(pca_run), "--axes", "0", "--steps", "3",
                 "--out", str(tmp_path / "g")]) == 0
    for wav in sorted((tmp_path / "g").glob("*.wav")):
        audio = soundfile.read(wav)[0]
        assert np.max(np.abs(audio)) == pytest.approx(CEILING, abs=1 / 32768)
    run = shutil.copytree(pca_run, tmp_path / "run")  # a copy with a level record
    record = {"data_dir": "/x", "notes": 6, "level": {"rms_dbfs": -40.0}}
    RunLayout(run).data_record.write_text(json.dumps(record))
    assert main(["space", "explore", "--run", str(run), "-n", "2", "--out", str(tmp_path / "e")]) == 0
    for wav in sorted((tmp_path / "e").glob("*.wav")):
        audio = soundfile.read(wav)[0]
        assert np.max(np.abs(audio)) < CEILING
        assert float(to_db(active_rms(audio)[0])) == pytest.approx(-40.0, abs=0.1)
    capsys.readouterr()
