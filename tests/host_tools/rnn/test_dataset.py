"""`latent rnn dataset`: shapes, the held-out centres, the controls' contract, the levelling, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.errors import ConfigError
from host_tools.bank.compile import LEVEL_DB
from host_tools.bank.loudness import k_weighted_rms, to_db
from host_tools.gan.evaluation import log_mel_db, log_mel_distance
from host_tools.gan.run_dir import load_generator
from host_tools.rnn.dataset import frame_levels_db, loudness_input, open_dataset, plan_dataset
from host_tools.rnn.render import render_controls
from host_tools.space.directions import load_directions

from .conftest import PITCHES, STEPS


def test_arrays_cover_the_grid_and_the_held_out_centres(dataset: Path) -> None:
    data = open_dataset(dataset)
    meta = data.meta
    frames, width = meta["frames"], 1 + meta["harmonics"] + meta["noise_bands"]
    assert meta["frame_hop"] == 64 and frames == meta["samples"] // 64 + 1
    assert data.array("grid_controls").shape == (STEPS, STEPS, len(PITCHES), frames, width)
    assert data.array("heldout_controls").shape == (STEPS - 1, STEPS - 1, len(PITCHES), frames, width)
    assert data.array("grid_audio").shape == (STEPS, STEPS, len(PITCHES), meta["samples"])
    assert data.array("heldout_loudness").shape == (STEPS - 1, STEPS - 1, len(PITCHES), frames)
    np.testing.assert_allclose(data.xy(held_out=True)[0, 0], [-0.5, -0.5])
    np.testing.assert_allclose(data.xy()[-1, 0], [1.0, -1.0])
    assert [a["name"] for a in meta["axes"]] == ["pc0", "pc1"]
    assert meta["gan"]["checkpoint"]["step"] == 1 and "git_commit" in meta["provenance"]


def test_held_out_centres_are_the_gans_notes_between_the_grid_points(dataset: Path, ddsp_run: Path) -> None:
    """The centre of cell (0, 0) is the GAN's note at coefficients (-lo/2 ... ) halfway along both axes:
    generated fresh from its PCA coefficients, it matches the stored held-out audio (before levelling
    each differs only by one gain, so compare spectra after matching levels)."""
    data = open_dataset(dataset)
    directions = load_directions(ddsp_run)
    generator, cfg = load_generator(ddsp_run)
    from host_tools.space.render import render_latents

    z = directions.latent(np.array([[-1.0, -1.0]]))  # range -2..2 in 3 steps: centres at -1 and 1
    fresh = render_latents(generator, cfg, z, [PITCHES[0]])[0] * data.array("heldout_gain")[0, 0, 0]
    stored = np.asarray(data.array("heldout_audio")[0, 0, 0])
    np.testing.assert_allclose(fresh, stored, atol=1e-5)
    grid = np.asarray(data.array("grid_audio")[0, 0, 0])
    assert np.max(np.abs(grid - stored)) > 1e-3  # a different point, not a copy of a neighbour


def test_controls_keep_the_contract_and_render_back_to_the_stored_audio(dataset: Path) -> None:
    data = open_dataset(dataset)
    meta = data.meta
    harmonics = meta["harmonics"]
    controls = np.asarray(data.array("grid_controls"))
    assert controls.min() >= 0.0
    dist = controls[..., 1:1 + harmonics]
    np.testing.assert_allclose(dist.sum(axis=-1), 1.0, atol=1e-5)
    # The 4 ms controls, played through the synthesiser, give the stored (levelled) note back.
    rate = meta["sample_rate"]
    audio = render_controls(controls[1, 2, 1], PITCHES[1], sample_rate=rate, frame_hop=meta["frame_hop"],
                            harmonics=harmonics, samples=meta["samples"])
    stored = np.asarray(data.array("grid_audio")[1, 2, 1])
    distance = log_mel_distance(log_mel_db(audio[None], rate), log_mel_db(stored[None], rate))
    assert float(distance[0]) < 0.5


def test_each_note_is_levelled_to_the_bank_level_and_its_loudness_peaks_at_one(dataset: Path) -> None:
    data = open_dataset(dataset)
    audio = np.asarray(data.array("grid_audio")).reshape(-1, data.meta["samples"])
    levels = to_db(k_weighted_rms(audio, data.meta["sample_rate"]))
    peaks = np.max(np.abs(audio), axis=1)
    # Either at the bank's level, or lowered so the peak sits at the ceiling.
    assert np.all((np.abs(levels - LEVEL_DB) < 0.05) | (peaks > 0.85))
    loudness = np.asarray(data.array("grid_loudness"))
    assert loudness.min() >= 0.0 and np.allclose(loudness.max(axis=-1), 1.0)


def test_loudness_follows_the_frame_level_in_db() -> None:
    t = np.arange(16000) / 16000
    note = np.sin(2 * np.pi * 440 * t) * np.where(t < 0.5, 1.0, 0.1)   # -20 dB in the second half
    levels = frame_levels_db(note[None], 64, 16000 // 64 + 1, 256)[0]
    assert abs(levels[50]) < 0.1 and abs(levels[200] + 20.0) < 0.1
    np.testing.assert_allclose(loudness_input(np.array([0.0, -30.0, -90.0])), [1.0, 0.5, 0.0])


@pytest.mark.parametrize(("changes", "message"), [
    ({"pca_axes": "0"}, "2-D surface"),
    ({"pca_axes": None}, "either --pca-axes"),
    ({"corners": ["a", "b", "c", "d"]}, "either --pca-axes"),
    ({"pitches": [59]}, "pitch 59 was not trained"),
    ({"steps": 1}, "too few"),
    ({"value_range": "2,-2"}, "two increasing numbers"),
])
def test_bad_requests_are_refused_by_name(ddsp_run: Path, tmp_path: Path, changes: dict, message: str
                                          ) -> None:
    request = {"out": tmp_path / "d", "pitches": PITCHES, "pca_axes": "0,1", **changes}
    with pytest.raises(ConfigError, match=message):
        plan_dataset(ddsp_run, **request)


def test_a_spectral_gan_and_a_foreign_out_directory_are_refused(ddsp_run: Path, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an RNN dataset"):
        plan_dataset(ddsp_run, out=tmp_path / "other", pitches=PITCHES, pca_axes="0,1")
    spectral = tmp_path / "spectral"
    spectral.mkdir()
    config = json.loads((ddsp_run / "config.json").read_text())
    config["audio"]["representation"] = "waveform"
    (spectral / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="representation 'ddsp'"):
        plan_dataset(spectral, out=tmp_path / "d", pitches=PITCHES, pca_axes="0,1")
