"""The granular engine: plays a segment bank at the current latent point (engine layer).

Grains are drawn from the 2^N grid points around the point (multilinear weights) at the bank
pitch nearest the requested pitch, transposed by resampling, at any output rate. In "mix" mode
each grain blends the neighbours by weight (a smooth morph); in "scatter" mode each grain plays
one neighbour drawn at random by weight (a granular cloud). Per-sample work is one compiled call
per block (`device.engine.kernel.render_block`) over preallocated state (`device.engine.state`).

Control semantics:
- A grain captures point, pitch, position, jitter, window, length, level and mode at its onset;
  changes only reach grains that start afterwards, so no parameter jump can click. Output gain is
  the exception: it applies to the mix at once, ramped linearly over `GAIN_RAMP_MS`.
- Grains start every grain_ms / overlap output samples; `trigger()` (a note-on) starts one at
  the first sample of the next block and restarts that clock from there.
- A grain reads forward from its start at the transposed rate. `position` places the start within
  the range where the whole grain fits in the segment (0 = segment start, 1 = the grain ends at the
  segment end); `jitter` spreads it uniformly over that fraction of the range, reflected at its
  ends. A grain longer than the segment (at that pitch) starts at the beginning and bounces
  between the segment's ends instead of running past them.
- Freeze (`set_params(freeze=True)`) holds the *source* of new grains: the latent point, the pitch
  and the read position as they are once the call that sets freeze has been applied. While frozen,
  `set_point`, `set_pitch` and `position` are still accepted and remembered (and count as
  changes), but new grains keep using the held values; grain_ms, overlap, jitter, window, gain and
  mode keep following. Releasing freeze makes new grains use the latest point, pitch and position.
- Every setter call that changes something (and every `trigger()`) increments `generation`.
  `onset_of(g)` is the absolute output-sample index of the first grain onset made with
  generation g or newer (None until one has happened): the instant that change became audible
  in new grains, which is what the app measures control-to-sound latency with.
- Setters may run on another thread than `render_into`: each publishes the whole control vector
  with one array copy under the GIL, and the kernel runs holding the GIL, so a block sees all of a
  change or none of it.

Output limiter: every block, live or offline, passes last through a peak limiter
(`device.engine.kernel.limit`) whose ceiling is set when the engine is built (default -1 dBFS;
settings in `device.engine.limiter`) and may be moved while playing (`set_ceiling`). No bank and
no parameter setting (gain 4, 256 overlapping grains, scales of 1000) can push a sample past it:
the gain drops at once where needed, holds for `LIMITER_HOLD_MS` and returns to unity with a
`LIMITER_RELEASE_MS` time constant (in dB); material under the ceiling passes bit for bit. NaN or
infinite samples play as silence; `nonfinite_samples` and `last_block_nonfinite` keep them visible
(the store's trial reads the latter through the app's audio tap), `limited_samples` says how much
the limiter worked.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from device.bundle.codecs import decode_table
from device.bundle.reader import SegmentBank
from device.engine.engine_core import EngineCore, check_output_block, onset_in_ring
from device.engine.kernel import render_block
from device.engine.limiter import (
    DEFAULT_CEILING,
    float32_ceiling,
    hold_samples,
    release_factor,
)
from device.engine.params import (
    DEFAULT_SAMPLE_RATE,
    GrainParams,
    changed_params,
    check_int,
    check_midi,
    check_point,
)
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
    CTRL_SIZE,
    F_GAIN,
    F_GAIN_TARGET,
    MAX_AXES,
    ONSET_RING,
    S_ACTIVE,
    S_DROPPED,
    S_RING,
    S_RING_COUNT,
    S_SAMPLES,
    allocate_state,
)
from device.engine.windows import WINDOW_NAMES, window_means, window_tables
from device.errors import EngineError

GAIN_RAMP_MS = 10.0
CODE_DTYPES = (np.dtype("<i2"), np.dtype("u1"))


def _frozen_view(array: np.ndarray) -> np.ndarray:
    """A read-only view: the kernel is compiled for read-only banks whatever the caller passed."""
    view = array.view()
    view.flags.writeable = False
    return view


class GranularEngine(EngineCore):
    """Renders grains from a `SegmentBank`; see the module docstring for the control semantics."""

    def __init__(self, bank: SegmentBank, *, sample_rate: int = DEFAULT_SAMPLE_RATE, max_grains: int = 64,
                 seed: int = 0, ceiling: float = DEFAULT_CEILING) -> None:
        """`ceiling`: the output limiter's ceiling, a linear level (default -1 dBFS)."""
        self._rate = check_int("sample_rate", sample_rate, 8000, 384000)
        self._max_grains = check_int("max_grains", max_grains, 8, 4096)
        seed = check_int("seed", seed, 0, 2**63 - 1)
        ceiling = float32_ceiling(ceiling)
        segments = bank.segments
        n_axes = segments.ndim - 2
        if not 1 <= n_axes <= MAX_AXES:
            raise EngineError(f"the engine plays banks of 1..{MAX_AXES} latent axes; this one has "
                              f"segments shaped {segments.shape}")
        if segments.dtype not in CODE_DTYPES:
            raise EngineError(f"segment codes of dtype {segments.dtype} cannot be played; the engine "
                              "reads int16 or mulaw8 (uint8) banks")
        frames = int(segments.shape[-1])
        self._bank = bank
        self._pitches = tuple(int(p) for p in bank.pitches)
        self._axis_names = tuple(axis.name for axis in bank.axes)
        self._steps = tuple(int(n) for n in segments.shape[:-2])
        self._bank_rate = int(bank.sample_rate)
        codes = np.ascontiguousarray(segments.reshape(-1, frames))
        scales = np.ascontiguousarray(bank.scales, dtype=np.float32).reshape(-1)
        lookup = segments.dtype == np.dtype("u1")
        table = np.ascontiguousarray(bank.decode_table, dtype=np.float32)
        if table.shape != ((256,) if lookup else (1,)):
            raise EngineError(f"decode table of shape {table.shape} does not match {segments.dtype} codes")
        self._windows = window_tables()
        self._window_means = window_means(self._windows)
        self._state = allocate_state(
            steps=self._steps, n_pitches=len(self._pitches), frames=frames, lookup=lookup,
            ramp_samples=round(GAIN_RAMP_MS * self._rate / 1000.0), max_grains=self._max_grains,
            seed=seed, max_step=self._bank_rate / self._rate * 2.0 ** ((127 - self._pitches[0]) / 12.0),
            ceiling=ceiling, release=release_factor(self._rate), hold_samples=hold_samples(self._rate),
        )
        self._limiter_si, self._limiter_sf = self._state.si, self._state.sf
        self._params = GrainParams()
        self._point: tuple[float, ...] = (0.5,) * n_axes
        self._pitch = float(self._pitches[len(self._pitches) // 2])
        self._held: tuple[tuple[float, ...], float, float] | None = None
        self._generation = 0
        self._triggers = 0
        self._staged = np.zeros(CTRL_SIZE, dtype=np.float64)
        self._state.sf[F_GAIN] = self._state.sf[F_GAIN_TARGET] = self._params.gain
        self._publish()
        self._kernel_args = (_frozen_view(codes), table, self._windows, _frozen_view(scales),
                             *self._state)

    # ----- controls -------------------------------------------------------------------------

    def set_point(self, coords: Sequence[float]) -> None:
        """Move to a latent point: one 0..1 value per bank axis; missing trailing axes sit at 0.5."""
        point = check_point(coords, self._axis_names, "bank")
        if point != self._point:
            self._point = point
            self._changed()

    def set_pitch(self, midi: float) -> None:
        """Play at a MIDI pitch (fractional allowed): the nearest bank pitch, transposed by resampling."""
        pitch = check_midi(midi)
        if pitch != self._pitch:
            self._pitch = pitch
            self._changed()

    def set_params(self, **fields: Any) -> None:
        """Change grain parameters (names: those of `GrainParams`); all or nothing.

        Values may be of any type: `GrainParams` checks each one and refuses the whole change."""
        new = changed_params(self._params, fields)
        needed = math.ceil(new.overlap) + 2
        if needed > self._max_grains:
            raise EngineError(f"overlap {new.overlap:g} needs up to {needed} grain slots but this engine "
                              f"has max_grains={self._max_grains}; lower overlap or build the engine "
                              "with more grains")
        if new == self._params:
            return
        if new.freeze and not self._params.freeze:
            self._held = (self._point, self._pitch, new.position)
        elif not new.freeze:
            self._held = None
        self._params = new
        self._changed()

    def trigger(self) -> None:
        """Note-on: start a grain at the first sample of the next block."""
        self._triggers += 1
        self._changed()

    # ----- rendering ------------------------------------------------------------------------

    def render_into(self, out: np.ndarray) -> None:
        """Fill `out` (1-D, contiguous, writeable float32) with the next len(out) samples."""
        check_output_block(out)
        render_block(out, *self._kernel_args)

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) the kernel for both codecs and both modes.

        Runs on throwaway state, so this engine's output, counters and generation are untouched.
        """
        for dtype, codec in ((np.dtype("<i2"), "int16"), (np.dtype("u1"), "mulaw8")):
            codes = _frozen_view(np.zeros((2, 64), dtype=dtype))
            scales = _frozen_view(np.ones(2, dtype=np.float32))
            table = np.ascontiguousarray(decode_table(codec), dtype=np.float32)
            out = np.zeros(64, dtype=np.float32)
            for scatter in (0.0, 1.0):
                state = allocate_state(steps=(2,), n_pitches=1, frames=64, lookup=dtype.itemsize == 1,
                                       ramp_samples=16, max_grains=4, seed=0)
                state.ctrl[:] = self._staged
                state.ctrl[C_POINT] = 0.5
                state.ctrl[C_PITCH_INDEX] = 0
                state.ctrl[C_STEP] = 2.0  # the grain outruns the tiny segment: the reflecting path
                state.ctrl[C_GRAIN_LEN] = 100
                state.ctrl[C_INTERVAL] = 50
                state.ctrl[C_SCATTER] = scatter
                state.ctrl[C_TRIGGERS] = 1
                for _ in range(4):
                    render_block(out, codes, table, self._windows, scales, *state)
                    state.ctrl[C_GAIN] = 0.5

    # ----- observation ----------------------------------------------------------------------

    @property
    def samples_rendered(self) -> int:
        return int(self._state.si[S_SAMPLES])

    @property
    def active_grains(self) -> int:
        """Grains still sounding at the end of the last block."""
        return int(self._state.si[S_ACTIVE])

    @property
    def dropped_grains(self) -> int:
        """Onsets skipped because every grain slot was busy (stays 0 unless triggers pile up)."""
        return int(self._state.si[S_DROPPED])

    @property
    def bank(self) -> SegmentBank:
        return self._bank

    def onset_of(self, generation: int) -> int | None:
        """Output-sample index of the first grain onset made with `generation` or a newer one."""
        generation = check_int("generation", generation, 0, self._generation)
        si = self._state.si
        return onset_in_ring(si, int(si[S_RING_COUNT]), S_RING, ONSET_RING, generation)

    # ----- internals ------------------------------------------------------------------------

    def _pitch_source(self, midi: float) -> tuple[int, float]:
        """Nearest bank pitch index and the resampling step (bank frames per output sample)."""
        pitches = self._pitches
        i = bisect.bisect_left(pitches, midi)
        if i == len(pitches) or (i > 0 and midi - pitches[i - 1] <= pitches[i] - midi):
            i -= 1
        return i, self._bank_rate / self._rate * 2.0 ** ((midi - pitches[i]) / 12.0)

    def _publish(self) -> None:
        params = self._params
        point, pitch, position = self._held or (self._point, self._pitch, params.position)
        window = WINDOW_NAMES.index(params.window)
        length = max(1, round(params.grain_ms * self._rate / 1000.0))
        pitch_index, step = self._pitch_source(pitch)
        staged = self._staged
        staged[C_POINT:C_POINT + len(point)] = point
        staged[C_PITCH_INDEX] = pitch_index
        staged[C_STEP] = step
        staged[C_GRAIN_LEN] = length
        staged[C_INTERVAL] = length / params.overlap
        staged[C_POSITION] = position
        staged[C_JITTER] = params.jitter
        staged[C_WINDOW] = window
        staged[C_SCATTER] = 1.0 if params.mode == "scatter" else 0.0
        staged[C_GAIN] = params.gain
        # Regular onsets keep sum(envelopes) near overlap x mean(window): divide it out so density
        # changes texture, not loudness (never amplify sparse grains).
        staged[C_GRAIN_AMP] = 1.0 / max(1.0, params.overlap * float(self._window_means[window]))
        staged[C_GENERATION] = self._generation
        staged[C_TRIGGERS] = self._triggers
        self._state.ctrl[:] = staged  # one copy under the GIL: the kernel sees all of it or none
