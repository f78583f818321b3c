"""`latent bend list-layers|reference|beyond|measure` and `latent space grid|explore --bend` on a micro
run: the files and figures they promise, distances from the data beside every audition."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.cli import main
from host_tools.bend.distance import load_reference
from host_tools.bend.ica import fast_ica
from host_tools.space.bookmarks import add_bookmark

from ..gan.micro import write_micro_dataset
from .runs import write_recipe

PNG = b"\x89PNG\r\n\x1a\n"
RECIPE = ('[bend]\nlayer = "blocks.0"\ntransform = "rotate"\namount = [0.0, 1.0]\n'
          '[bend.params]\ndegrees = 90\n')


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_micro_dataset(tmp_path_factory.mktemp("notes"))


@pytest.fixture(scope="module")
def referenced_run(clustered_run: Path, notes: Path) -> Path:
    assert main(["bend", "reference", "--run", str(clustered_run), "--data", str(notes), "--per-pitch", "2",
                 "--json"]) == 0
    return clustered_run


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_list_layers(ddsp_run: Path, capsys) -> None:
    assert main(["bend", "list-layers", "--run", str(ddsp_run), "--json"]) == 0
    layers = {layer["name"]: layer for layer in _json(capsys)["layers"]}
    assert list(layers) == ["first", "blocks.0", "blocks.1", "to_controls"]
    assert layers["first"]["channels"] == 8 and layers["to_controls"]["channels"] == 1 + 16 + 9


def test_reference_measures_distance_from_the_real_notes(referenced_run: Path, notes: Path) -> None:
    reference = load_reference(referenced_run)
    assert reference is not None and len(reference.pitches) == 6 and reference.spacing(61) > 0
    real = np.stack([soundfile.read(path, dtype="float32")[0][:4000] for path in
                     sorted((notes / "audio").glob("*-061-*.wav"))])
    assert np.allclose(reference.note_distances(real, [61, 61]), 0.0, atol=1e-3)  # they are the data
    quieter = reference.note_distances(0.1 * real, [61, 61])
    hiss = reference.note_distances(0.05 * np.random.default_rng(0).standard_normal((1, 4000)), [61])
    assert np.all(quieter > 0.5) and hiss[0] > quieter.max()  # -20 dB is far; white noise farther


def test_grid_with_a_bend_shows_the_row_unbent_and_bent(referenced_run: Path, tmp_path: Path, capsys) -> None:
    recipe = write_recipe(tmp_path / "r.toml", RECIPE)
    out = tmp_path / "grid"
    assert main(["space", "grid", "--run", str(referenced_run), "--axes", "0", "--steps", "3",
                 "--pitch", "61", "--bend", str(recipe), "--out", str(out), "--quiet"]) == 0
    report = _json(capsys)
    assert report["wavs"] == 9 and len(sorted(out.glob("bend_*.wav"))) == 9
    assert (out / "contact_sheet.png").read_bytes()[:8] == PNG
    amounts = report["bend"]["amounts"]
    assert [a["amount"] for a in amounts] == [0.0, 0.5, 1.0]
    assert all(a["smoothness"]["random_pair_db"] >= 0 and a["data_distance_median"] > 0 for a in amounts)
    index = json.loads((out / "index.json").read_text())
    assert index["bend"]["recipe"]["layer"] == "blocks.0"
    assert all(cell["data_distance"] > 0 and np.isfinite(cell["critic_score"]) for cell in index["cells"])
    for wav in out.glob("*.wav"):
        audio, _ = soundfile.read(wav)
        assert np.max(np.abs(audio)) < 1.0  # levelled, never clipped
    two = tmp_path / "grid2"
    assert main(["space", "grid", "--run", str(referenced_run), "--axes", "0,1", "--steps", "2",
                 "--pitch", "61", "--bend", str(recipe), "--amounts", "0,1", "--out", str(two),
                 "--quiet"]) == 0
    assert [Path(p).name for p in _json(capsys)["contact_sheets"]] == ["contact_sheet_bend_0.00.png",
                                                                       "contact_sheet_bend_1.00.png"]


def test_explore_with_a_bend(referenced_run: Path, tmp_path: Path, capsys) -> None:
    recipe = write_recipe(tmp_path / "r.toml", RECIPE)
    out = tmp_path / "explore"
    assert main(["space", "explore", "--run", str(referenced_run), "-n", "2", "--bend", str(recipe),
                 "--amounts", "0,1", "--out", str(out), "--quiet"]) == 0
    with open(out / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["file"] for r in rows] == ["point_000_bend_0.00.wav", "point_001_bend_0.00.wav",
                                         "point_000_bend_1.00.wav", "point_001_bend_1.00.wav"]
    assert all(float(r["data_distance"]) > 0 and np.isfinite(float(r["critic_score"])) for r in rows)


def test_beyond_walks_past_the_fitted_range(referenced_run: Path, tmp_path: Path, capsys) -> None:
    add_bookmark(referenced_run, "a", {"source": "seed", "seed": 1, "z": list(np.ones(8))})
    add_bookmark(referenced_run, "b", {"source": "seed", "seed": 2, "z": list(-np.ones(8))})
    for direction, value_range, inside in (("pc0", "-6,6", [False, True, False]),
                                           ("ic1", "-4,4", [False, True, False]),
                                           ("bookmarks:a,b", "-1,2", [False, True, False])):
        out = tmp_path / direction.replace(":", "_")
        assert main(["bend", "beyond", "--run", str(referenced_run), "--direction", direction, "--range",
                     value_range, "--steps", "3", "--pitch", "60", "--out", str(out), "--quiet",
                     "--json"]) == 0
        report = _json(capsys)
        assert [c["inside_data_range"] for c in report["cells"]] == inside
        assert all(c["data_distance"] > 0 and np.isfinite(c["critic_score"]) for c in report["cells"])
        assert len(list(out.glob("*.wav"))) == 3 and (out / "contact_sheet.png").is_file()
    assert main(["bend", "beyond", "--run", str(referenced_run), "--direction", "xx0"]) != 0
    assert "--direction 'xx0' is unknown" in capsys.readouterr().err


def test_measure_reports_eval_figures_per_amount(referenced_run: Path, tmp_path: Path, capsys) -> None:
    recipe = write_recipe(tmp_path / "r.toml", RECIPE)
    assert main(["bend", "measure", "--run", str(referenced_run), "--bend", str(recipe), "--amounts", "0,1",
                 "--per-pitch", "2", "--json"]) == 0
    report = _json(capsys)
    zero, one = report["amounts"]
    assert zero["moved_from_unbent_db"] == 0.0 and one["moved_from_unbent_db"] > 0
    for row in (zero, one):
        assert 0 <= row["pitch_accuracy"] <= 1 and row["frechet_log_mel"] > 0
        assert row["data_distance_median"] > 0 and np.isfinite(row["critic_score_median"])


def test_fast_ica_unmixes_two_independent_sources() -> None:
    rng = np.random.default_rng(0)
    sources = rng.uniform(-1, 1, (4000, 2))
    mixed = sources @ np.array([[1.0, 0.6], [0.4, 1.0]]).T
    found = (mixed - mixed.mean(axis=0)) @ fast_ica(mixed, seed=0).T
    match = np.abs(np.corrcoef(found.T, sources.T)[:2, 2:])
    assert np.all(match.max(axis=1) > 0.99)


def test_critic_scores_a_note_alone_whatever_its_neighbours(ddsp_run: Path, tmp_path: Path) -> None:
    from host_tools.bend.critic import critic_scores, load_critic
    from host_tools.gan.run_dir import load_generator
    from host_tools.space.render import render_latents

    generator, cfg = load_generator(ddsp_run)
    notes = render_latents(generator, cfg, np.random.default_rng(0).standard_normal((4, 8)), [60, 61, 62, 60])
    critic = load_critic(ddsp_run)
    together = critic_scores(critic, cfg, notes, [60, 61, 62, 60])
    np.testing.assert_allclose(critic_scores(critic, cfg, notes[2:3], [62]), together[2:3], rtol=1e-5)
    bare = tmp_path / "exported"  # a run without checkpoints (as an exported model) has no critic
    bare.mkdir()
    (bare / "config.json").write_text((ddsp_run / "config.json").read_text())
    assert load_critic(bare) is None
