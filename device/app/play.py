"""`latent play`: build the instrument from settings and run it live or offline (app layer).

Live: a PyAudio callback stream renders the instrument while a control thread polls the
sensors. Offline (a WAV file, or when there is no sound card): the loop is the clock, so a
simulated gesture and the sensor timestamps advance with the rendered audio, and a 5-second
run takes well under 5 seconds.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from device.app.control_merge import ControlMerge
from device.app.engines import close_engine, load_engine
from device.app.instrument import Instrument
from device.app.panel_link import PanelLink
from device.app.settings import InstrumentSettings
from device.engine.limiter import DEFAULT_CEILING_DBFS, ceiling_from_dbfs
from device.engine.params import DEFAULT_SAMPLE_RATE
from device.errors import ConfigError

SHIPPED_MODELS = Path(__file__).resolve().parents[2] / "models"
# The default sound: a bank compiled from the shipped GAN (models/README.md). The additive bank needs no
# trained model and stays as the fallback of a checkout whose GAN bank is missing.
SHIPPED_BUNDLE = SHIPPED_MODELS / "gan-medium.bundle"
FALLBACK_BUNDLE = SHIPPED_MODELS / "additive-timbre.bundle"
DEFAULT_OFFLINE_SECONDS = 30.0
FALLBACK_WAV = Path("latent-play.wav")


@dataclass
class PlaySettings:
    bundle: Path | None = None
    sensors: str = "sim"
    gesture: str | None = "demo"  # None: simulated chips that only a test or a bench touches
    out: Path | None = None
    seconds: float | None = None
    sample_rate: int = DEFAULT_SAMPLE_RATE
    block_frames: int = 64
    device: int | str | None = None
    channels: int = 1
    map_file: Path | None = None
    pins_file: Path | None = None
    # Periodic sensor polls a second, for the continuous controls (bends, touch pressure); a touch
    # wakes the control thread at once through the MPR121's IRQ line (device.app.control_thread).
    control_rate: float = 200.0
    seed: int = 0
    store: Path | None = None  # model store to play from, watch for flashes and keep on trial
    realtime: bool = False  # live: render, control and watcher threads in a real-time class
    # Live: how far ahead of the device the render thread keeps PortAudio's ring (see
    # device.audio.pyaudio_output): the latency it adds and the slack a late render may use.
    render_ahead_frames: int = 256
    # The engine's output limiter: no sample leaves the engine louder than this (dBFS, <= 0).
    ceiling_dbfs: float = DEFAULT_CEILING_DBFS
    status_file: Path | None = None  # live: where `latent status` finds what the instrument is doing
    # The --settings file (device.app.settings): MIDI, OSC, presets, gallery; None = all off.
    instrument: InstrumentSettings | None = None
    # Offline: the wall-clock time the take starts at; gallery quiet hours and the daily
    # recalibration run on it plus the stream time. None: now.
    wall_start: datetime | None = None

    @property
    def ceiling(self) -> float:
        """`ceiling_dbfs` as the linear level the engine takes."""
        return ceiling_from_dbfs(self.ceiling_dbfs)


def realtime_priorities(settings: PlaySettings) -> dict[str, int | None]:
    """Real-time priority of each live thread (None: normal class); see device.audio.realtime."""
    from device.audio.realtime import AUDIO_PRIORITY, CONTROL_PRIORITY, MODEL_PRIORITY, WATCHER_PRIORITY

    if not settings.realtime:
        return {"audio": None, "model": None, "control": None, "watcher": None}
    return {"audio": AUDIO_PRIORITY, "model": MODEL_PRIORITY, "control": CONTROL_PRIORITY,
            "watcher": WATCHER_PRIORITY}


def resolve_bundle(bundle: Path | None) -> Path:
    if bundle is not None:
        return bundle
    for shipped in (SHIPPED_BUNDLE, FALLBACK_BUNDLE):
        if shipped.exists():
            return shipped
    raise ConfigError(f"no bundle given and neither shipped bundle ({SHIPPED_BUNDLE.name}, "
                      f"{FALLBACK_BUNDLE.name}) is in {SHIPPED_MODELS}; pass --bundle FILE (build one with "
                      "`latent bank additive --out FILE`)")


class StreamClock:
    """Seconds of audio rendered so far: the clock of an offline run."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.frames = 0

    def __call__(self) -> float:
        return self.frames / self.sample_rate


