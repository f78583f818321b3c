"""Real-time sound through PortAudio (pyaudio, callback mode) (audio layer).

`PyAudioOutput(...).start(source)` opens the device and has PortAudio's audio thread call
`source.render_into(block)` for every buffer; `stop()` closes it; `stats` counts what happened.

The callback is written for an audio thread:
- it never blocks, logs or raises: a source that raises (or returns NaN/inf) is answered with a
  block of silence and counted in `errors`, and the stream keeps running (a pyaudio callback that
  raises, or returns a short buffer, ends the stream for good);
- it allocates no buffers in steady state: the mono block, the interleaved output and the returned
  tuple are made once at start, conversion uses `out=` arguments and `np.copyto`, and the same
  `(array, paContinue)` tuple is handed back every time (pyaudio copies from the array before the
  callback's GIL hold ends). What remains are the few small objects CPython and pyaudio themselves
  make per call (a dict, some ints and floats), which come from pymalloc's pools;
- it always fills the whole buffer (a mono source is copied to every channel, e.g. a stereo HAT),
  clipped to -1..1 so a runaway source cannot drive the DAC past full scale;
- underruns are counted from PortAudio's status flags (paOutputUnderflow/paOutputOverflow; under
  JACK every xrun sets them).

Why the GIL switch interval is lowered while streaming: the callback is Python, so PortAudio's
audio thread must take the GIL before every buffer. When another Python thread (the sensor poller)
holds it, CPython makes the waiting thread wait one switch interval (5 ms by default) before it
asks the holder to let go. A buffer of 128 frames at 48 kHz lasts 2.67 ms (64 frames: 1.33 ms),
so with the default the audio thread can miss whole buffers. `switch_interval_s` (default
0.2 ms) bounds that wait; it is restored when the output stops. Measured here (JACK dummy,
48 kHz / 128, a thread holding the GIL for 3 ms of every 4): 5 ms lost about 21% of buffers,
1 ms to 0.2 ms lost 2-8% (the rest being this shared VM's own scheduling noise). A light
sensor loop (microseconds of Python per poll) costs no measurable underruns either way. The
cost of a short interval is more frequent GIL hand-overs between busy threads, which only
happen while two threads want the GIL at once.

With `realtime_priority`, the audio thread is put in SCHED_FIFO at that priority on its first
callback, unless its host API already runs it in a real-time class (JACK does, just below its
server); see `device.audio.realtime` for why the instrument's other threads need one too.

Rendering in the callback was chosen over a producer thread feeding a pre-filled ring: the
callback must take the GIL to copy from a ring anyway, so a ring adds a thread that competes for
the GIL and a ring's worth of latency, while a block renders in tens of microseconds (the
longest callback measured here is 0.1-0.6 ms, GIL hand-overs included, against a 2.67 ms
period). `latent bench audio` measures all of this on the target machine.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from device.audio.devices import (
    OutputDevice,
    describe_devices,
    list_output_devices,
    open_portaudio,
    resolve_output_device,
)
from device.audio.realtime import promote_current_thread, thread_scheduling
from device.audio.source import BlockSource, require_source
from device.audio.stream_settings import check_block_frames, check_stream_settings
from device.errors import AudioDeviceError, ConfigError

if TYPE_CHECKING:
    import pyaudio

SAMPLE_FORMATS = ("auto", "float32", "int16")
_PA_CONTINUE = 0
_PA_OUTPUT_UNDERFLOW = 0x4
_PA_OUTPUT_OVERFLOW = 0x8
_UNDERRUN_FLAGS = _PA_OUTPUT_UNDERFLOW | _PA_OUTPUT_OVERFLOW
_INT16_SCALE = np.float32(32767.0)
_ONE = np.float32(1.0)
_MINUS_ONE = np.float32(-1.0)
_INTERVAL_HISTORY = 4096  # callbacks whose spacing is kept for the jitter figures (a power of two)


@dataclass(frozen=True)
class OutputStats:
    """What a running (or stopped) PyAudioOutput has counted since it started.

    `underruns`: buffers PortAudio flagged as output underflow/overflow (an audible gap).
    `errors`: buffers the source could not supply (it raised, or gave NaN/inf) and that were
    played as silence; `last_error` describes the latest. `max_callback_s`: longest time spent
    inside the callback; `max_interval_s` / `interval_p99_s`: spacing of callback arrivals (the
    jitter the audio thread saw, GIL waits included). `cpu_load`: PortAudio's own estimate.
    """

    callbacks: int
    underruns: int
    errors: int
    elapsed_s: float
    cpu_load: float
    output_latency_s: float
    max_callback_s: float
    max_interval_s: float
    interval_p99_s: float
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PyAudioOutput:
    """Plays a block source on a sound device in PortAudio callback mode.

    `device`: None (the default device), a PortAudio index, or part of a device name.
    `channels`: output channels; the mono source is copied to each. `sample_format`: "float32",
    "int16", or "auto" (float32 when the device takes it, else int16). `pa`: an initialised
    pyaudio.PyAudio to use (left open); by default one is made at start and terminated at stop.
    """

    def __init__(self, *, sample_rate: int = 48000, frames_per_buffer: int = 128,
                 device: int | str | None = None, channels: int = 1, sample_format: str = "auto",
                 switch_interval_s: float = 0.0002, pa: pyaudio.PyAudio | None = None,
                 realtime_priority: int | None = None) -> None:
        check_stream_settings(sample_rate, channels)
        check_block_frames(frames_per_buffer)
        if sample_format not in SAMPLE_FORMATS:
            raise ConfigError(f"sample format {sample_format!r} is not one of {', '.join(SAMPLE_FORMATS)}")
        if not 0.00001 <= switch_interval_s <= 0.005:
            raise ConfigError(
                f"GIL switch interval {switch_interval_s!r} s must be between 0.00001 and 0.005 s"
            )
        self.sample_rate = sample_rate
        self.frames_per_buffer = frames_per_buffer
        self.channels = channels
        self.requested_device = device
        self.requested_format = sample_format
        self.switch_interval_s = switch_interval_s
        self.realtime_priority = realtime_priority
        self.realtime_problem: str | None = None
        self.audio_thread_scheduling: str | None = None  # known after the first callback
        self.device: OutputDevice | None = None
        self.sample_format: str | None = None
        self._given_pa = pa
        self._pa: pyaudio.PyAudio | None = None
        self._stream: Any = None
        self._source: BlockSource | None = None
        self._saved_switch_interval: float | None = None
        self._reset_counters()

    # ----------------------------------------------------------------------------------- control

    def start(self, source: object) -> PyAudioOutput:
        """Open the device and start calling `source.render_into` from the audio thread."""
        if self._stream is not None:
            raise AudioDeviceError("this output is already playing; stop() it before starting it again")
        self._source = require_source(source)
        self._render = self._source.render_into  # bound once: a lookup per callback would allocate
        self._pa = self._given_pa if self._given_pa is not None else open_portaudio()
        try:
            self.device = resolve_output_device(self._pa, self.requested_device, self.channels)
            self.sample_format = self._choose_format(self._pa, self.device)
            self._allocate_buffers()
            self._reset_counters()
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch_interval, self.switch_interval_s))
            self._stream = self._open_stream(self._pa, self.device)
            self._started_at = time.perf_counter()
            self._stream.start_stream()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the stream and release the device. Safe to call twice or after a failed start."""
        stream, self._stream = self._stream, None
        if stream is not None:
            self._final_cpu_load = self._read_cpu_load(stream)
            self._final_latency = self._read_latency(stream)
            self._stopped_at = time.perf_counter()
            try:
                stream.stop_stream()
            finally:
                stream.close()
        if self._pa is not None and self._pa is not self._given_pa:
            self._pa.terminate()
        self._pa = None
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None

    @property
    def active(self) -> bool:
        return self._stream is not None and bool(self._stream.is_active())

    def __enter__(self) -> PyAudioOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------- stats

    @property
    def stats(self) -> OutputStats:
        stream = self._stream
        running = stream is not None
        end = time.perf_counter() if running else self._stopped_at
        intervals = self._intervals[self._intervals > 0.0]  # slots not yet written since a reset are 0
        return OutputStats(
            callbacks=self._callbacks,
            underruns=self._underruns,
            errors=self._errors,
            elapsed_s=max(0.0, end - self._started_at) if self._started_at else 0.0,
            cpu_load=self._read_cpu_load(stream) if running else self._final_cpu_load,
            output_latency_s=self._read_latency(stream) if running else self._final_latency,
            max_callback_s=self._max_callback,
            max_interval_s=self._max_interval,
            interval_p99_s=float(np.percentile(intervals, 99)) if intervals.size else 0.0,
            last_error=None if self._last_error is None else f"{type(self._last_error).__name__}: "
                                                              f"{self._last_error}",
        )

    def reset_peaks(self) -> None:
        """Forget the peak timings so far (e.g. after warm-up, when the stream start has settled)."""
        self._max_callback = 0.0
        self._max_interval = 0.0
        self._intervals[:] = 0.0

    # ---------------------------------------------------------------------------------- callback

    def _callback(self, _in_data: object, frame_count: int, _time_info: object, status: int) -> tuple:
        arrived = time.perf_counter()
        count = self._callbacks
        self._callbacks = count + 1
        if not count:
            self._settle_audio_thread()
        if status & _UNDERRUN_FLAGS:
            self._underruns += 1
        if count:
            interval = arrived - self._last_arrival
            self._intervals[count & (_INTERVAL_HISTORY - 1)] = interval
            if interval > self._max_interval:
                self._max_interval = interval
        self._last_arrival = arrived
        if frame_count != self.frames_per_buffer:
            # PortAudio promises fixed-size buffers when a size is asked for; if a host API ever
            # breaks that, keep the stream alive with silence rather than desynchronise the source.
            self._errors += 1
            self._last_error = AudioDeviceError(f"PortAudio asked for {frame_count} frames, "
                                                f"not {self.frames_per_buffer}")
            return bytes(frame_count * self.channels * self._sample_bytes), _PA_CONTINUE
        mono = self._mono
        try:
            self._render(mono)
            # One BLAS dot (well under a microsecond, no temporary) catches any NaN or inf in the block.
            if not math.isfinite(mono.dot(mono)):
                raise ValueError("source produced NaN or infinite samples")
        except Exception as exc:  # any failure of the source must cost one block, never the stream
            self._errors += 1
            self._last_error = exc
            mono.fill(0.0)
        self._convert()
        took = time.perf_counter() - arrived
        if took > self._max_callback:
            self._max_callback = took
        return self._result

    def _settle_audio_thread(self) -> None:
        if self.realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self.realtime_priority, fifo=True)
        self.audio_thread_scheduling = thread_scheduling()

    # np.clip is avoided: its Python wrapper makes temporaries on every call; two ufuncs with
    # float32 scalars made once do not.
    def _clip(self) -> None:
        np.minimum(self._mono, _ONE, out=self._mono)
        np.maximum(self._mono, _MINUS_ONE, out=self._mono)

    def _convert_float_mono(self) -> None:
        self._clip()

    def _convert_float_multi(self) -> None:
        self._clip()
        np.copyto(self._interleaved, self._mono_column)

    def _convert_int16(self) -> None:
        self._clip()
        np.multiply(self._mono, _INT16_SCALE, out=self._mono)
        np.rint(self._mono, out=self._mono)
        np.copyto(self._interleaved, self._mono_column, casting="unsafe")

    # ----------------------------------------------------------------------------------- helpers

    def _reset_counters(self) -> None:
        self._callbacks = 0
        self._underruns = 0
        self._errors = 0
        self._last_error: BaseException | None = None
        self._max_callback = 0.0
        self._max_interval = 0.0
        self._last_arrival = 0.0
        self._intervals = np.zeros(_INTERVAL_HISTORY, dtype=np.float64)
        self._started_at = 0.0
        self._stopped_at = 0.0
        self._final_cpu_load = 0.0
        self._final_latency = 0.0

    def _allocate_buffers(self) -> None:
        frames = self.frames_per_buffer
        self._mono = np.zeros(frames, dtype=np.float32)
        self._mono_column = self._mono[:, None]
        if self.sample_format == "int16":
            self._interleaved = np.zeros((frames, self.channels), dtype=np.int16)
            self._convert = self._convert_int16
            self._sample_bytes = 2
        elif self.channels == 1:
            self._interleaved = self._mono[:, None]
            self._convert = self._convert_float_mono
            self._sample_bytes = 4
        else:
            self._interleaved = np.zeros((frames, self.channels), dtype=np.float32)
            self._convert = self._convert_float_multi
            self._sample_bytes = 4
        buffer = self._mono if self._interleaved.base is self._mono else self._interleaved
        self._result = (buffer, _PA_CONTINUE)

    def _choose_format(self, pa: pyaudio.PyAudio, device: OutputDevice) -> str:
        import pyaudio as _pyaudio

        candidates = ["float32", "int16"] if self.requested_format == "auto" else [self.requested_format]
        codes = {"float32": _pyaudio.paFloat32, "int16": _pyaudio.paInt16}
        reasons = []
        for name in candidates:
            try:
                pa.is_format_supported(self.sample_rate, output_device=device.index,
                                       output_channels=self.channels, output_format=codes[name])
                return name
            except ValueError as exc:
                reasons.append(f"{name}: {exc.args[0] if exc.args else exc}")
        raise AudioDeviceError(
            f"Output device {device.describe()} does not accept {self.channels}-channel "
            f"{' or '.join(candidates)} audio at {self.sample_rate} Hz ({'; '.join(reasons)}). "
            f"Try its default rate ({device.default_sample_rate:g} Hz) or another sample format."
        )

    def _open_stream(self, pa: pyaudio.PyAudio, device: OutputDevice) -> Any:
        import pyaudio as _pyaudio

        code = _pyaudio.paFloat32 if self.sample_format == "float32" else _pyaudio.paInt16
        try:
            return pa.open(rate=self.sample_rate, channels=self.channels, format=code, output=True,
                           output_device_index=device.index, frames_per_buffer=self.frames_per_buffer,
                           stream_callback=self._callback)
        except (OSError, ValueError) as exc:
            raise AudioDeviceError(
                f"Could not open output device {device.describe()} at {self.sample_rate} Hz, "
                f"{self.channels} channels, {self.frames_per_buffer}-frame buffers: {exc}. "
                "Another program may hold the device (stop it), or the settings may not suit it.\n"
                f"{describe_devices(list_output_devices(pa))}"
            ) from exc

    @staticmethod
    def _read_cpu_load(stream: Any) -> float:
        try:
            return float(stream.get_cpu_load())
        except OSError:
            return 0.0

    @staticmethod
    def _read_latency(stream: Any) -> float:
        try:
            return float(stream.get_output_latency())
        except OSError:
            return 0.0
