"""The rnn engine: a frame-rate GRU (onnxruntime) drives the compiled harmonic-plus-noise synth
(engine layer).

Behind the same interface as the granular engine (set_point / set_pitch / set_params / trigger /
render_into / warm_up and its counters), so the app, the store's trial and the crossfade treat
both alike. Per 4 ms control frame the model maps (x, y, pitch, loudness) and its GRU state to the
head's raw outputs (device/bundle/rnn_format.py), which the compiled output stage
(device/engine/rnn_stage.py) makes into the synthesiser's controls straight in its frame ring;
`device.engine.harmonic_synth` renders them at the output rate. The GRU state carries across
frames and blocks; nothing is allocated per frame or per block once built (inputs and outputs are
bound to fixed arrays).

Two modes, one sound:
- threaded (live): a model thread keeps `lead_frames` of controls ahead of the audio in the
  synth's frame ring and never runs inside the audio callback. If it misses a deadline the synth
  holds the last frame (counted in `frames_held`); audio is never dropped. With
  `realtime_priority` (`latent play --realtime`) the thread puts itself in a real-time class
  (device.audio.realtime, below the render thread); a refusal is kept in `realtime_problem` for the
  app to report, and the thread runs on at normal priority.
- synchronous (offline renders, tests; the default): render_into makes each frame the moment the
  synth needs it, so a render is a pure function of the calls made between blocks.

Controls:
- set_point(x, y): 0..1 each (missing ones sit at 0.5); the model sees 2 * v - 1.
- set_pitch(midi): clamped to the bundle's trained range; the synth's f0 is the same clamped pitch.
- set_params(**fields): the granular engine's fields are all accepted and checked (a mapping or
  preset made for a bank plays here too); only `gain` acts. Gain is a linear level: its dB from
  -60 to 0 become the model's loudness input (0..1, the level relative to the note's peak the
  model was trained with, so a soft note also sounds soft in timbre); what the loudness cannot
  say (below -60 dB, down to silence at 0, and above unity, up to the parameter's 4) scales the
  frame's amplitude and noise. Both arrive with the next frame and are interpolated across it.
- trigger(): counted as a change (a note-on's loudness comes from the mapper's gain envelope).
Every change increments `generation`; `onset_of(g)` is the output sample where the synth started
moving toward the first frame made with generation g or newer: what the bench measures control
response with. A model that produces NaN or infinite values is counted (`model_faults`), its GRU
state is reset, and the bad controls still reach the synth, whose limiter plays them as silence
and reports them (`last_block_nonfinite`), so the store's trial rolls the bundle back.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from device.audio.realtime import promote_current_thread, thread_scheduling
from device.bundle.rnn_format import (
    COND_INPUT,
    COND_WIDTH,
    RAW_OUTPUT,
    STATE_INPUT,
    STATE_OUTPUT,
    RnnSpec,
    open_session,
)
from device.engine.engine_core import EngineCore, check_output_block, onset_in_ring
from device.engine.harmonic_synth import (
    I_HELD,
    I_ONSET_RING,
    I_ONSETS,
    I_SAMPLES,
    ONSET_RING,
    RING_SLOTS,
    S_POS,
    S_SEG,
    HarmonicSynth,
)
from device.engine.limiter import DEFAULT_CEILING
from device.engine.params import (
    DEFAULT_SAMPLE_RATE,
    GrainParams,
    changed_params,
    check_int,
    check_midi,
    check_point,
)
from device.engine.rnn_stage import store_frame
from device.errors import EngineError

LOUDNESS_RANGE_DB = 60.0  # the loudness input spans -60..0 dB (the contract with the host)
DEFAULT_LEAD_FRAMES = 1.0  # frames of controls the model thread keeps ahead of the audio
POLL_S = 0.0005  # the model thread's look at the audio's progress: under a frame's 4 ms
WARM_UP_WAIT_S = 1.0


def loudness_and_rest(gain: float) -> tuple[float, float]:
    """The model's loudness input for a linear gain, and the factor the loudness cannot express."""
    if gain <= 0.0:
        return 0.0, 0.0
    loudness = min(1.0, max(0.0, 1.0 + 20.0 * math.log10(gain) / LOUDNESS_RANGE_DB))
    return loudness, gain / 10.0 ** ((loudness - 1.0) * LOUDNESS_RANGE_DB / 20.0)


def bound_runner(session: Any, binding: Any) -> Callable[[], None]:
    """One model run over `binding`'s fixed arrays, as a call without arguments.

    Measured on this model (docs/MEASUREMENTS.md, rnn): the compiled session's own
    `run_with_iobinding` with a RunOptions made once is about 3 us (a tenth) faster per step than the
    public wrapper, which passes no options, so that onnxruntime makes default ones on every run,
    and re-checks WebGPU graph capture. Handing the public wrapper options instead doubles the step
    (its look-up of a graph id in them throws and catches inside onnxruntime on every call), so
    where an onnxruntime lacks the compiled handles the public call is made without options.
    """
    compiled, raw_binding = getattr(session, "_sess", None), getattr(binding, "_iobinding", None)
    if compiled is None or raw_binding is None or not hasattr(compiled, "run_with_iobinding"):
        return functools.partial(session.run_with_iobinding, binding)
    import onnxruntime

    options = onnxruntime.RunOptions()
    options.log_severity_level = 3  # errors only, as the session's (open_session)
    return functools.partial(compiled.run_with_iobinding, raw_binding, options)


