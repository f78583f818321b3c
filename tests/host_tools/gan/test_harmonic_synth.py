"""The harmonic-plus-noise synthesiser: in tune, alias-free, reproducible in eval mode, differentiable."""

from __future__ import annotations

import math

import numpy as np
import torch

from host_tools.gan.harmonic_synth import HarmonicNoiseSynth, exp_sigmoid, midi_to_hz

RATE = 16000


def _synth(harmonics: int = 8, bands: int = 9, seconds: float = 1.0) -> HarmonicNoiseSynth:
    return HarmonicNoiseSynth(RATE, int(RATE * seconds), harmonics, bands).eval()


def _controls(synth: HarmonicNoiseSynth, frames: int, harmonic_logits: torch.Tensor,
              noise_logit: float = -40.0) -> torch.Tensor:
    amp = torch.full((1, 1, frames), 2.0)
    harm = harmonic_logits.view(1, -1, 1).expand(1, synth.harmonics, frames)
    noise = torch.full((1, synth.noise_bands, frames), noise_logit)
    return torch.cat([amp, harm, noise], dim=1)


def _peak_hz(audio: np.ndarray, near: float) -> float:
    """The spectral peak nearest `near`, from a zero-padded FFT with parabolic interpolation."""
    size = 1 << 21
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), size))
    hz = np.fft.rfftfreq(size, 1.0 / RATE)
    lo, hi = np.searchsorted(hz, near * 0.9), np.searchsorted(hz, near * 1.1)
    k = lo + int(np.argmax(spectrum[lo:hi]))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return float(hz[k] + 0.5 * (a - c) / (a - 2 * b + c) * (hz[1] - hz[0]))


def test_a_harmonic_stack_is_in_tune_within_five_cents_at_every_harmonic() -> None:
    synth = _synth()
    midi = 50.0
    f0 = float(midi_to_hz(torch.tensor(midi)))
    controls = _controls(synth, 126, torch.zeros(8))
    with torch.no_grad():
        audio = synth(controls, torch.tensor([f0]))[0].numpy()
    for k in (1, 2, 5, 8):
        found = _peak_hz(audio, k * f0)
        assert abs(1200 * math.log2(found / (k * f0))) < 5.0, (k, found)


def test_harmonics_above_nyquist_get_no_energy_and_do_not_alias() -> None:
    synth = _synth()
    f0 = torch.tensor([3000.0])  # harmonics 1 and 2 (6 kHz) are below Nyquist, 3 (9 kHz) would alias to 7
    distribution = synth.harmonic_distribution(torch.zeros(1, 8, 4), f0)
    assert torch.allclose(distribution[0, :2].sum(dim=0), torch.ones(4))
    assert torch.all(distribution[0, 2:] == 0)
    with torch.no_grad():
        audio = synth(_controls(synth, 126, torch.zeros(8)), f0)[0].numpy()
    spectrum = np.abs(np.fft.rfft(audio))
    hz = np.fft.rfftfreq(len(audio), 1.0 / RATE)
    at = lambda f: spectrum[np.abs(hz - f) < 20].max()  # noqa: E731
    assert at(7000.0) < 1e-3 * at(6000.0)


def test_eval_mode_is_reproducible_and_batch_independent_training_mode_is_not() -> None:
    synth = _synth()
    controls = _controls(synth, 126, torch.zeros(8), noise_logit=0.0)
    f0 = torch.tensor([220.0])
    with torch.no_grad():
        one = synth(controls, f0)
        pair = synth(torch.cat([controls, 0.5 * controls]), torch.tensor([220.0, 330.0]))
        assert torch.equal(one, synth(controls, f0))
        assert torch.allclose(pair[0], one[0], atol=1e-6)
        synth.train()
        assert not torch.equal(synth(controls, f0), synth(controls, f0))


def test_gradients_reach_the_loudness_the_harmonic_distribution_and_the_noise() -> None:
    synth = _synth(seconds=0.25).train()
    controls = torch.zeros(2, 1 + 8 + 9, 32, requires_grad=True)
    audio = synth(controls, torch.tensor([220.0, 440.0]))
    audio.pow(2).mean().backward()
    grad = controls.grad
    assert grad is not None and torch.isfinite(grad).all()
    for part in synth.split(grad):
        assert part.abs().sum() > 0


def test_exp_sigmoid_is_positive_and_bounded() -> None:
    x = torch.linspace(-50, 50, 101)
    y = exp_sigmoid(x)
    assert torch.all(y > 0) and torch.all(y <= 2.0 + 1e-6)