@dataclass
class Rig:
    """Everything `build_rig` made, for the run loops and for tests."""

    instrument: Instrument
    sensors: Any
    mapper: Any
    bundle_path: Path
    pins: Any
    panel: PanelLink | None = None
    stage: Any = None  # MIDI, OSC and presets (device.app.stage.Stage) when the settings ask for them
    gallery: Any = None  # gallery mode (device.app.gallery.GalleryMode) when the settings have [gallery]

    @property
    def engine(self) -> Any:
        return self.instrument.engine

    def control_step(self) -> None:
        """One round of the control thread: poll and map, then the panel's LEDs."""
        self.instrument.poll()
        if self.panel is not None:
            self.panel.after_poll(time.monotonic())

    def close(self) -> None:
        if self.panel is not None:
            self.panel.close()
        self.sensors.close()
        close_engine(self.instrument.engine)


def build_rig(settings: PlaySettings, clock: Callable[[], float] = time.monotonic,
              engine: Any = None, bundle_path: Path | None = None) -> Rig:
    """Open the bundle (unless an engine is given), the sensors, the mapping and the engine."""
    from device.bus.pinmap import load_pin_map
    from device.mapping.map_file import load_map
    from device.mapping.mapper import Mapper

    if engine is None:
        bundle_path = resolve_bundle(settings.bundle)
        # Refuses a bad bundle before anything plays.
        engine = load_engine(bundle_path, sample_rate=settings.sample_rate, seed=settings.seed,
                             ceiling=settings.ceiling)
    try:
        # A learned section that cannot be used is reported and the file's direct mapping plays.
        mapper = Mapper(load_map(settings.map_file, on_bad_learned=report_to_stderr)
                        if settings.map_file is not None else None)
        pins = load_pin_map(settings.pins_file)
        sensors = _open_sensors(settings, pins, clock)
    except BaseException:
        close_engine(engine)
        raise
    assert bundle_path is not None
    # Sensors and the other control sources (MIDI, OSC, presets, gallery) meet in the merge.
    return Rig(Instrument(sensors, ControlMerge(mapper), engine), sensors, mapper, bundle_path, pins)


def attach_panel(rig: Rig, settings: PlaySettings, pin_factory: Any = None) -> None:
    """Buttons and LEDs: the Pi's GPIO with real sensors, gpiozero's mock pins when simulated."""
    from device.controls.panel import ControlPanel

    if pin_factory is None and settings.sensors == "sim":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        pin_factory = MockFactory(pin_class=MockPWMPin)
    rig.panel = PanelLink(ControlPanel(rig.pins, pin_factory=pin_factory), rig.mapper, rig.sensors)


def attach_stage(rig: Rig, settings: PlaySettings, *, live: bool,
                 clock: Callable[[], float] = time.monotonic, health: Callable[[], str | None] | None = None,
                 report: Callable[[str], None] = print) -> None:
    """MIDI, OSC and presets from the settings file (device.app.stage); nothing without one."""
    if settings.instrument is None:
        return
    from device.app.stage import open_stage

    rig.stage = open_stage(rig, settings.instrument, live=live, clock=clock, store=settings.store,
                           health=health, report=report)
    if rig.panel is not None and rig.stage.presets is not None:
        rig.panel.attach_presets(rig.stage.presets, report)


