"""Bookmarks round trip through the CLI; unknown names are clear errors; corners blend bilinearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.cli import main
from device.errors import ConfigError
from host_tools.space.bookmarks import bookmark_latents, bookmarks_path, load_bookmarks, seed_latent
from host_tools.space.corners import bilinear, corner_grid
from host_tools.space.directions import load_directions

from ...hostile_files import JSON_TEXTS, SPECIAL_PATHS, Hostile, make, params, refused_quickly
from .runs import make_micro_run


def test_bookmarks_of_coefficients_seed_and_raw_z_round_trip(pca_run: Path, capsys) -> None:
    run = str(pca_run)
    assert main(["space", "bookmark", "bright", "--run", run, "--coeffs", "-1.5,0.5"]) == 0
    assert main(["space", "bookmark", "seeded", "--run", run, "--seed", "7"]) == 0
    raw = ",".join(["0.25"] * 8)
    assert main(["space", "bookmark", "raw", "--run", run, "--z", raw]) == 0
    marks = load_bookmarks(pca_run)
    assert marks["bright"]["coeffs"] == [-1.5, 0.5]
    np.testing.assert_allclose(marks["bright"]["z"], load_directions(pca_run).latent(np.array([-1.5, 0.5])))
    np.testing.assert_allclose(marks["seeded"]["z"], seed_latent(7, 8))
    latents = bookmark_latents(pca_run, ["raw", "seeded"], 8)
    np.testing.assert_allclose(latents[0], 0.25)
    capsys.readouterr()
    assert main(["space", "bookmarks", "--run", run]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["seeded"] == {"source": "seed", "seed": 7}


def test_unknown_bookmark_and_bad_values_are_clear_errors(tmp_path: Path, capsys) -> None:
    run = make_micro_run(tmp_path / "run")
    with pytest.raises(ConfigError, match=r"unknown bookmark 'nowhere'.*known: none yet"):
        bookmark_latents(run, ["nowhere"], 8)
    assert main(["space", "bookmark", "x", "--run", str(run), "--z", "1,2"]) == 1
    assert "--z has 2 values; this run's latent size is 8" in capsys.readouterr().err
    assert main(["space", "bookmark", "x", "--run", str(run), "--coeffs", "1,a"]) == 1
    assert "--coeffs '1,a' is not a comma-separated list of numbers" in capsys.readouterr().err
    assert main(["space", "bookmark", "x", "--run", str(run), "--coeffs", "1,2"]) == 1
    assert "no latent directions yet" in capsys.readouterr().err
    assert main(["space", "bookmark", "bad name", "--run", str(run), "--seed", "1"]) == 1
    assert not bookmarks_path(run).exists()


def test_corners_are_exact_and_the_surface_is_bilinear() -> None:
    corners = np.random.default_rng(0).normal(size=(4, 6))
    grid = corner_grid(corners, 3)
    np.testing.assert_allclose(grid[0, 0], corners[0])
    np.testing.assert_allclose(grid[2, 0], corners[1])
    np.testing.assert_allclose(grid[0, 2], corners[2])
    np.testing.assert_allclose(grid[2, 2], corners[3])
    np.testing.assert_allclose(grid[1, 1], corners.mean(axis=0))
    np.testing.assert_allclose(grid[1, 0], (corners[0] + corners[1]) / 2)
    u, v = 0.3, 0.8
    expected = (corners[0] * 0.7 + corners[1] * 0.3) * 0.2 + (corners[2] * 0.7 + corners[3] * 0.3) * 0.8
    np.testing.assert_allclose(bilinear(corners, u, v), expected)
    with pytest.raises(ConfigError, match="exactly four"):
        bilinear(corners[:3], u, v)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(JSON_TEXTS, SPECIAL_PATHS, skip=("/dev/zero",)))
def test_hostile_bookmark_files_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    # The file's place is fixed (RUN/space/bookmarks.json), so /dev/zero comes as a link there.
    path = bookmarks_path(tmp_path / "run")
    path.parent.mkdir(parents=True)
    make(case, path)
    message = refused_quickly(lambda: load_bookmarks(tmp_path / "run"), ConfigError, case)
    assert message.startswith(f"{path} is unreadable (") and message.endswith("; fix or delete it")


def test_no_bookmarks_file_means_no_bookmarks_yet(tmp_path: Path) -> None:
    assert load_bookmarks(tmp_path / "run") == {}
    path = bookmarks_path(tmp_path / "run")
    path.parent.mkdir(parents=True)
    path.write_text('{"a": {"z": [0.5, -1.0]}}')
    assert load_bookmarks(tmp_path / "run") == {"a": {"z": [0.5, -1.0]}}
    path.write_text("[1]")
    with pytest.raises(ConfigError, match=r"is unreadable \(not an object\); fix or delete it"):
        load_bookmarks(tmp_path / "run")
