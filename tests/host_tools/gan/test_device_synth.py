"""The Pi's compiled synthesiser (device/engine/harmonic_synth.py) renders what the host's
HarmonicNoiseSynth renders from the same controls: the harmonic part sample for sample, the noise
(a different random draw) at the same level and spectral envelope (within NOISE_DB per band), at
16 kHz and at 48 kHz."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.signal import welch

from device.engine.harmonic_synth import HarmonicSynth
from host_tools.gan.harmonic_synth import HarmonicNoiseSynth

H, N, HOP, RATE, FRAMES = 64, 65, 64, 16000, 160
SAMPLES = HOP * (FRAMES - 1) + 1  # frame i sits at sample i * HOP, as the device spaces them
F0 = 250.0  # a whole number of cycles per frame: the device's one-frame start delay keeps phase
NOISE_DB = 0.75  # per-band tolerance of the noise's power spectrum, in dB


def _controls(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    amplitude = 0.2 + 0.1 * np.sin(np.linspace(0.0, 6.0, FRAMES))
    audible = np.arange(1, H + 1) * F0 < RATE / 2
    distribution = np.exp(rng.normal(size=(H, FRAMES)).cumsum(axis=1) * 0.1) * audible[:, None]
    distribution /= distribution.sum(axis=0)
    # A sloped noise spectrum with a bump, slowly breathing: shape and level both matter.
    shape = np.linspace(0.03, 0.002, N) + 0.02 * np.exp(-((np.arange(N) - 20) / 4.0) ** 2)
    noise = shape[:, None] * (1.0 + 0.3 * np.sin(np.linspace(0.0, 3.0, FRAMES)))[None, :]
    return amplitude, distribution, noise


def _device(rate: int, amplitude: np.ndarray, distribution: np.ndarray, noise: np.ndarray,
            block: int = 64) -> np.ndarray:
    synth = HarmonicSynth(output_rate=rate, model_rate=RATE, frame_hop=HOP, harmonics=H, noise_bands=N,
                          nyquist_hz=RATE / 2, ceiling=1.0)
    rows = [np.concatenate([[amplitude[i]], distribution[:, i], noise[:, i]]) for i in range(FRAMES)]
    total = FRAMES * HOP * rate // RATE  # one frame of fade-in, then the note up to its last frame
    out = np.zeros(total, dtype=np.float32)
    buffer = np.zeros(block, dtype=np.float32)
    for start in range(0, total - block + 1, block):
        while synth.frames_written < min(FRAMES, synth.frames_taken + 4):
            synth.write_frame(0, F0, rows[synth.frames_written])
        assert synth.render(buffer, 0, False) == block
        out[start:start + block] = buffer
    return out


@pytest.fixture(scope="module")
def host() -> tuple[np.ndarray, np.ndarray]:
    torch.set_num_threads(1)
    amplitude, distribution, noise = _controls()
    synth = HarmonicNoiseSynth(RATE, SAMPLES, H, N).eval()
    with torch.no_grad():
        harmonic = synth.harmonic_part(torch.tensor(amplitude[None, None], dtype=torch.float32),
                                       torch.tensor(distribution[None], dtype=torch.float32),
                                       torch.tensor([F0]))
        noisy = synth.noise_part(torch.tensor(noise[None], dtype=torch.float32))
    return harmonic.numpy()[0], noisy.numpy()[0]


def test_the_harmonic_part_matches_the_host_sample_for_sample(host: tuple[np.ndarray, np.ndarray]) -> None:
    amplitude, distribution, noise = _controls()
    device = _device(RATE, amplitude, distribution, noise * 0.0)
    played = device[HOP:HOP + SAMPLES - 1]  # the device starts one frame late, fading in
    want = host[0][:SAMPLES - 1]
    assert np.max(np.abs(played - want)) < 1e-4 * np.max(np.abs(want))  # float32 rounding only


def _band_db(signal: np.ndarray, rate: int, top_hz: float, bands: int = 8) -> np.ndarray:
    freqs, power = welch(signal, rate, nperseg=rate // 125 * 4)
    edges = np.linspace(0.0, top_hz, bands + 1)
    return np.array([10 * np.log10(power[(freqs >= lo) & (freqs < hi)].mean())
                     for lo, hi in itertools.pairwise(edges)])


@pytest.mark.parametrize("rate", [16000, 48000])
def test_the_noise_has_the_host_level_and_spectral_envelope(host: tuple[np.ndarray, np.ndarray],
                                                            rate: int) -> None:
    amplitude, distribution, noise = _controls()
    device = _device(rate, amplitude * 0.0, distribution, noise)
    played = device[HOP * rate // RATE:]
    want = _band_db(host[1], RATE, 7750.0)
    got = _band_db(played, rate, 7750.0)
    # Power per hertz: a 48 kHz stream spreads the same noise over a third of its band.
    assert np.max(np.abs(got - want)) < NOISE_DB, (got - want).round(2)
    if rate > RATE:
        above = _band_db(played, rate, rate / 2, bands=rate // 2000)[9:]  # 1 kHz bands from 9 kHz up
        assert np.max(above) < np.min(want) - 60.0  # nothing above the model's Nyquist


def test_at_48k_the_harmonics_are_the_same_signal(host: tuple[np.ndarray, np.ndarray]) -> None:
    # Nothing sounds above 8 kHz, so every third sample at 48 kHz must be the host's 16 kHz sample.
    amplitude, distribution, noise = _controls()
    device = _device(48000, amplitude, distribution, noise * 0.0)
    played = device[3 * HOP:3 * HOP + 3 * (SAMPLES - 1)]
    want = host[0][:SAMPLES - 1]
    assert np.max(np.abs(played[::3] - want)) < 1e-4 * np.max(np.abs(want))
    spectrum = np.abs(np.fft.rfft(played))
    freqs = np.fft.rfftfreq(len(played), 1 / 48000)
    assert spectrum[freqs > 8100].max() < 1e-3 * spectrum.max()