def attach_gallery_mode(rig: Rig, settings: PlaySettings, *, watcher: Any = None,
                        wall_clock: Callable[[], datetime] = datetime.now,
                        report: Callable[[str], None] = print) -> None:
    """Gallery mode from the settings file's [gallery] section (device.app.gallery); nothing without one.

    With the model store's `watcher`, a bundle on trial is not judged while quiet hours silence it.
    """
    if settings.instrument is None or settings.instrument.gallery is None:
        return
    from device.app.gallery import attach_to_rig

    gallery = attach_to_rig(rig, settings.instrument.gallery, base_ceiling_db=settings.ceiling_dbfs,
                            wall_clock=wall_clock, report=report)
    rig.gallery = gallery
    if watcher is not None and gallery is not None:
        watcher.trial_paused = lambda: gallery.silenced


def _open_sensors(settings: PlaySettings, pins: Any, clock: Callable[[], float]) -> Any:
    if settings.sensors == "sim":
        from device.sim.gesture import load_gesture
        from device.sim.hardware import SimulatedHardware

        gesture = load_gesture(settings.gesture) if settings.gesture is not None else None
        return SimulatedHardware(pins, gesture=gesture, clock=clock, seed=settings.seed)
    if settings.sensors == "i2c":
        from device.sensors.build import open_i2c_sensors

        # On stage a missing chip must not stop the show: its channels stay stale until it answers.
        return open_i2c_sensors(pins, clock=clock, require_all=False)
    raise ConfigError(f"unknown sensor source {settings.sensors!r}; use 'sim' or 'i2c'")


def play_offline(settings: PlaySettings, out: Path, seconds: float,
                 report: Callable[[str], None] = print) -> dict[str, Any]:
    """Render `seconds` into a WAV file, the sensors polled once per block on the stream clock."""
    from device.audio.offline import run_offline
    from device.audio.wav_output import WavFileOutput

    clock = StreamClock(settings.sample_rate)
    rig = build_rig(settings, clock)
    try:
        # Sources without ports, on the stream clock: a take is the same every time.
        attach_stage(rig, settings, live=False, clock=clock, report=report)
        wall_start = settings.wall_start or datetime.now()
        attach_gallery_mode(rig, settings, wall_clock=lambda: wall_start + timedelta(seconds=clock()),
                            report=report)
        started = time.perf_counter()
        output = WavFileOutput(out, settings.sample_rate, settings.channels)
        try:
            def before_block(t: float) -> None:
                clock.frames = round(t * settings.sample_rate)
                rig.instrument.poll()

            frames = run_offline(rig.instrument, output, seconds, sample_rate=settings.sample_rate,
                                 block_frames=settings.block_frames, before_block=before_block)
        finally:
            output.close()
        elapsed = time.perf_counter() - started
        result = {"out": str(out), "seconds": frames / settings.sample_rate, "render_s": round(elapsed, 3),
                  "clipped_samples": output.clipped_samples, "bundle": str(rig.bundle_path),
                  "limited_samples": rig.engine.limited_samples,
                  "nonfinite_samples": rig.engine.nonfinite_samples}
        if rig.gallery is not None:
            result["gallery"] = rig.gallery.status()
        report(f"wrote {frames / settings.sample_rate:.1f} s of {rig.bundle_path.name} to {out} "
               f"(rendered in {elapsed:.1f} s)")
        return result
    finally:
        rig.close()


