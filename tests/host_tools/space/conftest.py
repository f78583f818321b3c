"""Fixtures for the latent-space tests: one micro run with fitted PCA directions per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .runs import make_pca_run

COMPONENTS = 4


@pytest.fixture(scope="session")
def pca_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pca_run(tmp_path_factory.mktemp("space") / "run", COMPONENTS)
