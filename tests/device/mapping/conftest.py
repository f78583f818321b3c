"""Fixtures for the mapping tests."""

from __future__ import annotations

import pytest

from .player import Player


@pytest.fixture
def player() -> Player:
    """A player at the default map whose calibration has settled."""
    p = Player()
    p.settle()
    return p
