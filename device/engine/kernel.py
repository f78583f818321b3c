"""The compiled per-block work of the granular engine (engine layer, numba).

One call of `render_block` starts the grains due in the block, renders every active grain,
applies the ramped output gain and then the output limiter (`limit`), so every block the engine
hands out, live or offline, stays within its ceiling; no Python runs per grain or per sample,
nothing is allocated. State layout: `device.engine.state`.

Why it is shaped this way (its cost: `latent bench engine`, figures in docs/MEASUREMENTS.md):
- All neighbours of a grain share one read position (they are the same pitch at other grid
  points), so each grain first mixes its neighbours' codes *at the bank rate* into `scratch` for
  the span the block needs, then resamples that one mix to the output rate. Mixing costs
  (bank frames x neighbours) instead of (output samples x neighbours x 2 taps): at 16 kHz -> 48 kHz
  that is about 6x less, and the contiguous row reads vectorise.
- Each grain captures its rows, gains, rate and envelope at onset, so a control change only
  reaches grains that start after it and always enters through an envelope that starts at zero.
- Codes are decoded inline (int16 times a scale, or a mu-law table lookup) straight from the
  memory-mapped bank; the codec scale and the segment scale are folded into the per-grain gains.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from device.engine.state import (
    C_GAIN,
    C_GENERATION,
    C_GRAIN_AMP,
    C_GRAIN_LEN,
    C_INTERVAL,
    C_JITTER,
    C_PITCH_INDEX,
    C_POINT,
    C_POSITION,
    C_SCATTER,
    C_STEP,
    C_TRIGGERS,
    C_WINDOW,
    F_CEILING,
    F_GAIN,
    F_GAIN_INC,
    F_GAIN_TARGET,
    F_LIMIT_DEPTH,
    F_LIMIT_GAIN,
    F_NEXT_ONSET,
    F_RELEASE,
    G_AXES,
    G_FRAMES,
    G_LIMIT_HOLD,
    G_LOOKUP,
    G_RAMP,
    G_STEPS,
    G_STRIDES,
    GF_ENV_STEP,
    GF_GAINS,
    GF_POS,
    GF_STEP,
    GI_ACTIVE,
    GI_AGE,
    GI_CORNERS,
    GI_LENGTH,
    GI_ROWS,
    GI_START,
    GI_WINDOW,
    MAX_CORNERS,
    ONSET_RING,
    S_ACTIVE,
    S_BLOCK_NONFINITE,
    S_DROPPED,
    S_GAIN_LEFT,
    S_LAST_GEN,
    S_LIMIT_HOLD,
    S_LIMITED,
    S_NONFINITE,
    S_RING,
    S_RING_COUNT,
    S_RNG,
    S_SAMPLES,
    S_TRIGGERS_SEEN,
)
from device.engine.windows import TABLE_POINTS

# Neighbours weighted below this (-120 dB) are skipped in mix mode: they cannot be heard.
MIN_WEIGHT = 1e-6
# A limiter depth (gain reduction in nepers) under one float32 rounding step (2^-24) is set to 0:
# from there on the samples are left untouched instead of being multiplied by 0.99999994 for ever.
UNITY_SNAP = 2.0 ** -24
# Depth after a NaN or infinite sample: -120 dB, from where the release fades the sound back in
# (a depth of infinity would never release).
FAULT_DEPTH = 6.0 * math.log(10.0)
# A sample that comes within 0.1 dB of the ceiling at the current gain shows that gain is still
# needed: it restarts the hold, so a steady tone's repeated peaks keep one steady gain.
HOLD_WITHIN = 10.0 ** (-0.1 / 20.0)


@njit(cache=True, fastmath=True)
def corner_weights(point, steps, strides, rows, weights):
    """Multilinear interpolation corners of `point` (each 0..1) on a grid of `steps` per axis.

    Writes the 2^N corner row offsets (sum of grid index x stride) and weights into `rows` and
    `weights`, corner c taking the upper neighbour on axis a when bit a of c is set; returns 2^N.
    """
    n_axes = steps.shape[0]
    count = 1 << n_axes
    for c in range(count):
        rows[c] = 0
        weights[c] = 1.0
    for a in range(n_axes):
        x = min(max(point[a], 0.0), 1.0) * (steps[a] - 1)
        low = min(int(x), steps[a] - 2)
        frac = x - low
        for c in range(count):
            if (c >> a) & 1:
                rows[c] += (low + 1) * strides[a]
                weights[c] *= frac
            else:
                rows[c] += low * strides[a]
                weights[c] *= 1.0 - frac
    return count


@njit(cache=True, fastmath=True)
def _uniform(si):
    """xorshift64* in [0, 1): a private stream per engine, so a seed reproduces a render."""
    x = np.uint64(si[S_RNG])
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    si[S_RNG] = np.int64(x)
    return (x * np.uint64(0x2545F4914F6CDD1D) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, fastmath=True)
def _reflect(v, frames):
    """Frame index of virtual position v, bouncing between the segment's ends."""
    last = frames - 1
    if 0 <= v <= last:
        return v
    period = 2 * last
    m = abs(v) % period
    return m if m <= last else period - m


