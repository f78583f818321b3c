"""A small additive bank built through the real build path (writer + device reader), shared by tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.codecs import decode
from device.bundle.reader import SegmentBank, load_segment_bank
from host_tools.bank.build import build_additive_bundle
from host_tools.bank.recipe import AdditiveRecipe, parse_recipe

# Small enough to build in a fraction of a second, wide enough to cover bass to treble.
SMALL_RECIPE = {
    "name": "small-additive",
    "pitches": {"low": 36, "high": 84, "step": 24},
    "brightness": {"steps": 4},
    "odd_even": {"steps": 3},
}


@pytest.fixture(scope="session")
def small_recipe() -> AdditiveRecipe:
    return parse_recipe(SMALL_RECIPE)


@pytest.fixture(scope="session")
def small_bank(tmp_path_factory: pytest.TempPathFactory, small_recipe: AdditiveRecipe) -> SegmentBank:
    path: Path = tmp_path_factory.mktemp("bank") / "small.bundle"
    build_additive_bundle(small_recipe, path)
    return load_segment_bank(path)


@pytest.fixture(scope="session")
def decoded(small_bank: SegmentBank) -> np.ndarray:
    """Every segment of the small bank as float64, read back through the device reader."""
    samples = decode(np.asarray(small_bank.segments), small_bank.codec)
    return samples.astype(np.float64) * small_bank.scales[..., None]
