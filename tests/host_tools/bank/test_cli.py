"""`latent bank additive` end to end: recipe file, options, output, reload, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from device.bundle.reader import load_segment_bank, open_bundle
from device.cli import main

SMALL_TOML = """\
name = "cli-test"
segment_seconds = 0.25
[pitches]
low = 48
high = 72
step = 12
[brightness]
steps = 3
[odd_even]
steps = 2
"""


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_TOML)
    return path


def test_additive_builds_reloads_and_reports(tmp_path: Path, recipe_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out, preview = tmp_path / "models" / "small.bundle", tmp_path / "walk.wav"
    code = main(["bank", "additive", "--recipe", str(recipe_file), "--out", str(out),
                 "--preview", str(preview)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert f"size: {out.stat().st_size} bytes" in printed
    assert "grid: 3 brightness x 2 odd_even; 3 pitches 48..72 step 12" in printed
    assert "time: " in printed and "reloaded and verified" in printed
    assert f"preview: {preview}" in printed and preview.stat().st_size > 44
    bank = load_segment_bank(out)
    assert bank.segments.shape == (3, 2, 3, 5512)
    assert bank.pitches == (48, 60, 72) and bank.bundle.name == "cli-test"


def test_options_override_the_recipe(tmp_path: Path, recipe_file: Path) -> None:
    out = tmp_path / "o.bundle"
    code = main(["bank", "additive", "--recipe", str(recipe_file), "--out", str(out), "--grid", "2x3",
                 "--pitches", "60:66:6", "--codec", "mulaw8", "--sample-rate", "16000",
                 "--segment-seconds", "0.1", "--seed", "5", "--name", "over"])
    assert code == 0
    with open_bundle(out) as bundle:
        m = bundle.manifest
    assert (m["name"], m["sample_rate"], m["bank"]["codec"], m["bank"]["pitches"]) == (
        "over", 16000, "mulaw8", [60, 66])
    assert [a["steps"] for a in m["bank"]["axes"]] == [2, 3]
    assert m["config"]["seed"] == 5 and m["config"]["segment_seconds"] == 0.1


def test_without_a_recipe_the_defaults_apply(tmp_path: Path) -> None:
    out = tmp_path / "d.bundle"
    assert main(["bank", "additive", "--out", str(out), "--grid", "2x2", "--pitches", "60:60:1"]) == 0
    with open_bundle(out) as bundle:
        assert bundle.manifest["config"]["seed"] == 1979


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "3by3"], "--grid '3by3' is malformed; write it like 5x5"),
        (["--pitches", "36,40,50"], "--pitches: 36, 40, 50 are not evenly spaced"),
        (["--pitches", "H4"], "--pitches: 'H4' is not a pitch; write MIDI numbers (60)"),
        (["--codec", "flac"],
         "codec (sample codec of the bundle): is 'flac', not a known name; allowed: int16"),
        (["--pitches", "36:84:5"], "pitches.step = 5: "),
    ],
)
def test_bad_options_exit_1_with_the_reason(tmp_path: Path, recipe_file: Path, extra: list[str],
                                            message: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.bundle"
    assert main(["bank", "additive", "--recipe", str(recipe_file), "--out", str(out), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith("latent bank: error: ") and message in err
    assert not out.exists()


def test_bad_recipe_keys_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "typo.toml"
    recipe.write_text(SMALL_TOML + "[level]\nloudness = -20\n")
    assert main(["bank", "additive", "--recipe", str(recipe), "--out", str(tmp_path / "x.bundle")]) == 1
    err = capsys.readouterr().err
    assert "typo.toml: level.loudness: unknown key; allowed in [level]: loudness_db" in err
    assert main(["bank", "additive", "--recipe", str(tmp_path / "nope.toml"), "--out",
                 str(tmp_path / "x.bundle")]) == 1
    assert "nope.toml: recipe file does not exist" in capsys.readouterr().err


def test_the_latent_command_finds_bank_through_its_entry_point(tmp_path: Path, recipe_file: Path) -> None:
    out = tmp_path / "sub.bundle"
    done = subprocess.run(
        [sys.executable, "-m", "device.cli", "bank", "additive", "--recipe", str(recipe_file),
         "--out", str(out), "--grid", "2x2"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    assert load_segment_bank(out).segments.shape[:2] == (2, 2)
