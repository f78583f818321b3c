"""Building an additive bundle: checked through the device reader, never clobbering a good bundle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import load_segment_bank, open_bundle
from device.errors import BundleError, ConfigError
from host_tools.bank.build import TOOL_NAME, build_additive_bundle
from host_tools.bank.recipe import AdditiveRecipe, parse_recipe

from .conftest import SMALL_RECIPE


def test_build_stores_the_recipe_and_provenance(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    report = build_additive_bundle(small_recipe, tmp_path / "b.bundle")
    assert report.path == tmp_path / "b.bundle"
    assert report.size_bytes == report.path.stat().st_size
    assert 0 < report.render_seconds <= report.total_seconds
    with open_bundle(report.path) as bundle:
        manifest = bundle.manifest
    assert manifest["name"] == "small-additive"
    assert manifest["config"] == small_recipe.to_config()
    assert manifest["provenance"]["tool"] == TOOL_NAME
    assert manifest["provenance"]["numpy"] == np.__version__
    assert {"git_commit", "git_dirty", "latent_instrument", "python"} <= set(manifest["provenance"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bundle"], "no staging file left behind"


def test_build_creates_missing_directories(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    report = build_additive_bundle(small_recipe, tmp_path / "a" / "b" / "c.bundle")
    assert load_segment_bank(report.path).pitches == (36, 60, 84)


def test_out_must_be_a_file_path(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        build_additive_bundle(small_recipe, tmp_path)
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot create the output directory"):
        build_additive_bundle(small_recipe, blocker / "x.bundle")


def test_a_failed_build_leaves_the_previous_bundle_untouched(tmp_path: Path,
                                                             small_recipe: AdditiveRecipe) -> None:
    out = tmp_path / "b.bundle"
    build_additive_bundle(small_recipe, out)
    before = out.read_bytes()
    too_loud = parse_recipe({**SMALL_RECIPE, "level": {"loudness_db": -4.0, "ceiling_db": -3.0}})
    with pytest.raises(ConfigError, match=r"peaks at .* above level.ceiling_db = -3.0; lower level.loudness"):
        build_additive_bundle(too_loud, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bundle"]


def test_write_failures_are_bundle_errors(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    out = tmp_path / "b.bundle"
    # A directory squatting on the staging name makes the final rename inside the writer fail.
    (tmp_path / f".b.bundle.staged-{os.getpid()}").mkdir()
    with pytest.raises(BundleError, match=r"cannot write .*b.bundle"):
        build_additive_bundle(small_recipe, out)
    assert not out.exists()


def test_mulaw8_bank_reads_back_close_to_int16(tmp_path: Path) -> None:
    small = {**SMALL_RECIPE, "brightness": {"steps": 2}, "odd_even": {"steps": 2}}
    exact = load_segment_bank(build_additive_bundle(parse_recipe(small), tmp_path / "i.bundle").path)
    coded = load_segment_bank(
        build_additive_bundle(parse_recipe({**small, "codec": "mulaw8"}), tmp_path / "m.bundle").path)
    assert coded.codec == "mulaw8" and coded.segments.dtype == np.uint8
    a, b = exact.segment((1, 1), 1), coded.segment((1, 1), 1)
    snr = 10 * np.log10(np.mean(a.astype(float) ** 2) / np.mean((a.astype(float) - b) ** 2))
    assert 30.0 < snr < 45.0, snr
