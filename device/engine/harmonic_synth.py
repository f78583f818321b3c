"""The harmonic-plus-noise synthesiser of the rnn engine, compiled (engine layer, numba).

A port of host_tools/gan/harmonic_synth.py's HarmonicNoiseSynth that renders control frames (the
rnn bundle's `controls`, device/bundle/rnn_format.py) at any output rate, block by block, with
continuous phase and noise across blocks and nothing allocated once built. It is dumb on purpose:
it renders exactly what the controls say, so the model's training target and the Pi's sound agree.

- Frames arrive through a ring (`ring`, one row per frame: generation, f0 in Hz, amplitude, the
  harmonic distribution, the noise magnitudes), written by whoever runs the model (the rnn engine
  through device/engine/rnn_stage.store_frame, or `write_frame`); `sync[0]` counts
  the rows written. The synth plays from frame a toward frame b, one frame every `frame_hop`
  model-rate samples (4 ms), interpolating every control linearly between them as the host does.
  When b is reached and no new row is there, it either holds (the threaded engine: the sound
  stays on the last frame, nothing is dropped) or returns early so the caller can make one
  (offline rendering: deterministic).
- Harmonics: amplitude x distribution_k x sin(phase_k), phases kept in float64 cycles across
  blocks. Inside a chunk of at most MAX_CHUNK samples each oscillator is a rotation (4 multiplies
  per sample, vectorised across harmonics) started from the exact phase: no sin per sample, no
  drift. Harmonics at or above the bundle's Nyquist (or the output's) are skipped: the model gives
  them nothing, and at a low output rate they would alias.
- Noise: as the host makes it, per noise frame a random complex spectrum times the magnitudes,
  inverse DFT, Hann window, overlap-add at half overlap divided by the window-square sum (torch's
  istft). At an output rate above the model's the DFT is longer by the rate ratio, so its bins keep
  the host's ~125 Hz spacing; bins above nyquist_hz stay empty and the spectrum is scaled so the
  noise has the host's level per hertz. The magnitudes of a noise frame are those of the moment
  it is made, half a window before its centre (the host uses its centre's: 4 ms earlier here).
- Every finished block passes through the granular engine's output limiter (`kernel.limit`), the
  same ceiling, hold, release and NaN handling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from device.engine.kernel import limit
from device.engine.limiter import DEFAULT_CEILING, float32_ceiling, hold_samples, release_factor
from device.engine.state import limiter_arrays, rng_state
from device.errors import EngineError

MAX_CHUNK = 64  # samples per oscillator chunk: f0 is taken at the chunk's middle
RING_SLOTS = 16
ONSET_RING = 64

# Columns of a ring row.
R_GEN = 0  # generation of the controls the frame was made from (see RnnEngine.onset_of)
R_F0 = 1  # fundamental in Hz
R_AMP = 2
R_DIST = 3  # then the harmonic distribution, then the noise magnitudes

# si: int64
I_HARMONICS = 0
I_BANDS = 1
I_NOISE_N = 2  # DFT length of a noise frame at the output rate
I_NOISE_BINS = 3  # bins that can be non-zero (up to nyquist_hz)
I_TAKEN = 4  # ring rows taken so far: the next one is row I_TAKEN % RING_SLOTS
I_SAMPLES = 5
I_HELD = 6  # frame periods played on a held frame because the next one was late
I_NOISE_LEFT = 7  # samples of the current noise hop still to play
I_RNG = 8
I_ONSETS = 9  # onset records written ever
I_TARGET_GEN = 10  # generation of frame b
I_ONSET_RING = 11  # ONSET_RING pairs (generation, output sample where frame b with it became the target)
SI_LEN = I_ONSET_RING + 2 * ONSET_RING

# sf: float64
S_RATE = 0
S_SEG = 1  # output samples per control frame
S_POS = 2  # output samples since frame a
S_NYQ = 3  # highest harmonic frequency rendered
SF_LEN = 4


@njit(cache=True, fastmath=True)
def _uniform(si):
    """xorshift64* in (0, 1]: the synth's private, seeded stream (never 0: Box-Muller takes its log)."""
    x = np.uint64(si[I_RNG])
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    si[I_RNG] = np.int64(x)
    return ((x * np.uint64(0x2545F4914F6CDD1D) >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)


@njit(cache=True, fastmath=True)
def _take_frame(ring, sync, si, sf, a, b, hold):
    """Move on to the next frame (a <- b, b <- the next ring row); False when there is none and
    the caller wants to make it (hold=False)."""
    taken = si[I_TAKEN]
    width = a.shape[0]
    if taken < sync[0]:
        row = taken % ring.shape[0]
        for i in range(width):
            a[i] = b[i]
            b[i] = ring[row, i]
        si[I_TAKEN] = taken + 1
        if taken == 0:
            # The first frame fades in from silence at its own pitch (no click, no glide from 0 Hz).
            for i in range(width):
                a[i] = b[i]
            a[R_AMP] = 0.0
            for i in range(R_DIST + si[I_HARMONICS], width):
                a[i] = 0.0
        gen = np.int64(b[R_GEN])
        if gen != si[I_TARGET_GEN]:
            si[I_TARGET_GEN] = gen
            slot = I_ONSET_RING + 2 * (si[I_ONSETS] % ONSET_RING)
            si[slot] = gen
            si[slot + 1] = si[I_SAMPLES]
            si[I_ONSETS] += 1
    elif hold:
        for i in range(width):
            a[i] = b[i]
        si[I_HELD] += 1
    else:
        return False
    sf[S_POS] -= sf[S_SEG]
    return True


@njit(cache=True, fastmath=True)
def _harmonics(out, start, m, si, sf, a, b, phase, osc):
    """Add m samples of the harmonic part at out[start:]."""
    harmonics = si[I_HARMONICS]
    seg = sf[S_SEG]
    pos = sf[S_POS]
    t0 = pos / seg
    f0 = a[R_F0] + (b[R_F0] - a[R_F0]) * (pos + 0.5 * m) / seg
    step = f0 / sf[S_RATE]  # cycles per sample of the fundamental
    sn, cs, cr, sr, amp, damp = osc[0], osc[1], osc[2], osc[3], osc[4], osc[5]
    count = 0
    if f0 > 0.0:
        for k in range(harmonics):
            if (k + 1) * f0 >= sf[S_NYQ]:
                break
            ga = a[R_AMP] * a[R_DIST + k]
            gb = b[R_AMP] * b[R_DIST + k]
            two_pi_phase = 2.0 * math.pi * phase[k]
            w = 2.0 * math.pi * (k + 1) * step
            sn[count] = math.sin(two_pi_phase)
            cs[count] = math.cos(two_pi_phase)
            cr[count] = math.cos(w)
            sr[count] = math.sin(w)
            amp[count] = ga + (gb - ga) * t0
            damp[count] = (gb - ga) / seg
            count += 1
    for j in range(m):
        acc = np.float32(0.0)
        fj = np.float32(j)
        for c in range(count):
            acc += (amp[c] + fj * damp[c]) * sn[c]
            s_next = sn[c] * cr[c] + cs[c] * sr[c]
            cs[c] = cs[c] * cr[c] - sn[c] * sr[c]
            sn[c] = s_next
        out[start + j] += acc
    for k in range(harmonics):
        p = phase[k] + m * (k + 1) * step
        phase[k] = p - math.floor(p)


@njit(cache=True, fastmath=True)
def _noise_frame(si, sf, a, b, t, bands_at, band_frac, dft_cos, dft_sin, window, norm, tail, seg_out,
                 spec_re, spec_im):
    """Make the next noise hop: a random spectrum shaped by the magnitudes at interpolation point t."""
    harmonics = si[I_HARMONICS]
    bins = si[I_NOISE_BINS]
    n = si[I_NOISE_N]
    hop = n // 2
    base = R_DIST + harmonics
    for j in range(bins):
        lo = bands_at[j]
        fr = band_frac[j]
        ma = a[base + lo] * (1.0 - fr) + a[base + lo + 1] * fr
        mb = b[base + lo] * (1.0 - fr) + b[base + lo + 1] * fr
        mag = ma + (mb - ma) * t
        radius = math.sqrt(-2.0 * math.log(_uniform(si)))
        angle = 2.0 * math.pi * _uniform(si)
        # dft_* carry the irfft's 1/n, the factor 2 of the mirrored bins and the level scale.
        spec_re[j] = mag * radius * math.cos(angle)
        spec_im[j] = mag * radius * math.sin(angle)
    for i in range(n):
        acc = 0.0
        for j in range(bins):
            acc += spec_re[j] * dft_cos[i, j] - spec_im[j] * dft_sin[i, j]
        value = acc * window[i]
        if i < hop:
            seg_out[i] = (tail[i] + value) * norm[i]
        else:
            tail[i - hop] = value
    si[I_NOISE_LEFT] = hop


@njit(cache=True, fastmath=True)
def _noise(out, start, m, si, sf, a, b, bands_at, band_frac, dft_cos, dft_sin, window, norm, tail,
           seg_out, spec_re, spec_im):
    hop = si[I_NOISE_N] // 2
    j = 0
    while j < m:
        if si[I_NOISE_LEFT] == 0:
            t = (sf[S_POS] + j) / sf[S_SEG]
            _noise_frame(si, sf, a, b, t, bands_at, band_frac, dft_cos, dft_sin, window, norm, tail,
                         seg_out, spec_re, spec_im)
        left = si[I_NOISE_LEFT]
        take = min(left, m - j)
        first = hop - left
        for i in range(take):
            out[start + j + i] += seg_out[first + i]
        si[I_NOISE_LEFT] = left - take
        j += take


@njit(cache=True, fastmath=True)
def synth_block(out, start, hold, ring, sync, si, sf, a, b, phase, osc, bands_at, band_frac, dft_cos,
                dft_sin, window, norm, tail, seg_out, spec_re, spec_im, lim_si, lim_sf):
    """Render out[start:]; returns how far it got (len(out) unless hold is False and a frame is missing).

    The block is finished (limited, counted) only when the call reaches its end."""
    n = out.shape[0]
    for i in range(start, n):
        out[i] = 0.0
    done = start
    while done < n:
        if sf[S_POS] >= sf[S_SEG] and not _take_frame(ring, sync, si, sf, a, b, hold):
            return done
        m = min(n - done, MAX_CHUNK, max(1, math.ceil(sf[S_SEG] - sf[S_POS])))
        _harmonics(out, done, m, si, sf, a, b, phase, osc)
        _noise(out, done, m, si, sf, a, b, bands_at, band_frac, dft_cos, dft_sin, window, norm, tail,
               seg_out, spec_re, spec_im)
        sf[S_POS] += m
        si[I_SAMPLES] += m
        done += m
    limit(out, lim_si, lim_sf)
    return done


def noise_dft_length(output_rate: int, model_rate: int, noise_bands: int) -> int:
    """An even DFT length whose bins at the output rate are spaced as the host's are at the model rate."""
    host_n = 2 * (noise_bands - 1)
    return max(4, 2 * round(host_n * output_rate / model_rate / 2))


class HarmonicSynth:
    """State and frame ring of one synthesiser at one output rate (see the module docstring)."""

    def __init__(self, *, output_rate: int, model_rate: int, frame_hop: int, harmonics: int,
                 noise_bands: int, nyquist_hz: float, seed: int = 0,
                 ceiling: float = DEFAULT_CEILING) -> None:
        if harmonics < 1 or noise_bands < 2 or frame_hop < 1 or not 0 < nyquist_hz <= model_rate / 2:
            raise EngineError(f"synthesiser settings out of range: {harmonics} harmonics, {noise_bands} "
                              f"noise bands, hop {frame_hop}, nyquist {nyquist_hz} at {model_rate} Hz")
        self.output_rate, self.model_rate = int(output_rate), int(model_rate)
        self.harmonics, self.noise_bands = int(harmonics), int(noise_bands)
        self.width = R_DIST + harmonics + noise_bands
        self.ring = np.zeros((RING_SLOTS, self.width), dtype=np.float64)
        self.sync = np.zeros(1, dtype=np.int64)
        self.si = np.zeros(SI_LEN, dtype=np.int64)
        self.sf = np.zeros(SF_LEN, dtype=np.float64)
        self.a = np.zeros(self.width, dtype=np.float64)
        self.b = np.zeros(self.width, dtype=np.float64)
        self.phase = np.zeros(harmonics, dtype=np.float64)
        self.osc = np.zeros((6, harmonics), dtype=np.float32)
        n = noise_dft_length(self.output_rate, self.model_rate, noise_bands)
        spacing = self.output_rate / n
        bins = min(n // 2, math.floor(nyquist_hz / spacing + 1e-9)) + 1
        freqs = np.arange(bins) * spacing
        position = np.minimum(freqs / nyquist_hz * (noise_bands - 1), noise_bands - 1 - 1e-9)
        self.bands_at = np.floor(position).astype(np.int64)
        self.band_frac = position - self.bands_at
        # Level: the host's bins are (model_rate / host_n) Hz apart and its irfft divides by host_n;
        # keep the noise power per hertz: scale the spectrum by (n / host_n) * sqrt(spacing ratio).
        host_n = 2 * (noise_bands - 1)
        scale = (n / host_n) * math.sqrt(spacing / (self.model_rate / host_n))
        weights = np.full(bins, 2.0)
        weights[0] = 1.0
        if bins - 1 == n // 2:
            weights[-1] = 1.0
        angles = 2.0 * np.pi * np.outer(np.arange(n), np.arange(bins)) / n
        # sqrt(2): the host draws real and imaginary parts with variance 1/2 each (randn / sqrt 2).
        factor = weights * scale / n / math.sqrt(2.0)
        self.dft_cos = np.ascontiguousarray(np.cos(angles) * factor)
        self.dft_sin = np.ascontiguousarray(np.sin(angles) * factor)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann, as torch's
        hop = n // 2
        self.norm = 1.0 / (self.window[:hop] ** 2 + self.window[hop:] ** 2)
        self.tail = np.zeros(hop, dtype=np.float64)
        self.seg_out = np.zeros(hop, dtype=np.float64)
        self.spec_re = np.zeros(bins, dtype=np.float64)
        self.spec_im = np.zeros(bins, dtype=np.float64)
        si, sf = self.si, self.sf
        si[I_HARMONICS], si[I_BANDS], si[I_NOISE_N], si[I_NOISE_BINS] = harmonics, noise_bands, n, bins
        si[I_RNG] = rng_state(seed)
        si[I_TARGET_GEN] = -1
        sf[S_RATE] = self.output_rate
        sf[S_SEG] = frame_hop * self.output_rate / self.model_rate
        sf[S_POS] = sf[S_SEG]  # the first call takes a frame at once
        sf[S_NYQ] = min(float(nyquist_hz), self.output_rate / 2)
        self.lim_si, self.lim_sf = limiter_arrays(float32_ceiling(ceiling), release_factor(self.output_rate),
                                                  hold_samples(self.output_rate))
        self._args = (self.ring, self.sync, si, sf, self.a, self.b, self.phase, self.osc, self.bands_at,
                      self.band_frac, self.dft_cos, self.dft_sin, self.window, self.norm, self.tail,
                      self.seg_out, self.spec_re, self.spec_im, self.lim_si, self.lim_sf)

    @property
    def frames_taken(self) -> int:
        return int(self.si[I_TAKEN])

    @property
    def frames_written(self) -> int:
        return int(self.sync[0])

    def write_frame(self, generation: int, f0_hz: float, controls: np.ndarray, gain: float = 1.0) -> None:
        """Append one frame (controls: amplitude, distribution, noise magnitudes) to the ring, its
        amplitude and noise scaled by `gain`. The caller keeps fewer than RING_SLOTS - 1 frames
        ahead of `frames_taken` (the kernel reads the row after the one it plays toward)."""
        row = self.ring[int(self.sync[0]) % RING_SLOTS]
        row[R_GEN] = generation
        row[R_F0] = f0_hz
        row[R_AMP:] = controls
        if gain != 1.0:
            row[R_AMP] *= gain
            row[R_DIST + self.harmonics:] *= gain
        self.sync[0] += 1  # published last: the kernel never sees a half-written row

    def render(self, out: np.ndarray, start: int, hold: bool) -> int:
        return int(synth_block(out, start, hold, *self._args))
