"""A small segment bank for the benches that play one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..store.bundles import make_bundle


@pytest.fixture
def bank_path(tmp_path: Path) -> Path:
    """A small stand-in for the shipped bank: 2 axes (3 x 4 points), 3 pitches, noise segments."""
    return make_bundle(tmp_path / "small.bundle", name="small", sample_rate=22050, frames=4000,
                       steps=(3, 4), pitches=(48, 60, 72))
