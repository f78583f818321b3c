"""The control RNN's outputs keep the bundle contract whatever its weights."""

from __future__ import annotations

import torch

from host_tools.rnn.model import Architecture, ControlRnn, control_loss, pitch_input


def _model(hidden: int = 8, layers: int = 2) -> ControlRnn:
    torch.manual_seed(3)
    return ControlRnn(Architecture(input_width=6, hidden=hidden, layers=layers, harmonics=64, noise_bands=65,
                                   nyquist_hz=8000.0, amplitude_max=0.5, noise_max=0.01)).eval()


def test_controls_are_positive_bounded_and_the_distribution_is_masked_above_nyquist() -> None:
    model = _model()
    frames = 10
    cond = torch.rand(3, frames, 4) * 2 - 1
    cond[:, :, 2] = pitch_input(torch.tensor([36.0, 72.0, 96.0]))[:, None]
    controls, state = model(cond, model.zero_state(3))
    assert controls.shape == (3, frames, 130) and state.shape == (2, 3, 8)
    amplitude, dist, noise = controls[..., 0], controls[..., 1:65], controls[..., 65:]
    assert amplitude.min() >= 0 and amplitude.max() <= 0.5 + 1e-6
    assert noise.min() >= 0 and noise.max() <= 0.01 + 1e-6
    torch.testing.assert_close(dist.sum(-1), torch.ones(3, frames))
    for row, midi in enumerate((36.0, 72.0, 96.0)):
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        audible = int((torch.arange(1, 65) * f0 < 8000.0).sum())
        assert torch.all(dist[row, :, audible:] == 0) and torch.all(dist[row, :, :audible] > 0)


def test_the_state_carries_the_stream_across_calls() -> None:
    model = _model()
    cond = torch.rand(1, 12, 4)
    whole, _ = model(cond, model.zero_state())
    first, state = model(cond[:, :5], model.zero_state())
    second, _ = model(cond[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)


def test_the_loss_is_zero_on_the_target_and_grows_with_a_level_error() -> None:
    model = _model()
    controls, _ = model(torch.rand(2, 6, 4), model.zero_state(2))
    assert float(control_loss(controls, controls, 64)["total"].detach()) == 0.0
    louder = controls.clone()
    louder[..., 0] *= 2.0
    assert float(control_loss(louder, controls, 64)["amplitude"].detach()) > 0.5
