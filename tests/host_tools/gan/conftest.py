"""Fixtures for the GAN tests: one micro data set per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .micro import write_micro_dataset


@pytest.fixture(scope="session")
def micro_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_micro_dataset(tmp_path_factory.mktemp("micro_nsynth"))
