"""Fixtures for the bend tests: one micro ddsp run (with PCA directions and a clustering of its first
layer) per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .runs import make_ddsp_run


@pytest.fixture(scope="session")
def ddsp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return make_ddsp_run(tmp_path_factory.mktemp("bend") / "run")


@pytest.fixture(scope="session")
def clustered_run(ddsp_run: Path) -> Path:
    """The micro run with `latent bend clusters --layer first --k 3` saved in it."""
    from device.cli import main

    assert main(["bend", "clusters", "--run", str(ddsp_run), "--layer", "first", "--k", "3", "--notes", "6",
                 "--pitches", "60,62", "--per-pitch", "1", "--quiet", "--json"]) == 0
    return ddsp_run