def play_live(settings: PlaySettings, seconds: float | None,
              report: Callable[[str], None] = print, stop: threading.Event | None = None) -> dict[str, Any]:
    """Play to the sound card until `seconds` pass, `stop` is set, SIGTERM or Ctrl-C.

    Raises AudioDeviceLostError (after stopping cleanly) if the device goes away while playing.
    """
    from device.app.sd_notify import SystemdNotifier
    from device.app.service_health import ServiceHealth, read_counters
    from device.app.status_file import StatusReporter
    from device.app.supervisor import CHECK_PERIOD_S, Supervisor
    from device.errors import AudioDeviceLostError

    stop = stop or threading.Event()
    rig, watcher = open_live_rig(settings, report)
    output = None
    try:
        output, control = live_output_and_control(rig, settings)
        try:
            attach_panel(rig, settings)
        except Exception as err:  # buttons and LEDs are a convenience: never a reason to stay silent
            report(f"front panel unavailable ({type(err).__name__}: {err}); playing without it")
        attach_stage(rig, settings, live=True, health=lambda: health.problem, report=report)
        attach_gallery_mode(rig, settings, watcher=watcher, report=report)
        supervisor = Supervisor(output, control, make_control=lambda: live_control(rig, settings),
                                report=report)
        notifier = SystemdNotifier()
        health = ServiceHealth(notifier, lambda: read_counters(output, supervisor.control, rig.engine),
                               report=report)
        started_at = time.monotonic()

        def snapshot() -> dict[str, Any]:
            stats = output.stats.as_dict()
            sensors = rig.sensors.status() if hasattr(rig.sensors, "status") else None
            return {
                "pid": os.getpid(), "mode": rig.gallery.mode if rig.gallery is not None else "play",
                "uptime_s": round(time.monotonic() - started_at, 1),
                "model": rig.bundle_path.name,
                "audio": {key: stats.get(key) for key in ("blocks", "underruns", "errors", "device_lost")},
                "sensors": {"chips": [{"name": chip.name, "connected": chip.connected,
                                       "failed_reads": chip.failed_reads} for chip in sensors.chips]
                            if sensors is not None else []},
                "control": {"polls": supervisor.control.polls, "errors": supervisor.control.errors},
                "health": {"problem": health.problem, "watchdog_pings": health.pings},
                "limiter": {"limited_samples": rig.engine.limited_samples,
                            "nonfinite_samples": rig.engine.nonfinite_samples},
                # An rnn's model thread: frames made, frames the synth held because one was late.
                **({"rnn": {"frames_made": rig.engine.frames_made, "frames_held": rig.engine.frames_held,
                            "model_faults": rig.engine.model_faults}}
                   if hasattr(rig.engine, "frames_held") else {}),
                **(rig.stage.status() if rig.stage is not None else {}),
                **({"gallery": rig.gallery.status()} if rig.gallery is not None else {}),
            }

        status = (StatusReporter(settings.status_file, snapshot, report=report)
                  if settings.status_file is not None else None)
        control.start()
        if rig.stage is not None:
            rig.stage.start()
        previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            output.start(rig.instrument)
            if watcher is not None:
                watcher.start()
            report(f"playing {rig.bundle_path.name} on {output.device.describe() if output.device else '?'} "
                   f"({settings.sensors} sensors); Ctrl-C to stop")
            notifier.ready(f"playing {rig.bundle_path.name}")
            irq_problem = getattr(rig.sensors, "activity_problem", None)
            if irq_problem:
                report(irq_problem)
            started = time.monotonic()
            if settings.realtime:
                report_realtime(output, control, watcher, report, model=rig.engine)
            while not stop.is_set():
                left = None if seconds is None else seconds - (time.monotonic() - started)
                if left is not None and left <= 0:
                    break
                stop.wait(CHECK_PERIOD_S if left is None else min(CHECK_PERIOD_S, left))
                supervisor.check()
                health.tick(time.monotonic())
                if status is not None:
                    status.tick(time.monotonic())
        except KeyboardInterrupt:
            pass
        except AudioDeviceLostError as lost:
            report(str(lost))  # said at once: stopping may take the close timeouts
            raise
        finally:
            notifier.stopping("stopping")
            if rig.stage is not None:
                rig.stage.stop()
            if watcher is not None:
                watcher.stop()
            output.stop()
            supervisor.control.stop()
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous)
        stats = output.stats.as_dict()
        control = supervisor.control
        stats.update(control_polls=control.polls, control_errors=control.errors)
        stats.update(audio_thread=output.audio_thread_scheduling,
                     control_restarts=supervisor.control_restarts, watchdog_pings=health.pings)
        # The output limiter's work, as counted by the engine playing at the end.
        stats.update(limited_samples=rig.engine.limited_samples,
                     nonfinite_samples=rig.engine.nonfinite_samples)
        if hasattr(rig.engine, "frames_held"):  # an rnn: how its model thread kept up
            stats.update(rnn_frames_made=rig.engine.frames_made, rnn_frames_held=rig.engine.frames_held,
                         rnn_model_faults=rig.engine.model_faults,
                         rnn_model_thread=rig.engine.model_thread_scheduling)
        if watcher is not None:
            stats.update(model_swaps=watcher.swaps, model_rollbacks=watcher.rollbacks)
        report(f"stopped: {stats.get('blocks')} blocks, {stats.get('underruns')} underruns")
        return stats
    finally:
        # A render thread stuck in a dead device's write still holds the engine's memory maps.
        if output is None or not output.render_thread_alive:
            rig.close()


