"""GANSpace directions on a micro generator: orthonormal components, decreasing std, and a regression
that moves mostly the intended component."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.errors import ConfigError
from host_tools.gan.run_dir import load_generator
from host_tools.space.directions import direction_response, fit_directions, load_directions

from .conftest import COMPONENTS
from .runs import make_micro_run


def test_components_are_orthonormal_with_positive_decreasing_std(pca_run: Path) -> None:
    found = load_directions(pca_run)
    assert found.count == COMPONENTS
    np.testing.assert_allclose(found.components @ found.components.T, np.eye(COMPONENTS), atol=1e-6)
    assert np.all(found.std > 0) and np.all(np.diff(found.std) <= 0)
    np.testing.assert_allclose(np.linalg.norm(found.directions, axis=1), 1.0, atol=1e-9)
    assert np.all(found.z_scale > 0)
    assert 0 < found.explained_ratio.sum() <= 1.0


def test_moving_along_a_direction_changes_mostly_its_own_component(pca_run: Path) -> None:
    generator, _ = load_generator(pca_run)
    found = load_directions(pca_run)
    response = direction_response(generator, found, probes=16)
    for k in range(COMPONENTS):
        off_diagonal = np.delete(np.abs(response[k]), k)
        assert response[k, k] > 0.5, response
        assert response[k, k] > 3 * off_diagonal.max(), response


def test_latent_of_zero_coefficients_is_the_centre_and_steps_are_linear(pca_run: Path) -> None:
    found = load_directions(pca_run)
    np.testing.assert_allclose(found.latent(np.zeros(2)), found.center_z)
    step = found.latent(np.array([0.0, 2.0])) - found.center_z
    np.testing.assert_allclose(step, 2.0 * found.z_scale[1] * found.directions[1])
    with pytest.raises(ConfigError, match="only 4 components"):
        found.latent(np.zeros(COMPONENTS + 1))


def test_bad_fit_requests_and_a_run_without_pca_are_clear_errors(tmp_path: Path) -> None:
    run = make_micro_run(tmp_path / "run")
    generator, cfg = load_generator(run)
    with pytest.raises(ConfigError, match="--components 9 is out of range"):
        fit_directions(generator, cfg, samples=512, components=9)
    with pytest.raises(ConfigError, match="--samples 10 is too few"):
        fit_directions(generator, cfg, samples=10, components=4)
    with pytest.raises(ConfigError, match=r"no latent directions yet.*latent space pca"):
        load_directions(run)