@njit(cache=True, fastmath=True)
def _free_slot(gi):
    for g in range(gi.shape[0]):
        if gi[g, GI_ACTIVE] == 0:
            return g
    return -1


@njit(cache=True, fastmath=True)
def _spawn(g, offset, ctrl, si, gi, gf, scales, codec_scale):
    """Start grain slot g `offset` samples into the block with the current controls."""
    n_axes = si[G_AXES]
    rows = gi[g, GI_ROWS:GI_ROWS + MAX_CORNERS]
    gains = gf[g, GF_GAINS:GF_GAINS + MAX_CORNERS]
    count = corner_weights(ctrl[C_POINT:C_POINT + n_axes], si[G_STEPS:G_STEPS + n_axes],
                           si[G_STRIDES:G_STRIDES + n_axes], rows, gains)
    pitch = np.int64(ctrl[C_PITCH_INDEX])
    level = ctrl[C_GRAIN_AMP] * codec_scale
    used = 0
    if ctrl[C_SCATTER] != 0.0:
        u = _uniform(si)
        pick = 0
        total = 0.0
        for c in range(count):
            if gains[c] > 0.0:
                pick = c
                total += gains[c]
                if u < total:
                    break
        row = rows[pick] + pitch
        rows[0] = row
        gains[0] = level * scales[row]
        used = 1
    else:
        for c in range(count):
            if gains[c] > MIN_WEIGHT:
                row = rows[c] + pitch
                rows[used] = row
                gains[used] = gains[c] * level * scales[row]
                used += 1
    length = max(1, np.int64(ctrl[C_GRAIN_LEN]))
    step = ctrl[C_STEP]
    # Latest start from which the whole grain (plus the interpolation tap) stays in the segment.
    room = max(0.0, si[G_FRAMES] - 4.0 - length * step)
    start = ctrl[C_POSITION] + ctrl[C_JITTER] * (_uniform(si) - 0.5)
    if start < 0.0:
        start = -start
    if start > 1.0:
        start = 2.0 - start
    start = min(max(start, 0.0), 1.0)
    gi[g, GI_ACTIVE] = 1
    gi[g, GI_AGE] = 0
    gi[g, GI_LENGTH] = length
    gi[g, GI_WINDOW] = np.int64(ctrl[C_WINDOW])
    gi[g, GI_START] = offset
    gi[g, GI_CORNERS] = used
    gf[g, GF_POS] = 1.0 + start * room
    gf[g, GF_STEP] = step
    gf[g, GF_ENV_STEP] = TABLE_POINTS / length
    generation = np.int64(ctrl[C_GENERATION])
    if generation > si[S_LAST_GEN]:
        slot = S_RING + 2 * (si[S_RING_COUNT] % ONSET_RING)
        si[slot] = generation
        si[slot + 1] = si[S_SAMPLES] + offset
        si[S_RING_COUNT] += 1
        si[S_LAST_GEN] = generation


@njit(cache=True, fastmath=True)
def _premix(scratch, width, first, codes, table, lookup, rows, gains, count, frames):
    """scratch[v] = sum over the grain's rows of gain x decoded code at frame first + v."""
    if first >= 0 and first + width <= frames:
        for c in range(count):
            row = codes[rows[c]]
            gain = gains[c]
            if c == 0:
                if lookup:
                    for v in range(width):
                        scratch[v] = gain * table[row[first + v]]
                else:
                    for v in range(width):
                        scratch[v] = gain * row[first + v]
            elif lookup:
                for v in range(width):
                    scratch[v] += gain * table[row[first + v]]
            else:
                for v in range(width):
                    scratch[v] += gain * row[first + v]
        return
    for v in range(width):
        frame = _reflect(first + v, frames)
        acc = 0.0
        for c in range(count):
            code = codes[rows[c], frame]
            acc += gains[c] * (table[code] if lookup else code)
        scratch[v] = acc


