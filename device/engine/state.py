"""Layout of the granular engine's state arrays, shared by the kernel and its Python owner (engine layer).

All state lives in a few preallocated numpy arrays (struct-of-arrays), so one compiled call per
block can advance every grain without allocating, and the Python side only writes numbers:

- `ctrl`  float64, written only by Python (published whole, in one copy): what new grains use.
- `si`    int64: constant bank geometry, then counters owned by the kernel, then the onset ring.
- `sf`    float64: gain ramp, onset clock and output limiter (ceiling, constant release, then
  its gain and depth), owned by the kernel.
- `gi`    int64 (max_grains, GI_SIZE): per-grain integers (activity, age, corner rows...).
- `gf`    float64 (max_grains, GF_SIZE): per-grain read position, rate and corner gains.
- `scratch` float64: one grain's neighbour mix at the bank rate, reused grain after grain; a
  grain is rendered in chunks that fit it, so any block size works.

Module-level integers are compile-time constants inside numba functions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from device.bundle.format import MAX_GRID_AXES

MAX_AXES = MAX_GRID_AXES  # one ctrl/geometry slot per latent axis a bundle may declare
MAX_CORNERS = 1 << MAX_AXES
ONSET_RING = 64
SCRATCH_FRAMES = 4096

# ctrl: float64, Python -> kernel
C_POINT = 0  # MAX_AXES slots, normalised 0..1
C_PITCH_INDEX = C_POINT + MAX_AXES
C_STEP = C_PITCH_INDEX + 1  # bank frames advanced per output sample
C_GRAIN_LEN = C_STEP + 1  # output samples
C_INTERVAL = C_GRAIN_LEN + 1  # output samples between scheduled onsets
C_POSITION = C_INTERVAL + 1
C_JITTER = C_POSITION + 1
C_WINDOW = C_JITTER + 1
C_SCATTER = C_WINDOW + 1
C_GAIN = C_SCATTER + 1
C_GRAIN_AMP = C_GAIN + 1  # per-grain level that keeps the sum of overlapping envelopes near 1
C_GENERATION = C_GRAIN_AMP + 1
C_TRIGGERS = C_GENERATION + 1  # note-on count; the kernel starts a grain when it changes
CTRL_SIZE = C_TRIGGERS + 1

# si: int64. Constant geometry first.
G_AXES = 0
G_STEPS = 1  # MAX_AXES slots
G_STRIDES = G_STEPS + MAX_AXES  # MAX_AXES slots: rows between neighbouring grid points per axis
G_FRAMES = G_STRIDES + MAX_AXES
G_LOOKUP = G_FRAMES + 1  # 1: codes index the decode table (mulaw8); 0: codes are linear (int16)
G_RAMP = G_LOOKUP + 1  # gain ramp length in samples
G_LIMIT_HOLD = G_RAMP + 1  # samples the limiter holds its gain after the last over before releasing
# Kernel counters.
S_SAMPLES = G_LIMIT_HOLD + 1  # output samples rendered so far
S_TRIGGERS_SEEN = S_SAMPLES + 1
S_RNG = S_TRIGGERS_SEEN + 1
S_ACTIVE = S_RNG + 1
S_DROPPED = S_ACTIVE + 1  # onsets skipped because every grain slot was busy
S_GAIN_LEFT = S_DROPPED + 1  # samples left in the current gain ramp
S_LAST_GEN = S_GAIN_LEFT + 1  # newest generation recorded in the onset ring
S_RING_COUNT = S_LAST_GEN + 1  # records ever written to the ring
S_LIMITED = S_RING_COUNT + 1  # output samples the limiter turned down (gain below 1), ever
S_NONFINITE = S_LIMITED + 1  # NaN or infinite samples the limiter replaced by silence, ever
S_BLOCK_NONFINITE = S_NONFINITE + 1  # the same, in the last block only (for the trial's tap)
S_LIMIT_HOLD = S_BLOCK_NONFINITE + 1  # samples of hold left before the limiter starts releasing
S_RING = S_LIMIT_HOLD + 1  # ONSET_RING pairs (generation, absolute onset sample)
SI_SIZE = S_RING + 2 * ONSET_RING

# sf: float64
F_GAIN = 0
F_GAIN_INC = 1
F_GAIN_TARGET = 2
F_NEXT_ONSET = 3  # samples from the start of the next block to the next scheduled onset
F_CEILING = 4  # limiter ceiling, linear, exactly representable in float32 (set_ceiling moves it)
F_RELEASE = 5  # per-sample factor by which the limiter's depth decays while releasing (constant)
F_LIMIT_GAIN = 6  # the limiter's current gain: 1.0 when idle
F_LIMIT_DEPTH = 7  # its gain reduction in nepers, -ln(gain): what the release decays
SF_SIZE = 8

# gi: per grain, int64
GI_ACTIVE = 0
GI_AGE = 1  # samples already rendered
GI_LENGTH = 2
GI_WINDOW = 3
GI_START = 4  # offset of its first sample within the block it starts in
GI_CORNERS = 5  # number of rows it reads (1 in scatter mode)
GI_ROWS = 6  # MAX_CORNERS slots: rows of the flattened (grid x pitch, frames) code array
GI_SIZE = GI_ROWS + MAX_CORNERS

# gf: per grain, float64
GF_POS = 0  # read position in bank frames (virtual: reflected at the segment ends when read)
GF_STEP = 1
GF_ENV_STEP = 2  # window-table points per output sample
GF_GAINS = 3  # MAX_CORNERS slots: weight x segment scale x level x codec scale
GF_SIZE = GF_GAINS + MAX_CORNERS


class EngineState(NamedTuple):
    ctrl: np.ndarray
    si: np.ndarray
    sf: np.ndarray
    gi: np.ndarray
    gf: np.ndarray
    scratch: np.ndarray


def grid_strides(steps: tuple[int, ...], n_pitches: int) -> tuple[int, ...]:
    """Rows of the flattened code array between neighbouring grid points along each axis."""
    strides = []
    stride = n_pitches
    for n in reversed(steps):
        strides.append(stride)
        stride *= n
    return tuple(reversed(strides))


def rng_state(seed: int) -> np.int64:
    """A xorshift state from any seed: never zero, and mixed so that nearby seeds differ at once."""
    return np.int64(((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0x7FFFFFFFFFFFFFFF) | 1)


def limiter_arrays(ceiling: float = 1.0, release: float = 0.0,
                   hold_samples: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fresh (si, sf) state arrays with the output limiter set up and idle (unity gain): the
    granular engine's whole state uses them, the rnn synth only their limiter slots."""
    si = np.zeros(SI_SIZE, dtype=np.int64)
    si[G_LIMIT_HOLD] = max(0, hold_samples)
    sf = np.zeros(SF_SIZE, dtype=np.float64)
    sf[F_CEILING] = ceiling
    sf[F_RELEASE] = release
    sf[F_LIMIT_GAIN] = 1.0
    return si, sf


