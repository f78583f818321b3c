"""The device's compiled output stage (device/engine/rnn_stage.py) computes the PyTorch model's own
output stage (host_tools/rnn/model.py): same controls from the same raw head outputs and pitch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from device.engine.rnn_stage import output_stage, stage_constants
from host_tools.rnn.model import (
    EXP_SIGMOID_EXPONENT,
    EXP_SIGMOID_THRESHOLD,
    Architecture,
    ControlRnn,
    pitch_input,
)

ARCH = Architecture(input_width=8, hidden=8, layers=1, harmonics=64, noise_bands=65, nyquist_hz=8000.0,
                    amplitude_max=1.8625, noise_max=1.7238)


def _device(raw: np.ndarray, cond: np.ndarray, arch: Architecture) -> np.ndarray:
    constants = stage_constants(arch.nyquist_hz, arch.amplitude_max, arch.noise_max, EXP_SIGMOID_EXPONENT,
                                EXP_SIGMOID_THRESHOLD)
    out = np.full(raw.shape, np.nan)
    for t in range(raw.shape[0]):
        output_stage(raw[t], float(cond[t, 2]), constants, arch.harmonics, out[t], 0)
    return out


@pytest.mark.parametrize("scale", [1.0, 6.0, 30.0])
def test_the_device_stage_matches_the_models_own_within_1e_6(scale: float) -> None:
    torch.set_num_threads(1)
    model = ControlRnn(ARCH).eval()
    rng = np.random.default_rng(int(scale))
    frames = 400
    raw = (scale * rng.standard_normal((frames, ARCH.width))).astype(np.float32)
    cond = np.zeros((frames, 4), dtype=np.float32)
    cond[:, 2] = pitch_input(np.concatenate([rng.uniform(0.0, 127.0, frames - 4), [0.0, 36.0, 84.0, 127.0]]))
    with torch.no_grad():
        want = model.output_stage(torch.from_numpy(raw)[None], torch.from_numpy(cond)[None])[0].numpy()
    got = _device(raw, cond, ARCH)
    # Above MIDI ~119 even the fundamental is over nyquist_hz: torch's softmax over nothing is NaN,
    # the device's distribution all zero (noise alone plays; the engine's pitch never gets there,
    # clamped to the trained range). Everywhere else the two agree.
    none_audible = 440.0 * 2.0 ** ((cond[:, 2] * 24.0 + 60.0 - 69.0) / 12.0) >= ARCH.nyquist_hz
    assert 0 < none_audible.sum() < frames // 2
    assert np.all(np.isnan(want[none_audible, 1:1 + ARCH.harmonics]))
    assert np.all(got[none_audible, 1:1 + ARCH.harmonics] == 0.0)
    got[none_audible, 1:1 + ARCH.harmonics] = want[none_audible, 1:1 + ARCH.harmonics]
    # Within 1e-6 relative everywhere but in float32's subnormal range (below 1.2e-38), where torch
    # keeps only a few bits and the device's float64 all of them.
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=float(np.finfo(np.float32).tiny))
    # The mask really cuts: high notes have harmonics at exactly zero, and the rest sum to 1.
    dist = got[~none_audible, 1:1 + ARCH.harmonics]
    assert np.any(dist == 0.0) and np.allclose(dist.sum(axis=1), 1.0)


def test_nan_raw_outputs_give_nan_controls() -> None:
    raw = np.zeros(ARCH.width, dtype=np.float32)
    raw[3] = np.nan
    out = _device(raw[None], np.zeros((1, 4), dtype=np.float32), ARCH)[0]
    audible = 30  # at MIDI 60 (261.6 Hz) harmonics 1..30 lie below 8 kHz
    assert np.all(np.isnan(out[1:1 + audible])) and np.all(out[1 + audible:1 + ARCH.harmonics] == 0.0)
    assert np.all(np.isfinite(out[1 + ARCH.harmonics:])) and np.isfinite(out[0])