@njit(cache=True, fastmath=True)
def _render_grain(g, upto, out, codes, table, windows, si, gi, gf, scratch):
    """Add grain g to out[GI_START:upto] (or until it ends); it resumes from `upto` next time."""
    start = gi[g, GI_START]
    gi[g, GI_START] = upto if upto < out.shape[0] else 0
    age = gi[g, GI_AGE]
    length = gi[g, GI_LENGTH]
    end = start + min(upto - start, length - age)
    pos = gf[g, GF_POS]
    step = gf[g, GF_STEP]
    env_step = gf[g, GF_ENV_STEP]
    win = windows[gi[g, GI_WINDOW]]
    rows = gi[g, GI_ROWS:GI_ROWS + MAX_CORNERS]
    gains = gf[g, GF_GAINS:GF_GAINS + MAX_CORNERS]
    count = gi[g, GI_CORNERS]
    frames = si[G_FRAMES]
    lookup = si[G_LOOKUP] != 0
    per_chunk = max(1, np.int64((scratch.shape[0] - 6) / step))
    k = start
    while k < end:
        chunk = min(end - k, per_chunk)
        first = np.int64(pos) - 1
        width = np.int64(pos + chunk * step) - first + 3
        _premix(scratch, width, first, codes, table, lookup, rows, gains, count, frames)
        for j in range(k, k + chunk):
            x = pos - first
            i = np.int64(x)
            f = x - i
            y0 = scratch[i - 1]
            y1 = scratch[i]
            y2 = scratch[i + 1]
            y3 = scratch[i + 2]
            sample = y1 + 0.5 * f * (y2 - y0 + f * (2.0 * y0 - 5.0 * y1 + 4.0 * y2 - y3
                                                    + f * (3.0 * (y1 - y2) + y3 - y0)))
            e = age * env_step
            w = min(np.int64(e), TABLE_POINTS - 1)
            w0 = win[w]
            out[j] += sample * (w0 + (e - w) * (win[w + 1] - w0))
            pos += step
            age += 1
        k += chunk
    gf[g, GF_POS] = pos
    gi[g, GI_AGE] = age
    if age >= length:
        gi[g, GI_ACTIVE] = 0


@njit(cache=True, fastmath=True)
def _render_all(upto, out, codes, table, windows, si, gi, gf, scratch):
    active = 0
    for g in range(gi.shape[0]):
        if gi[g, GI_ACTIVE] != 0:
            _render_grain(g, upto, out, codes, table, windows, si, gi, gf, scratch)
            active += gi[g, GI_ACTIVE]
    return active


@njit(cache=True, fastmath=True)
def _start_grain(offset, out, codes, table, windows, scales, ctrl, si, gi, gf, scratch,
                 codec_scale):
    """Start a grain at `offset`. Grains are normally rendered after all of a block's onsets are
    placed; only when every slot is busy are the sounding grains rendered up to the onset first,
    which frees those that end before it (long blocks, dense short grains)."""
    g = _free_slot(gi)
    if g < 0:
        _render_all(offset, out, codes, table, windows, si, gi, gf, scratch)
        g = _free_slot(gi)
    if g < 0:
        si[S_DROPPED] += 1
        return
    _spawn(g, offset, ctrl, si, gi, gf, scales, codec_scale)


@njit(cache=True, fastmath=True)
def _apply_gain(out, ctrl, si, sf):
    """Multiply by the output gain, moving linearly to a new target over G_RAMP samples."""
    target = ctrl[C_GAIN]
    gain = sf[F_GAIN]
    if target != sf[F_GAIN_TARGET]:
        sf[F_GAIN_TARGET] = target
        si[S_GAIN_LEFT] = si[G_RAMP]
        sf[F_GAIN_INC] = (target - gain) / si[G_RAMP]
    left = si[S_GAIN_LEFT]
    if left == 0:
        for k in range(out.shape[0]):
            out[k] *= gain
        return
    inc = sf[F_GAIN_INC]
    for k in range(out.shape[0]):
        if left > 0:
            left -= 1
            gain = target if left == 0 else gain + inc
        out[k] *= gain
    sf[F_GAIN] = gain
    si[S_GAIN_LEFT] = left