def allocate_state(*, steps: tuple[int, ...], n_pitches: int, frames: int, lookup: bool,
                   ramp_samples: int, max_grains: int, seed: int, max_step: float = 1.0,
                   ceiling: float = 1.0, release: float = 0.0, hold_samples: int = 0) -> EngineState:
    """Fresh state for a bank of this geometry: no grains, nothing rendered, ramp and limiter idle.

    `max_step` is the largest read step (bank frames per output sample) the engine can ask for:
    the scratch must hold at least one output sample's worth of frames plus the taps. `ceiling`
    (float32-exact, 0 < ceiling <= 1), `release` (0 <= release < 1) and `hold_samples` set the
    output limiter.
    """
    si, sf = limiter_arrays(ceiling, release, hold_samples)
    si[G_AXES] = len(steps)
    si[G_STEPS:G_STEPS + len(steps)] = steps
    si[G_STRIDES:G_STRIDES + len(steps)] = grid_strides(steps, n_pitches)
    si[G_FRAMES] = frames
    si[G_LOOKUP] = int(lookup)
    si[G_RAMP] = max(1, ramp_samples)
    si[S_RNG] = rng_state(seed)
    si[S_LAST_GEN] = -1
    return EngineState(
        ctrl=np.zeros(CTRL_SIZE, dtype=np.float64),
        si=si,
        sf=sf,
        gi=np.zeros((max_grains, GI_SIZE), dtype=np.int64),
        gf=np.zeros((max_grains, GF_SIZE), dtype=np.float64),
        scratch=np.zeros(max(SCRATCH_FRAMES, math.ceil(max_step) + 16), dtype=np.float64),
    )