def report_realtime(output: Any, control: Any, watcher: Any, report: Callable[[str], None],
                    timeout_s: float = 1.0, model: Any = None) -> None:
    """Say once whether the threads got their real-time class (they try as they start). `model`:
    the playing engine; an rnn's model thread promoted itself before its first frame, in warm_up."""
    deadline = time.monotonic() + timeout_s
    while output.audio_thread_scheduling is None and time.monotonic() < deadline:
        time.sleep(0.01)
    for thread in (control, watcher):
        if thread is not None:
            thread.started.wait(max(0.0, deadline - time.monotonic()))
    problem = realtime_problem(output, control, watcher, model)
    if problem:
        report(problem)
    else:
        model_thread = getattr(model, "model_thread_scheduling", None)
        report(f"real-time scheduling on (render thread {output.audio_thread_scheduling or 'not started'}"
               + (f", model thread {model_thread})" if model_thread else ")"))


def realtime_problem(output: Any, control: Any, watcher: Any = None, model: Any = None) -> str | None:
    """The first reason a live thread gave for not getting its real-time class, if any (`model`: the
    playing engine, whose rnn model thread tries too; a bank's engine has no thread)."""
    problems = (getattr(thread, "realtime_problem", None) for thread in (output, control, watcher, model))
    return next((problem for problem in problems if problem), None)


def live_output_and_control(rig: Rig, settings: PlaySettings) -> tuple[Any, Any]:
    """The sound-card output and the sensor-polling thread of a live run (neither started yet)."""
    return live_output(settings), live_control(rig, settings)


def live_output(settings: PlaySettings) -> Any:
    """The sound-card output of a live run (not started)."""
    from device.audio.pyaudio_output import PyAudioOutput

    return PyAudioOutput(sample_rate=settings.sample_rate, frames_per_buffer=settings.block_frames,
                         device=settings.device, channels=settings.channels,
                         render_ahead_frames=settings.render_ahead_frames,
                         realtime_priority=realtime_priorities(settings)["audio"])


def live_control(rig: Rig, settings: PlaySettings) -> Any:
    """The thread that polls the sensors and applies their state (not started)."""
    from device.app.control_thread import ControlThread

    return ControlThread(rig.control_step, rate_hz=settings.control_rate,
                         wait=getattr(rig.sensors, "wait_for_activity", None),
                         realtime_priority=realtime_priorities(settings)["control"])


