"""The instrument: sensors -> mapping -> engine, presented to an output as one audio source (app layer).

Threading model: the control side (sensor poll and mapping, in its own thread when live) applies
each new `ControlState` to the engine itself; the engine's setters publish a whole control vector
at once, so the render thread sees all of a change or none of it, and rendering does nothing
but render (no per-block Python objects for the controls). Every state is passed through
`device.app.control_guard` first, so nothing unplayable reaches the engine. The newest state is also
kept, so an engine swapped in later starts from it. Attribute stores and loads are atomic under
the GIL, so no lock is taken on the audio path.

Hot swap: another thread prepares a new engine (loaded, warmed up, its grains already running)
and hands it over with `swap_engine`; the render thread then renders old and new side by side for
the crossfade and retires the old one into `retired_engine` for that thread to close. No block is
skipped or delayed beyond one extra render per block during the fade.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import numpy as np

from device.app.control_guard import guard_state
from device.engine.params import DEFAULT_SAMPLE_RATE
from device.mapping.control_state import ControlState
from device.sensors.frame import SensorFrame


class SensorSource(Protocol):
    def poll(self) -> SensorFrame: ...


class FrameMapper(Protocol):
    def update(self, frame: SensorFrame) -> ControlState: ...


class Engine(Protocol):
    def set_point(self, coords: tuple[float, ...]) -> None: ...
    def set_pitch(self, midi: float) -> None: ...
    def set_params(self, **fields: object) -> None: ...
    def trigger(self) -> None: ...
    @property
    def samples_rendered(self) -> int: ...
    @property
    def last_block_nonfinite(self) -> int: ...
    def render_into(self, out: np.ndarray) -> None: ...


class Tap(Protocol):
    def write(self, block: np.ndarray, nonfinite: bool = False) -> None: ...
    def mark(self) -> None: ...


MAX_BLOCK_FRAMES = 8192


class Instrument:
    """Glue between one sensor source, one mapper and one engine (swappable while playing)."""

    def __init__(self, sensors: SensorSource, mapper: FrameMapper, engine: Engine,
                 *, tap: Tap | None = None) -> None:
        self.sensors = sensors
        self.mapper = mapper
        self.engine = engine
        self.tap = tap
        self._incoming: tuple[Engine, np.ndarray, np.ndarray, int] | None = None
        self._outgoing: Engine | None = None
        self._fade_in = self._fade_out = np.zeros(0, dtype=np.float32)
        self._fade_pos = 0
        self._fade_frames = 0
        self._scratch = np.zeros(MAX_BLOCK_FRAMES, dtype=np.float32)
        self.retired_engine: Engine | None = None
        self.swaps = 0
        self._latest: ControlState | None = None
        self.last_frame: SensorFrame | None = None
        self.polls = 0
        self.last_poll_time = 0.0
        # Output-sample index where the newest applied note-on starts (the engine starts a
        # triggered grain at the first sample of the next block): for latency measurement.
        self.last_trigger_sample = -1
        self.triggers_applied = 0
        # Serialises the control side: the sensor poll and `refresh` (a MIDI note applied between
        # polls, from the MIDI thread) both read-modify-write the engine's controls. Never taken
        # by the render thread.
        self.control_lock = threading.Lock()

    # -- control side ---------------------------------------------------------------------
    def poll(self) -> ControlState:
        """Read every sensor once, map the frame, publish the resulting state."""
        frame = self.sensors.poll()
        with self.control_lock:
            self.last_frame = frame
            state = guard_state(self.mapper.update(frame), self._latest)
            self._latest = state
            self._apply(self.engine, state)
        self.polls += 1
        self.last_poll_time = time.monotonic()
        return state

    def refresh(self, now: float) -> ControlState | None:
        """Apply the mapper's state again without a sensor poll (another control source changed,
        e.g. a MIDI note-on); needs a mapper with `remerge(now)` (device.app.control_merge)."""
        remerge = getattr(self.mapper, "remerge", None)
        if remerge is None:
            return None
        with self.control_lock:
            merged = remerge(now)
            if merged is None:
                return None
            state = guard_state(merged, self._latest)
            self._latest = state
            self._apply(self.engine, state)
        return state

    @property
    def latest_state(self) -> ControlState | None:
        return self._latest

    # -- hot swap (called from a non-audio thread) -----------------------------------------
    def swap_engine(self, engine: Engine, fade_s: float = 0.1) -> None:
        """Crossfade to `engine` (prepared by the caller) starting with the next block.

        Equal-power fade curves are built here, padded by a maximum block on both ends, so the
        audio thread only slices them. The old engine lands in `retired_engine` afterwards.
        """
        frames = max(1, round(fade_s * self.engine_sample_rate(engine)))
        phase = np.minimum(np.arange(frames + MAX_BLOCK_FRAMES, dtype=np.float64) / frames, 1.0)
        fade_in = np.sin(phase * math.pi / 2).astype(np.float32)
        fade_out = np.cos(phase * math.pi / 2).astype(np.float32)
        fade_out[frames:] = 0.0
        self._incoming = (engine, fade_in, fade_out, frames)

    @staticmethod
    def engine_sample_rate(engine: Engine) -> int:
        return int(getattr(engine, "sample_rate", DEFAULT_SAMPLE_RATE))

    @property
    def handover_pending(self) -> bool:
        return self._incoming is not None

    @property
    def swapping(self) -> bool:
        return self._incoming is not None or self._outgoing is not None

    # -- audio side -----------------------------------------------------------------------
    def render_into(self, out: np.ndarray) -> None:
        """Fill `out` with the next block (crossfading while a swapped-in engine takes over)."""
        incoming = self._incoming
        if incoming is not None and self._outgoing is None:
            self._incoming = None
            self._outgoing = self.engine
            self.engine, self._fade_in, self._fade_out, self._fade_frames = incoming
            self._fade_pos = 0
            if self._latest is not None:  # the newest state, in case a poll reached the old engine
                self._apply(self.engine, self._latest, note_on=False)
            if self.tap is not None:
                self.tap.mark()
        self.engine.render_into(out)
        # The tap carries the current engine's own sound (what a trial judges), before any fade.
        if self.tap is not None:
            # The engine plays NaN/inf as silence; the trial must still see that it made them.
            self.tap.write(out, nonfinite=self.engine.last_block_nonfinite > 0)
        if self._outgoing is not None:
            self._crossfade(out)

    def _crossfade(self, out: np.ndarray) -> None:
        outgoing = self._outgoing
        assert outgoing is not None  # only called while a swap is fading
        n = out.shape[0]
        old = self._scratch[:n]
        outgoing.render_into(old)
        pos = self._fade_pos
        np.multiply(out, self._fade_in[pos:pos + n], out=out)
        np.multiply(old, self._fade_out[pos:pos + n], out=old)
        np.add(out, old, out=out)
        self._fade_pos = pos + n
        if self._fade_pos >= self._fade_frames:
            self.retired_engine = self._outgoing
            self._outgoing = None
            self.swaps += 1

    def _apply(self, engine: Engine, state: ControlState, note_on: bool = True) -> None:
        engine.set_point(state.point)
        engine.set_pitch(state.pitch)
        if state.params:
            engine.set_params(**state.params)
        if note_on and state.trigger:
            engine.trigger()
            self.last_trigger_sample = engine.samples_rendered
            self.triggers_applied += 1
