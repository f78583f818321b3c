"""The old arrangement: Python renders inside PortAudio's audio thread (audio layer, for comparison).

`CallbackOutput(...).start(source)` has PortAudio's audio thread call `source.render_into(block)`
for every buffer. It is kept so `latent bench xruns --arrangement callback` can measure it side
by side with the ring-fed `device.audio.pyaudio_output.CallbackOutput` that the instrument plays
through, on the same machine and server; the module doc there says why the instrument left it.

The callback is written for an audio thread: it never blocks, logs or raises (a failing source
costs one block of silence, counted in `errors`); it allocates no buffers in steady state; it
fills the whole buffer, clipped to -1..1; underruns are PortAudio's status flags. While it plays
the GIL switch interval is lowered (default 0.2 ms), because the audio thread must take the GIL
from whichever Python thread holds it before every buffer.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from device.audio.block_format import BlockFormat
from device.audio.devices import OutputDevice, open_portaudio, resolve_output_device
from device.audio.output_stats import BlockTimer, OutputStats, describe_error
from device.audio.portaudio_stream import choose_format, open_output_stream, stream_latency
from device.audio.realtime import promote_current_thread, thread_scheduling
from device.audio.source import BlockSource, require_source
from device.audio.stream_settings import check_realtime_output_settings
from device.errors import AudioDeviceError

if TYPE_CHECKING:
    import pyaudio

_PA_CONTINUE = 0
_PA_OUTPUT_UNDERFLOW = 0x4
_PA_OUTPUT_OVERFLOW = 0x8
_UNDERRUN_FLAGS = _PA_OUTPUT_UNDERFLOW | _PA_OUTPUT_OVERFLOW


class CallbackOutput:
    """Plays a block source on a sound device in PortAudio callback mode.

    `device`: None (the default device), a PortAudio index, or part of a device name.
    `channels`: output channels; the mono source is copied to each. `sample_format`: "float32",
    "int16", or "auto" (float32 when the device takes it, else int16). `pa`: an initialised
    pyaudio.PyAudio to use (left open); by default one is made at start and terminated at stop.
    """

    # Set by _reset_counters (at construction and at every start), read by any thread.
    _callbacks: int
    _underruns: int
    _errors: int
    _last_error: BaseException | None
    _callback_cpu_s: float

    def __init__(self, *, sample_rate: int = 48000, frames_per_buffer: int = 128,
                 device: int | str | None = None, channels: int = 1, sample_format: str = "auto",
                 switch_interval_s: float = 0.0002, pa: pyaudio.PyAudio | None = None,
                 realtime_priority: int | None = None) -> None:
        check_realtime_output_settings(sample_rate, channels, frames_per_buffer, sample_format,
                                       switch_interval_s)
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
        self._timer = BlockTimer()
        self._reset_counters()

    # ----------------------------------------------------------------------------------- control

    def start(self, source: object) -> CallbackOutput:
        """Open the device and start calling `source.render_into` from the audio thread."""
        if self._stream is not None:
            raise AudioDeviceError("this output is already playing; stop() it before starting it again")
        self._source = require_source(source)
        self._render = self._source.render_into  # bound once: a lookup per callback would allocate
        self._pa = self._given_pa if self._given_pa is not None else open_portaudio()
        try:
            self.device = resolve_output_device(self._pa, self.requested_device, self.channels)
            self.sample_format = choose_format(self._pa, self.device, self.sample_rate, self.channels,
                                               self.requested_format)
            self._allocate_buffers()
            self._reset_counters()
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch_interval, self.switch_interval_s))
            self._stream = open_output_stream(
                self._pa, self.device, sample_rate=self.sample_rate, channels=self.channels,
                sample_format=self.sample_format, frames_per_buffer=self.frames_per_buffer,
                callback=self._callback)
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
            self._final_latency = stream_latency(stream)
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

    def __enter__(self) -> CallbackOutput:
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
        elapsed = max(0.0, end - self._started_at) if self._started_at else 0.0
        longest, p99, p999 = self._timer.interval_figures()
        return OutputStats(
            blocks=self._callbacks,
            blocks_due=elapsed * self.sample_rate / self.frames_per_buffer,
            underruns=self._underruns,
            errors=self._errors,
            elapsed_s=elapsed,
            max_render_s=self._timer.max_render,
            max_interval_s=longest, interval_p99_s=p99, interval_p999_s=p999,
            ring_frames=0,
            render_ahead_frames=0,
            output_latency_s=stream_latency(stream) if running else self._final_latency,
            render_cpu_s=self._callback_cpu_s,
            thread_restarts=0,
            last_error=describe_error(self._last_error),
            device_lost=None,
        )

    # The supervision interface of the ring-fed output: PortAudio owns this output's thread.
    device_lost: str | None = None
    thread_restarts = 0
    render_thread_alive = False

    def stalled_s(self) -> float:
        return 0.0

    def restart_if_dead(self) -> BaseException | None:
        return None

    def reset_peaks(self) -> None:
        """Forget the peak timings so far (e.g. after warm-up, when the stream start has settled)."""
        self._timer.reset_peaks()

    # ---------------------------------------------------------------------------------- callback

    def _callback(self, _in_data: object, frame_count: int, _time_info: object, status: int) -> tuple:
        arrived = time.perf_counter()
        cpu_at_start = time.thread_time()
        count = self._callbacks
        self._callbacks = count + 1
        if not count:
            self._settle_audio_thread()
        if status & _UNDERRUN_FLAGS:
            self._underruns += 1
        if frame_count != self.frames_per_buffer:
            # PortAudio promises fixed-size buffers when a size is asked for; if a host API ever
            # breaks that, keep the stream alive with silence rather than desynchronise the source.
            self._errors += 1
            self._last_error = AudioDeviceError(f"PortAudio asked for {frame_count} frames, "
                                                f"not {self.frames_per_buffer}")
            self._timer.delivered(arrived, time.perf_counter() - arrived)
            return bytes(frame_count * self.channels * self._sample_bytes), _PA_CONTINUE
        error = self._fill(self._render)
        if error is not None:
            self._errors += 1
            self._last_error = error
        self._callback_cpu_s += time.thread_time() - cpu_at_start
        self._timer.delivered(arrived, time.perf_counter() - arrived)
        return self._result

    def _settle_audio_thread(self) -> None:
        if self.realtime_priority is not None:
            self.realtime_problem = promote_current_thread(self.realtime_priority, fifo=True)
        self.audio_thread_scheduling = thread_scheduling()

    # ----------------------------------------------------------------------------------- helpers

    def _reset_counters(self) -> None:
        self._callbacks = 0
        self._underruns = 0
        self._errors = 0
        self._last_error = None
        self._timer.reset()
        self._started_at = 0.0
        self._stopped_at = 0.0
        self._final_latency = 0.0
        self._callback_cpu_s = 0.0

    def _allocate_buffers(self) -> None:
        assert self.sample_format is not None
        block = BlockFormat(self.frames_per_buffer, self.channels, self.sample_format)
        self._fill, self._sample_bytes = block.fill, block.sample_bytes
        # pyaudio copies from the returned array before the callback's GIL hold ends: one tuple, reused.
        self._result = (block.mono if block.device.base is block.mono else block.device, _PA_CONTINUE)

