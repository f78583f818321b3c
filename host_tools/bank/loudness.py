"""A loudness proxy for steady tones: ITU-R BS.1770 K-weighted RMS (host tools, analysis).

K-weighting (a +4 dB shelf above ~1.5 kHz and a gentle high-pass around 40 Hz) is the weighting
behind LUFS. It suits a bank spanning bass to treble better than A-weighting, which would push a
dark 65 Hz tone ~26 dB above a 1 kHz one when levels are equalised. The curve is evaluated from
the standard's 48 kHz biquads at each frequency, so any sample rate up to 48 kHz can be measured
in the frequency domain without filtering.
"""

from __future__ import annotations

import numpy as np

_REFERENCE_RATE = 48000.0
# BS.1770-4 table 1 (shelving pre-filter) and table 2 (RLB high-pass), both at 48 kHz.
_SHELF_B = (1.53512485958697, -2.69169618940638, 1.19839281085285)
_SHELF_A = (1.0, -1.69065929318241, 0.73248077421585)
_HIGHPASS_B = (1.0, -2.0, 1.0)
_HIGHPASS_A = (1.0, -1.99004745483398, 0.99007225036621)


def _biquad_gain(b: tuple[float, ...], a: tuple[float, ...], z_inv: np.ndarray) -> np.ndarray:
    num = b[0] + b[1] * z_inv + b[2] * z_inv**2
    den = a[0] + a[1] * z_inv + a[2] * z_inv**2
    return np.abs(num / den)


def k_weighting(freqs_hz: np.ndarray) -> np.ndarray:
    """Amplitude gain of the K-weighting at each frequency (valid up to 24 kHz)."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    z_inv = np.exp(-2j * np.pi * f / _REFERENCE_RATE)
    return _biquad_gain(_SHELF_B, _SHELF_A, z_inv) * _biquad_gain(_HIGHPASS_B, _HIGHPASS_A, z_inv)


def k_weighted_rms(signals: np.ndarray, sample_rate: float) -> np.ndarray:
    """K-weighted RMS of each signal along the last axis (amplitude, 1.0 = full-scale DC)."""
    x = np.asarray(signals, dtype=np.float64)
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    weights = k_weighting(np.fft.rfftfreq(n, 1.0 / sample_rate)) ** 2
    # Parseval for a real FFT: interior bins stand for two (positive and negative) frequencies.
    doubling = np.full(weights.shape, 2.0)
    doubling[0] = 1.0
    if n % 2 == 0:
        doubling[-1] = 1.0
    power = np.sum(np.abs(spectrum) ** 2 * weights * doubling, axis=-1) / n**2
    return np.sqrt(power)


def to_db(amplitude: np.ndarray | float) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(np.asarray(amplitude, dtype=np.float64), 1e-12))