# No fastmath here: it lets the compiler assume that no value is NaN or infinite, and this is the
# function that has to find them. It must be said explicitly: a callee left unset inherits the
# fastmath of its caller (render_block), and the NaN test would be compiled away.
@njit(cache=True, fastmath=False)
def limit(out, si, sf):
    """Peak-limit the finished block in place: afterwards no |sample| exceeds the ceiling.

    Attack is instantaneous: where a sample times the current gain would pass the ceiling, the
    gain drops to ceiling / |sample| at that very sample (no look-ahead, so the bound holds sample
    by sample, for any input). The gain is then held for G_LIMIT_HOLD samples after the last
    sample that reached the ceiling at that gain, or came within HOLD_WITHIN of it (the hold
    outlasts the period of a low note, so a steady loud tone gets one steady gain instead of one
    that ripples at its own frequency), and released in the log domain: the depth
    -ln(gain) shrinks by the factor sf[F_RELEASE] every sample, so the gain returns to unity
    smoothly, at the same pace in dB however deep it went. A NaN or infinite sample plays as
    silence and sets the depth to FAULT_DEPTH (-120 dB), from where the same hold and release
    fade the sound back in. While the gain is 1 and the signal stays under the ceiling no sample
    is written, so the output is bit-identical to an unlimited render. Counts turned-down samples
    (S_LIMITED) and silenced non-finite ones (S_NONFINITE, and S_BLOCK_NONFINITE for this block).
    """
    ceiling = sf[F_CEILING]
    release = sf[F_RELEASE]
    gain = sf[F_LIMIT_GAIN]
    depth = sf[F_LIMIT_DEPTH]
    hold = si[S_LIMIT_HOLD]
    hold_samples = si[G_LIMIT_HOLD]
    limited = 0
    nonfinite = 0
    for k in range(out.shape[0]):
        if hold > 0:
            hold -= 1
        elif depth > 0.0:
            depth *= release
            if depth < UNITY_SNAP:
                depth = 0.0
                gain = 1.0
            else:
                gain = math.exp(-depth)
        x = np.float64(out[k])
        if not math.isfinite(x):
            out[k] = 0.0
            depth = FAULT_DEPTH
            gain = math.exp(-depth)
            hold = hold_samples
            nonfinite += 1
            limited += 1
            continue
        level = abs(x)
        if level * gain > ceiling:
            gain = ceiling / level
            depth = math.log(level / ceiling)
            hold = hold_samples
        elif depth > 0.0 and level * gain >= ceiling * HOLD_WITHIN:
            hold = hold_samples
        if gain < 1.0:
            y = x * gain
            # ceiling / level * level may round a hair above the ceiling: the bound is absolute.
            if y > ceiling:
                y = ceiling
            elif y < -ceiling:
                y = -ceiling
            out[k] = y
            limited += 1
    sf[F_LIMIT_GAIN] = gain
    sf[F_LIMIT_DEPTH] = depth
    si[S_LIMIT_HOLD] = hold
    si[S_LIMITED] += limited
    si[S_NONFINITE] += nonfinite
    si[S_BLOCK_NONFINITE] = nonfinite


@njit(cache=True, fastmath=True)
def render_block(out, codes, table, windows, scales, ctrl, si, sf, gi, gf, scratch):
    """Render len(out) samples: start due grains, render all active ones, apply gain and limiter."""
    n = out.shape[0]
    for k in range(n):
        out[k] = 0.0
    codec_scale = 1.0 if si[G_LOOKUP] != 0 else np.float64(table[0])
    interval = ctrl[C_INTERVAL]
    next_onset = min(sf[F_NEXT_ONSET], interval)
    triggers = np.int64(ctrl[C_TRIGGERS])
    if triggers != si[S_TRIGGERS_SEEN]:
        si[S_TRIGGERS_SEEN] = triggers
        _start_grain(0, out, codes, table, windows, scales, ctrl, si, gi, gf, scratch, codec_scale)
        next_onset = interval
    while next_onset < n:
        _start_grain(np.int64(next_onset), out, codes, table, windows, scales, ctrl, si, gi, gf, scratch,
                     codec_scale)
        next_onset += interval
    sf[F_NEXT_ONSET] = next_onset - n
    si[S_ACTIVE] = _render_all(n, out, codes, table, windows, si, gi, gf, scratch)
    _apply_gain(out, ctrl, si, sf)
    limit(out, si, sf)
    si[S_SAMPLES] += n
