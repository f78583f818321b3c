"""`latent data render|stats|programs` through the real `latent` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.cli import main
from host_tools.data.nsynth_dataset import NSynthDataset
from host_tools.data.stats import pitch_family_counts, text_report

from .nsynth_layout import write_nsynth_dir


def test_render_writes_a_set_that_the_loader_reads(
    soundfont: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "set"
    assert (
        main(
            [
                "data",
                "render",
                "--soundfont",
                str(soundfont),
                "--programs",
                "24,73",
                "--pitches",
                "C4,G4",
                "--velocities",
                "90",
                "--seconds",
                "1",
                "--sample-rate",
                "22050",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "4 notes rendered" in capsys.readouterr().out
    dataset = NSynthDataset(out, sample_rate=22050, seconds=1.0)
    assert len(dataset) == 4 and dataset[0][0].shape == (22050,)
    assert json.loads((out / "render.json").read_text())["recipe"]["note_seconds"] == 0.75


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--out", "x"], "say what to render: --programs"),
        (["--recipe", "default", "--programs", "0", "--out", "x"], "exclude each other"),
        (["--programs", "0", "--pitches", "60-", "--out", "x"], "--pitches: "),
        (
            ["--programs", "0", "--soundfont", "/nowhere/font.sf2", "--out", "x"],
            "/nowhere/font.sf2 does not exist",
        ),
    ],
)
def test_render_errors_are_one_clear_line(args: list[str], problem: str, capsys: pytest.CaptureFixture[str]):
    assert main(["data", "render", *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("latent data: error: ") and problem in error and "Traceback" not in error


def test_stats_prints_counts_and_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    write_nsynth_dir(tmp_path / "set")
    png = tmp_path / "look" / "overview.png"
    assert main(["data", "stats", str(tmp_path / "set"), "--png", str(png), "--spectrograms", "2"]) == 0
    out = capsys.readouterr().out
    assert "6 notes at 16000 Hz, 64000 frames (4.00 s), 5 instruments" in out
    assert "keyboard          2            1  60,64       75,127" in out
    assert "source: acoustic 2, electronic 2, synthetic 2" in out
    from matplotlib.image import imread

    image = imread(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[0] > 500 and image.shape[1] > 1000
    assert image[..., :3].std() > 0.1  # drawn, not blank


def test_stats_tables_count_every_note_once(tmp_path: Path):
    write_nsynth_dir(tmp_path / "set")
    dataset = NSynthDataset(tmp_path / "set")
    families, pitches, counts = pitch_family_counts(dataset.examples)
    assert families == ["bass", "flute", "guitar", "keyboard", "mallet"]
    assert (pitches[0], pitches[-1], int(counts.sum())) == (40, 79, 6)
    assert counts[families.index("keyboard"), 60 - 40] == 1
    assert "\n60 C4         0     0      0        1      0      1\n" in text_report(dataset)


def test_stats_on_a_broken_set_names_the_fault(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    examples = write_nsynth_dir(tmp_path / "set")
    (tmp_path / "set" / "audio" / f"{next(iter(examples))}.wav").unlink()
    assert main(["data", "stats", str(tmp_path / "set")]) == 1
    assert "missing audio in 1 of 6 examples" in capsys.readouterr().err


def test_programs_lists_the_table(capsys: pytest.CaptureFixture[str]):
    assert main(["data", "programs"]) == 0
    out = capsys.readouterr().out
    assert "     30  Distortion Guitar         guitar      electronic  distortion" in out
    assert "Applause" not in out