class RnnEngine(EngineCore):
    """Plays an rnn bundle's model through the harmonic-plus-noise synth; see the module docstring."""

    def __init__(self, spec: RnnSpec, model: bytes, *, sample_rate: int = DEFAULT_SAMPLE_RATE,
                 seed: int = 0, ceiling: float = DEFAULT_CEILING, threaded: bool = False,
                 lead_frames: float = DEFAULT_LEAD_FRAMES, bundle: Any = None,
                 realtime_priority: int | None = None) -> None:
        self._rate = check_int("sample_rate", sample_rate, 8000, 384000)
        seed = check_int("seed", seed, 0, 2**63 - 1)
        self._realtime_priority = None if realtime_priority is None else \
            check_int("realtime_priority", realtime_priority, 1, 99)
        if not 0.0 <= lead_frames <= RING_SLOTS - 4:
            raise EngineError(f"lead_frames must be in 0..{RING_SLOTS - 4}, got {lead_frames!r}")
        self.spec = spec
        self._axis_names = tuple(axis.name for axis in spec.axes)
        self.bundle = bundle  # closed by close()
        self._session = open_session(model, threads=1)
        self._synth = HarmonicSynth(output_rate=self._rate, model_rate=spec.sample_rate,
                                    frame_hop=spec.frame_hop, harmonics=spec.harmonics,
                                    noise_bands=spec.noise_bands, nyquist_hz=spec.nyquist_hz, seed=seed,
                                    ceiling=ceiling)
        self._limiter_si, self._limiter_sf = self._synth.lim_si, self._synth.lim_sf
        self._cond = np.zeros((1, 1, COND_WIDTH), dtype=np.float32)
        self._state = np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)
        self._state_out = np.zeros_like(self._state)
        self._raw = np.zeros((1, 1, spec.control_width), dtype=np.float32)
        self._raw_row = self._raw[0, 0]  # a view made once (the step allocates nothing)
        self._stage = spec.stage_constants()
        self._binding = self._session.io_binding()
        for name, array in ((COND_INPUT, self._cond), (STATE_INPUT, self._state)):
            self._binding.bind_input(name, "cpu", 0, np.float32, list(array.shape), array.ctypes.data)
        for name, array in ((RAW_OUTPUT, self._raw), (STATE_OUTPUT, self._state_out)):
            self._binding.bind_output(name, "cpu", 0, np.float32, list(array.shape), array.ctypes.data)
        self._run_model = bound_runner(self._session, self._binding)
        self._params = GrainParams()
        self._point: tuple[float, float] = (0.5, 0.5)
        self._pitch = float(np.clip(60.0, spec.pitch_lo, spec.pitch_hi))
        self._generation = 0
        self._triggers = 0
        # What the model reads, published as one tuple (one reference swap: a frame sees all of a
        # change or none of it): x, y, normalised pitch, loudness, rest gain, f0 in Hz, generation.
        self._inputs: tuple[float, ...] = ()
        self._publish()
        self._frames_made = 0
        self._model_faults = 0
        self._threaded = bool(threaded)
        self._lead = float(lead_frames)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self.realtime_problem: str | None = None  # why the model thread got no real-time class
        self.model_thread_scheduling: str | None = None  # e.g. 'SCHED_RR 10', once the thread runs

    # ----- controls -------------------------------------------------------------------------

    def set_point(self, coords: Sequence[float]) -> None:
        """Move on the model's surface: up to two values in 0..1 (x, y); missing ones sit at 0.5."""
        point = check_point(coords, self._axis_names, "rnn")
        if point != self._point:
            self._point = (point[0], point[1])
            self._changed()

    def set_pitch(self, midi: float) -> None:
        """Play at a MIDI pitch (fractional allowed), clamped to the range the model was trained on."""
        clamped = min(self.spec.pitch_hi, max(self.spec.pitch_lo, check_midi(midi)))
        if clamped != self._pitch:
            self._pitch = clamped
            self._changed()

    def set_params(self, **fields: Any) -> None:
        """Change parameters (the granular engine's names, all checked); only `gain` acts here."""
        new = changed_params(self._params, fields)
        if new != self._params:
            self._params = new
            self._changed()

    def trigger(self) -> None:
        """Note-on: counted as a change; the loudness envelope comes with `gain`."""
        self._triggers += 1
        self._changed()

    # ----- rendering ------------------------------------------------------------------------

    def render_into(self, out: np.ndarray) -> None:
        """Fill `out` (1-D, contiguous, writeable float32) with the next len(out) samples."""
        check_output_block(out)
        synth = self._synth
        if self._thread is not None:
            synth.render(out, 0, True)
            return
        done = synth.render(out, 0, False)
        while done < out.shape[0]:
            self._step()
            done = synth.render(out, done, False)

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) the synth, run the model once on a copy of its state,
        and in threaded mode start the model thread. This engine's sound and counters are untouched."""
        spare = HarmonicSynth(output_rate=self._rate, model_rate=self.spec.sample_rate,
                              frame_hop=self.spec.frame_hop, harmonics=self.spec.harmonics,
                              noise_bands=self.spec.noise_bands, nyquist_hz=self.spec.nyquist_hz)
        out = np.zeros(64, dtype=np.float32)
        width = self.spec.control_width
        for _ in range(4):
            spare.write_frame(0, 220.0, np.full(width, 1.0 / width), 1.0)
        spare.render(out, 0, True)
        saved = self._state.copy()
        self._run_model()  # ORT's first run prepares its kernels
        # ... and the output stage is compiled (or loaded from numba's cache) on a spare ring, with
        # the argument types _store passes (a float generation: one specialisation, not two).
        store_frame(spare.ring, spare.sync, spare.harmonics, 0.0, 220.0, 1.0, self._raw_row,
                    float(self._cond[0, 0, 2]), self._stage, self._state_out.copy(), self._state_out)
        self._state[...] = saved
        if self._threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rnn-model", daemon=True)
            self._thread.start()
            # The stream must not start on an empty ring (a held frame of silence): wait, bounded,
            # for the thread's first frames.
            deadline = time.monotonic() + WARM_UP_WAIT_S
            while self._frames_made < 1 and self._thread_error is None and time.monotonic() < deadline:
                time.sleep(POLL_S)

    def close(self) -> None:
        """Stop the model thread and close the bundle (the engine cannot render afterwards)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self.bundle is not None:
            self.bundle.close()

    # ----- the model ------------------------------------------------------------------------

    def _step(self) -> None:
        """Run the model for one frame with the newest inputs and append the frame to the synth's ring."""
        x, y, pitch, loudness, rest, f0, generation = self._inputs
        cond = self._cond
        cond[0, 0, 0] = x
        cond[0, 0, 1] = y
        cond[0, 0, 2] = pitch
        cond[0, 0, 3] = loudness
        self._run_model()
        if not self._store(generation, f0, rest, pitch):
            # Counted; the GRU starts afresh; the bad controls still reach the synth, whose limiter
            # silences and reports them (the trial must hear of them, not a quietly patched model).
            self._model_faults += 1
        self._frames_made += 1

    def _store(self, generation: float, f0: float, gain: float, pitch: float) -> bool:
        """One compiled call after the model's run: finite check, state carried (or reset), the
        output stage run on the raw outputs into the synth's ring row, the row published."""
        synth = self._synth
        return bool(store_frame(synth.ring, synth.sync, synth.harmonics, generation, f0, gain, self._raw_row,
                                pitch, self._stage, self._state, self._state_out))

    def _run(self) -> None:
        # Promoted before its first frame, so warm_up's wait covers it; never inherited by anything.
        if self._realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self._realtime_priority)
        self.model_thread_scheduling = thread_scheduling()
        synth = self._synth
        sf = synth.sf
        try:
            while not self._stop.is_set():
                # The synth is between frames taken-2 and taken-1, pos/seg of the way; keep every
                # frame due within `lead` frames from now in the ring (never overrunning it).
                taken = synth.frames_taken
                due = taken + math.floor(sf[S_POS] / sf[S_SEG] + self._lead)
                while synth.frames_written < due and synth.frames_written - taken < RING_SLOTS - 2:
                    self._step()
                time.sleep(POLL_S)
        except BaseException as bad:  # kept for `model_thread_error`; the synth holds its last frame
            self._thread_error = bad

    # ----- observation ----------------------------------------------------------------------

    @property
    def threaded(self) -> bool:
        return self._threaded

    @property
    def model_thread_error(self) -> BaseException | None:
        """Why the model thread stopped, if it did (the synth then holds its last frame)."""
        return self._thread_error

    @property
    def samples_rendered(self) -> int:
        return int(self._synth.si[I_SAMPLES])

    @property
    def frames_made(self) -> int:
        """Control frames the model has produced."""
        return self._frames_made

    @property
    def frames_held(self) -> int:
        """Frame periods the synth held its last frame because the model thread was late."""
        return int(self._synth.si[I_HELD])

    @property
    def model_faults(self) -> int:
        """Frames whose controls or state came out NaN or infinite."""
        return self._model_faults

    def onset_of(self, generation: int) -> int | None:
        """Output sample where the synth began moving toward the first frame made with `generation`
        or newer (None until then)."""
        generation = check_int("generation", generation, 0, self._generation)
        si = self._synth.si
        return onset_in_ring(si, int(si[I_ONSETS]), I_ONSET_RING, ONSET_RING, generation)

    # ----- internals ------------------------------------------------------------------------

    def _publish(self) -> None:
        loudness, rest = loudness_and_rest(self._params.gain)
        f0 = 440.0 * 2.0 ** ((self._pitch - 69.0) / 12.0)
        self._inputs = (2.0 * self._point[0] - 1.0, 2.0 * self._point[1] - 1.0, (self._pitch - 60.0) / 24.0,
                        loudness, rest, f0, float(self._generation))