def open_live_rig(settings: PlaySettings, report: Callable[[str], None] = print,
                  clock: Callable[[], float] = time.monotonic) -> tuple[Rig, Any]:
    """The rig for a live run and, with a model store, the watcher that hot-swaps its bundles.

    With a store, its active bundle plays (on trial if freshly flashed; one that fails to load
    is rolled back before anything plays). An empty store falls back to --bundle or the
    shipped model, and a later flash is picked up while playing.
    """
    def make_engine(path: Path) -> Any:
        # live=True: an rnn bundle runs its model in its own thread, ahead of the audio.
        return load_engine(path, sample_rate=settings.sample_rate, seed=settings.seed,
                           ceiling=settings.ceiling, live=True,
                           realtime_priority=realtime_priorities(settings)["model"])

    if settings.store is None:
        bundle_path = resolve_bundle(settings.bundle)
        rig = build_rig(settings, clock, engine=make_engine(bundle_path), bundle_path=bundle_path)
        settle_garbage_collector()
        return rig, None
    from device.app.audio_tap import AudioTap
    from device.app.model_watcher import ModelWatcher
    from device.errors import StoreError
    from device.store.monitor import TrialMonitor
    from device.store.store import ModelStore

    monitor = TrialMonitor(ModelStore(settings.store), sample_rate=settings.sample_rate)
    if monitor.service_started():
        report(f"the bundle on trial kept crashing the service; rolled back ({settings.store})")
    try:
        engine, path = monitor.load_active(make_engine)
        from_store: Path | None = path
    except StoreError as err:
        path = resolve_bundle(settings.bundle)
        report(f"model store {settings.store}: {err}; playing {path} meanwhile")
        engine, from_store = make_engine(path), None
    rig = build_rig(settings, clock, engine=engine, bundle_path=path)
    tap = AudioTap(2 * settings.sample_rate)
    rig.instrument.tap = tap
    watcher = ModelWatcher(rig.instrument, monitor, tap, make_engine, report=report,
                           realtime_priority=realtime_priorities(settings)["watcher"])
    watcher.active_path = from_store
    settle_garbage_collector()
    return rig, watcher


def settle_garbage_collector() -> None:
    """Move everything built so far out of the collector's reach before the stream starts.

    A full collection walks every object in the process while holding the GIL: with numpy and
    numba loaded that is milliseconds, longer than a 64-frame block, and it can fall in any
    thread. Freezing the start-up objects leaves the collector only what is made while playing.
    """
    gc.collect()
    gc.freeze()


def play(settings: PlaySettings, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Live when there is a sound card and no --out, else a WAV file (and say where).

    With a model store, its active bundle plays wherever the sound goes (live, the store is
    also watched for flashes; into a file, the bundle active now is rendered).
    """
    if settings.out is not None:
        return play_offline(offline_settings(settings, report), settings.out,
                            settings.seconds or DEFAULT_OFFLINE_SECONDS, report)
    from device.audio.devices import has_output_device

    if not has_output_device():
        if settings.sensors == "i2c":
            # The real instrument waits for its sound card (the service starts it again) rather
            # than filling the disk with takes nobody hears.
            from device.errors import AudioDeviceLostError

            raise AudioDeviceLostError("no sound card found; connect or enable the audio HAT "
                                       "(`aplay -l` lists what the system sees)")
        seconds = settings.seconds or DEFAULT_OFFLINE_SECONDS
        out = FALLBACK_WAV.resolve()
        report(f"no sound card found: writing {seconds:g} s to {out} instead", )
        return play_offline(offline_settings(settings, report), out, seconds, report)
    return play_live(settings, settings.seconds, report)


def offline_settings(settings: PlaySettings, report: Callable[[str], None]) -> PlaySettings:
    """`settings` for a WAV take: a store's active bundle becomes the bundle to render."""
    if settings.store is None:
        return settings
    from device.store.store import ModelStore

    active = ModelStore(settings.store).active_path()
    if active is None:
        fallback = resolve_bundle(settings.bundle)
        report(f"model store {settings.store} has no active bundle; rendering {fallback} instead")
        return replace(settings, store=None, bundle=fallback)
    report(f"rendering the active bundle of the model store {settings.store}: {active.name}")
    return replace(settings, store=None, bundle=active)


def report_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)
