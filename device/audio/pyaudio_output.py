"""Real-time sound through PortAudio: a render thread feeding PortAudio's ring (audio layer).

`PyAudioOutput(...).start(source)` opens the device as a *blocking* stream and starts a render
thread that calls `source.render_into(block)` and writes each block into PortAudio's ring;
PortAudio's own audio thread (C, never Python) copies from that ring to the device. `stop()`
closes it and never hangs; `stats` counts what happened.

Why not a Python callback in PortAudio's audio thread (`device.audio.callback_output`, the old
arrangement): every buffer would then need the GIL inside the device's deadline, so any other
Python thread holding it, and any process preempting that thread, costs a gap: beside a C client
on one JACK server (`latent bench xruns`, figures in docs/MEASUREMENTS.md) the callback dropped
more than the C client did, and far more with busy processes beside it; fed through the ring,
the device thread is C and a late render is absorbed by the ring's slack. The render thread still
competes for the GIL with the instrument's other threads, but waiting costs nothing until the
slack is used up.

Pacing: the ring is kept `render_ahead_frames` ahead of the device, not full. A blocking write
alone would fill PortAudio's whole ring (on JACK a power of two of at least three device
periods), adding its full length to every note's latency. So before each block the thread
reads how much room the ring has and sleeps until the fill drops to the target (one sleep per
block at most, far from the sub-millisecond timed waits that cost more than their work on this
VM); where the device's ring is smaller than the target, the blocking write itself paces. The
render happens as late as it can, so a control change reaches the next block heard.

Underruns are the ring running dry (the device thread found less than a period and played
silence): seen as the ring empty when the render thread comes back to it, and as a shortfall
of blocks delivered against the device's clock. Devices that report underflows to blocking
writes (ALSA) add theirs.

The render thread: renders and converts into buffers made once (the only allocation per block
is the bytes object pyaudio insists on); a source that raises or returns NaN/inf costs a block of
silence, counted in `errors`; output is clipped to -1..1. With `realtime_priority` it runs in
SCHED_FIFO. If it dies (an unexpected error), `restart_if_dead()` starts another on the same
stream. If the device stops taking audio (a JACK server killed, a USB card pulled), the
blocking write never returns: `stalled_s()` tells the supervisor, which declares the device lost.
PortAudio cannot close a stream whose device died without hanging (its JACK blocking stop waits
for the ring to drain), so `stop()` closes in a helper thread and abandons a close that does not
finish within `close_timeout_s`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from device.audio.block_format import BlockFormat
from device.audio.devices import OutputDevice, open_portaudio, resolve_output_device
from device.audio.output_stats import BlockTimer, OutputStats, describe_error
from device.audio.portaudio_stream import (
    PA_OUTPUT_UNDERFLOWED,
    blocking_layout,
    choose_format,
    open_output_stream,
    stream_latency,
)
from device.audio.realtime import promote_current_thread, thread_scheduling
from device.audio.source import require_source
from device.audio.stream_settings import check_realtime_output_settings
from device.errors import AudioDeviceError, ConfigError

if TYPE_CHECKING:
    import pyaudio

DEFAULT_RENDER_AHEAD_FRAMES = 256  # 5.3 ms at 48 kHz: four 64-frame blocks
_RING_SETTLE_S = 0.3  # longest wait for PortAudio's ring to show its size at start
_RING_POLL_S = 0.005


class PyAudioOutput:
    """Plays a block source on a sound device through a render thread and PortAudio's ring.

    `device`: None (the default device), a PortAudio index, or part of a device name.
    `channels`: output channels; the mono source is copied to each. `sample_format`: "float32",
    "int16", or "auto" (float32 when the device takes it). `frames_per_buffer`: the block the
    source renders. `render_ahead_frames`: how far ahead of the device the ring is kept (the
    latency this output adds, and the slack a late render can use). `pa`: an initialised
    pyaudio.PyAudio to use (left open); by default one is made at start and terminated at stop.
    """

    # Set by _reset_counters (at construction and at every start), read by any thread.
    _last_error: BaseException | None
    thread_error: BaseException | None
    device_lost: str | None
    _blocks: int
    _underruns: int
    _errors: int
    _primed: bool
    _dry: bool
    _cpu_before: float
    _render_cpu_s: float

    def __init__(self, *, sample_rate: int = 48000, frames_per_buffer: int = 64,
                 device: int | str | None = None, channels: int = 1, sample_format: str = "auto",
                 render_ahead_frames: int = DEFAULT_RENDER_AHEAD_FRAMES,
                 switch_interval_s: float = 0.0005, pa: pyaudio.PyAudio | None = None,
                 realtime_priority: int | None = None, close_timeout_s: float = 0.4) -> None:
        check_realtime_output_settings(sample_rate, channels, frames_per_buffer, sample_format,
                                       switch_interval_s)
        if isinstance(render_ahead_frames, bool) or not isinstance(render_ahead_frames, int) \
                or not frames_per_buffer <= render_ahead_frames <= 16 * 8192:
            raise ConfigError(f"render-ahead of {render_ahead_frames!r} frames must be a whole number from "
                              f"one block ({frames_per_buffer}) up to {16 * 8192}")
        self.sample_rate = sample_rate
        self.frames_per_buffer = frames_per_buffer
        self.channels = channels
        self.requested_device = device
        self.requested_format = sample_format
        self.render_ahead_frames = render_ahead_frames
        self.switch_interval_s = switch_interval_s
        self.realtime_priority = realtime_priority
        self.close_timeout_s = close_timeout_s
        self.realtime_problem: str | None = None
        self.audio_thread_scheduling: str | None = None  # known once the render thread runs
        self.device: OutputDevice | None = None
        self.sample_format: str | None = None
        self.stream_channels = channels
        self._given_pa = pa
        self._pa: pyaudio.PyAudio | None = None
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._saved_switch_interval: float | None = None
        self._timer = BlockTimer()
        self._reset_counters()

    # ----------------------------------------------------------------------------------- control

    def start(self, source: object) -> PyAudioOutput:
        """Open the device and start rendering `source` into it from the render thread."""
        if self._stream is not None:
            raise AudioDeviceError("this output is already playing; stop() it before starting it again")
        self._render = require_source(source).render_into
        self._pa = self._given_pa if self._given_pa is not None else open_portaudio()
        try:
            self.device = resolve_output_device(self._pa, self.requested_device, self.channels)
            self.stream_channels, wanted_format = blocking_layout(self.device, self.channels,
                                                                  self.requested_format)
            self.sample_format = choose_format(self._pa, self.device, self.sample_rate, self.stream_channels,
                                               wanted_format)
            self._allocate_buffers()
            self._reset_counters()
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch_interval, self.switch_interval_s))
            self._stream = open_output_stream(self._pa, self.device, sample_rate=self.sample_rate,
                                              channels=self.stream_channels, sample_format=self.sample_format,
                                              frames_per_buffer=self.frames_per_buffer)
            self._write_raw = _raw_writer(self._stream)
            self._available = self._stream.get_write_available
            self._stopping.clear()
            self._started_at = time.perf_counter()
            self._stream.start_stream()
            self._start_thread()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop rendering and release the device; never hangs. Safe to call twice or after a failed start."""
        self._stopping.set()
        thread = self._thread  # kept: one stuck in a dead device's write still counts as alive
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.close_timeout_s)
        if self._stream is not None:
            self._device_clock_at_stop = self._device_clock()
        stream, self._stream = self._stream, None
        if stream is not None:
            self._stopped_at = time.perf_counter()
            self._final_latency = stream_latency(stream)
            closed = _close_within(stream, self.close_timeout_s)
            if not closed and self.device_lost is None:
                self.device_lost = "the device did not let go of the stream when stopped"
        else:
            closed = True
        if self._pa is not None and self._pa is not self._given_pa and closed:
            self._pa.terminate()  # PortAudio would wait on the stuck stream; leave it to process exit
        self._pa = None
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None

    @property
    def active(self) -> bool:
        return self._stream is not None and self.device_lost is None

    def __enter__(self) -> PyAudioOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- supervision

    def stalled_s(self) -> float:
        """Seconds since the render thread last delivered a block (0 before the first one)."""
        if self._stream is None or not self._last_progress:
            return 0.0
        return max(0.0, time.monotonic() - self._last_progress)

    @property
    def render_thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def restart_if_dead(self) -> BaseException | None:
        """Start a new render thread if the last one died of an error; return that error."""
        if self._stream is None or self._stopping.is_set() or self.device_lost is not None \
                or self.render_thread_alive:
            return None
        error = self.thread_error
        self.thread_restarts += 1
        self._start_thread()
        return error

    # ------------------------------------------------------------------------------------- stats

    @property
    def stats(self) -> OutputStats:
        running = self._stream is not None
        end = time.perf_counter() if running else self._stopped_at
        device_now = self._device_clock() if running else self._device_clock_at_stop
        due = 0.0
        if self._primed and device_now > self._device_clock_at_first_write:
            # On the device's clock: a dummy JACK driver that wakes late plays fewer periods than
            # the wall clock says, and a blocking writer cannot be ahead of what the device took.
            played_s = device_now - self._device_clock_at_first_write
            due = (self._blocks_at_first_write + self._target_frames / self.frames_per_buffer
                   + played_s * self.sample_rate / self.frames_per_buffer)
        longest, p99, p999 = self._timer.interval_figures()
        return OutputStats(
            blocks=self._blocks,
            blocks_due=due,
            underruns=self._underruns,
            errors=self._errors,
            elapsed_s=max(0.0, end - self._started_at) if self._started_at else 0.0,
            max_render_s=self._timer.max_render,
            max_interval_s=longest, interval_p99_s=p99, interval_p999_s=p999,
            ring_frames=self._ring_frames,
            render_ahead_frames=self._target_frames,
            output_latency_s=(self._target_frames / self.sample_rate
                              + (stream_latency(self._stream) if running else self._final_latency)),
            render_cpu_s=self._render_cpu_s,
            thread_restarts=self.thread_restarts,
            last_error=describe_error(self._last_error),
            device_lost=self.device_lost,
        )

    def reset_peaks(self) -> None:
        """Forget the peak timings so far (e.g. after warm-up, when the stream start has settled)."""
        self._timer.reset_peaks()

    # ------------------------------------------------------------------------------ render thread

    def _start_thread(self) -> None:
        self.thread_error = None
        self._thread = threading.Thread(target=self._run, name="latent-render", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cpu_at_start = time.thread_time()
        try:
            if self.realtime_priority is not None:
                self.realtime_problem = promote_current_thread(self.realtime_priority, fifo=True)
            self.audio_thread_scheduling = thread_scheduling()
            if not self._ring_frames:
                self._learn_ring()
            while not self._stopping.is_set():
                self._pace()
                self._render_block()
                self._write_block()
                if not self._blocks & 255:
                    self._render_cpu_s = self._cpu_before + time.thread_time() - cpu_at_start
        except _DeviceGone as gone:
            self.device_lost = str(gone)
        except BaseException as err:  # reported, and the thread restarted, by the supervisor
            self.thread_error = err
            self._last_error = err
        finally:
            self._cpu_before += time.thread_time() - cpu_at_start
            self._render_cpu_s = self._cpu_before

    def _learn_ring(self) -> None:
        # PortAudio shows its ring's size only through the room it reports: let the device drain
        # whatever it started with (JACK's ring starts full of silence) and read the room left.
        deadline = time.monotonic() + _RING_SETTLE_S
        free, steady = self._room(), 0
        while steady < 3 and time.monotonic() < deadline and not self._stopping.is_set():
            time.sleep(_RING_POLL_S)
            now_free = self._room()
            steady = steady + 1 if now_free == free else 0
            free = now_free
        self._ring_frames = max(free, 1)
        # A block larger than the ring is written in pieces by the blocking write, which then paces.
        self._target_frames = max(self.frames_per_buffer, min(self.render_ahead_frames, self._ring_frames))

    def _room(self) -> int:
        try:
            free = int(self._available())
        except OSError as err:
            raise _DeviceGone(f"the device stopped answering ({err})") from err
        if free >= self._ring_frames and self._primed and not self._dry:
            self._dry = True  # the device thread emptied the ring: one gap, counted once
            self._underruns += 1
        return free

    def _pace(self) -> None:
        """Sleep until the ring has dropped to the render-ahead target (see the module doc)."""
        block = self.frames_per_buffer
        free = self._room()
        excess = self._ring_frames - free + block - self._target_frames
        while excess > 0 and not self._stopping.is_set():
            time.sleep(excess / self.sample_rate)
            excess = self._ring_frames - self._room() + block - self._target_frames
            if excess > 0:
                excess = min(excess, block)  # the device takes whole periods: wait a block at most

    def _render_block(self) -> None:
        began = time.perf_counter()
        error = self._fill(self._render)
        if error is not None:
            self._errors += 1
            self._last_error = error
        self._render_s = time.perf_counter() - began

    def _write_block(self) -> None:
        try:
            # pyaudio takes only bytes (no buffer that can be released): one small copy per block.
            self._write_raw(self._interleaved.tobytes(), self.frames_per_buffer)
        except OSError as err:
            if err.errno != PA_OUTPUT_UNDERFLOWED:
                raise _DeviceGone(f"the device refused audio ({err})") from err
            self._underruns += 1  # reported by the device (ALSA); the block was still written
        now = time.perf_counter()
        if not self._primed:
            self._primed = True
            self._device_clock_at_first_write = self._device_clock()
            self._blocks_at_first_write = self._blocks
        self._blocks += 1
        self._dry = False
        self._last_progress = time.monotonic()
        self._timer.delivered(now, self._render_s)

    # ----------------------------------------------------------------------------------- helpers

    def _reset_counters(self) -> None:
        self._blocks = 0
        self._underruns = 0
        self._errors = 0
        self._last_error = None
        self.thread_error = None
        self.thread_restarts = 0
        self.device_lost = None
        self._primed = False
        self._dry = False
        self._device_clock_at_first_write = 0.0
        self._device_clock_at_stop = 0.0
        self._blocks_at_first_write = 0
        self._last_progress = 0.0
        self._render_s = 0.0
        self._render_cpu_s = 0.0
        self._cpu_before = 0.0
        self._ring_frames = 0
        self._target_frames = self.render_ahead_frames
        self._started_at = 0.0
        self._stopped_at = 0.0
        self._final_latency = 0.0
        self._timer.reset()

    def _allocate_buffers(self) -> None:
        assert self.sample_format is not None
        block = BlockFormat(self.frames_per_buffer, self.stream_channels, self.sample_format)
        self._fill, self._interleaved = block.fill, block.device

    def _device_clock(self) -> float:
        """The stream's own time in seconds (PortAudio's), 0.0 when it cannot say."""
        stream = self._stream
        try:
            return float(stream.get_time()) if stream is not None else 0.0
        except OSError:
            return 0.0


class _DeviceGone(Exception):
    """The device stopped taking audio (raised inside the render thread only)."""


def _raw_writer(stream: Any) -> Any:
    """pyaudio's C write for `stream`, without the Python wrapper's per-call frame arithmetic."""
    from pyaudio import _portaudio

    handle = stream._stream  # the wrapper's own handle; its public write() would recompute sizes

    def write(data: bytes, frames: int) -> None:
        _portaudio.write_stream(handle, data, frames, True)

    return write


def _close_within(stream: Any, timeout_s: float) -> bool:
    """Stop and close `stream` in a helper thread; False if that did not finish in time."""
    def close() -> None:
        with contextlib.suppress(OSError):
            stream.stop_stream()
        with contextlib.suppress(OSError):
            stream.close()

    closer = threading.Thread(target=close, name="latent-close-stream", daemon=True)
    closer.start()
    closer.join(timeout_s)
    return not closer.is_alive()
