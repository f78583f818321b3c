"""Bring-up checks of a newly built instrument, behind `latent selftest` (app layer).

Each check returns a `CheckResult` (name, ok, detail, and a fix text saying what to do when it
fails); `run_selftest` runs them all and never raises for a hardware fault, because a bring-up
tool that stops at the first fault hides the others. The checks: the sensor chips answer at the
pin map's addresses as the right parts (`i2c`), every channel moves a little and none is stuck at
a rail or floating (`channels`), a quiet tone plays or is written to a WAV (`audio`), the model
store or bundle verifies (`model`), and the panel LEDs blink (`leds`, skipped without GPIO).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from device.bus.pinmap import PinMap

# Channel sampling: 50 polls 10 ms apart (~0.5 s) is long enough to see the sensors' noise and
# a floating input's drift, short enough that bring-up stays quick.
CHANNEL_POLLS = 50
CHANNEL_POLL_INTERVAL_S = 0.01

# ADS1115 single-ended results are signed 16-bit counts: 0 is the ground rail and 32767 full scale.
# A reading pinned there with no noise at all is a short to ground or an input past full scale.
ADC_LOW_RAIL = 0.0
ADC_FULL_SCALE = 32767.0
# A flat flex sensor's divider moves a few counts of noise (0.3 mV is ~2 counts at gain 1); an open
# input picks up mains hum and wanders by hundreds of mV. 1000 counts (~3 % of full scale, 125 mV
# at gain 1) is far above the first and well below the second.
FLEX_FLOAT_SPAN = 1000.0
# MPR121 channel values are baseline minus filtered data (10-bit counts). A shorted or open
# electrode pins its filtered data to 0 or 1023, so the difference sits at +-1023 give or take
# the baseline's 4-count steps.
TOUCH_RAIL = 1000.0
# Untouched electrodes move by a count or two; the pin map's touch threshold is ~12 counts. A span
# of 40 counts untouched would make notes on its own: a floating (unconnected) electrode.
TOUCH_FLOAT_SPAN = 40.0

# Audio: a short, quiet tone, so a freshly wired amplifier is not blasted.
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.1
TONE_SECONDS = 0.5
TONE_BLOCK = 512

# LEDs: three short blinks, visible to someone watching the panel.
LED_BLINKS = 3
LED_BLINK_S = 0.1

WIRING = "hardware/WIRING.md"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SelftestOptions:
    pins: PinMap
    sensors: str = "sim"  # "sim" or "i2c"
    out: Path | None = None  # write the tone to this WAV instead of the sound card
    sample_rate: int = 48000
    device: int | str | None = None
    store: Path | None = None
    bundle: Path | None = None
    pin_factory: Any = None
    polls: int = CHANNEL_POLLS
    poll_interval_s: float = CHANNEL_POLL_INTERVAL_S
    sleep: Callable[[float], None] = field(default=time.sleep)


def run_selftest(options: SelftestOptions, *, sensors: Any = None) -> list[CheckResult]:
    """All checks, in order. `sensors` (an opened SensorArray or SimulatedHardware) replaces the
    ones `options.sensors` would open: tests inject faulty simulated hardware this way."""
    results: list[CheckResult] = []
    opened = sensors
    if opened is None:
        opened, failure = open_sensors(options)
        if failure is not None:
            results.append(failure)
    try:
        if opened is not None:
            results.append(check_i2c(opened, options.pins))
            results.append(check_channels(opened, options.pins, polls=options.polls,
                                          interval_s=options.poll_interval_s, sleep=options.sleep))
        else:
            results.append(CheckResult("channels", False, "not checked: the sensors could not be opened",
                                       "fix the i2c check first"))
    finally:
        if opened is not None and sensors is None:
            opened.close()
    results.append(check_audio(options))
    results.append(check_model(options.store, options.bundle))
    results.append(check_leds(options.pins, options.pin_factory, sleep=options.sleep))
    return results


def open_sensors(options: SelftestOptions) -> tuple[Any, CheckResult | None]:
    """The sensors (or None) and, when they could not be opened at all, the failed i2c check."""
    from device.errors import ChipIdentityError

    try:
        if options.sensors == "sim":
            from device.sim.hardware import SimulatedHardware

            return SimulatedHardware(options.pins), None
        if options.sensors == "i2c":
            from device.sensors.build import open_i2c_sensors

            # Not require_all: one missing chip must not hide the state of the other.
            return open_i2c_sensors(options.pins, require_all=False), None
        return None, CheckResult("i2c", False, f"unknown sensor source {options.sensors!r}",
                                 "use --sensors sim or --sensors i2c")
    except ChipIdentityError as err:
        return None, CheckResult("i2c", False, str(err),
                                 "a different chip answers at that address: check the part and its "
                                 f"address pins against the pin map ({options.pins.source}) and {WIRING}")
    except Exception as err:  # no bus (/dev/i2c-1 missing, no permission) or a chip that will not start
        return None, CheckResult("i2c", False, f"{type(err).__name__}: {err}",
                                 "enable I2C (raspi-config), check this user is in the i2c group, and "
                                 f"check SDA/SCL/3V3/GND wiring per {WIRING}")


def check_i2c(sensors: Any, pins: PinMap) -> CheckResult:
    """Every chip in the pin map connected (its driver probed it and checked its identity)."""
    status = sensors.status()
    missing = [c for c in status.chips if not c.connected]
    found = ", ".join(f"{c.name} at 0x{c.address:02X}" for c in status.chips if c.connected) or "none"
    if not missing:
        return CheckResult("i2c", True, f"answering: {found}")
    detail = "; ".join(f"{c.name} at 0x{c.address:02X} did not answer ({c.last_error or 'no error text'})"
                       for c in missing)
    return CheckResult("i2c", False, detail,
                       "check that chip's power, SDA/SCL wiring and address pins against the pin map "
                       f"({pins.source}) and {WIRING}; `i2cdetect -y 1` lists what answers")


def check_channels(sensors: Any, pins: PinMap, *, polls: int = CHANNEL_POLLS,
                   interval_s: float = CHANNEL_POLL_INTERVAL_S,
                   sleep: Callable[[float], None] = time.sleep) -> CheckResult:
    """Poll untouched channels; flag stuck ones (flat at a rail) and floating ones (wandering)."""
    readings: dict[str, list[float]] = {}
    stale: set[str] = set()
    for i in range(polls):
        frame = sensors.poll()
        stale |= set(frame.stale)
        for name, value in frame.values.items():
            readings.setdefault(name, []).append(float(value))
        if i + 1 < polls:
            sleep(interval_s)
    flex = set(pins.ads1115.inputs)
    stuck: list[str] = []
    floating: list[str] = []
    for name, values in readings.items():
        if name in stale:
            continue  # its chip did not answer: the i2c check reports that
        low, high = min(values), max(values)
        if name in flex:
            at_rail = low <= ADC_LOW_RAIL or high >= ADC_FULL_SCALE
            float_span = FLEX_FLOAT_SPAN
        else:
            at_rail = abs(low) >= TOUCH_RAIL or abs(high) >= TOUCH_RAIL
            float_span = TOUCH_FLOAT_SPAN
        if high == low and at_rail:
            stuck.append(f"{name}={low:g}")
        elif high - low > float_span:
            floating.append(f"{name} (moved {high - low:g}, limit {float_span:g})")
    checked = len(readings) - len(stale & set(readings))
    if not stuck and not floating:
        return CheckResult("channels", True, f"{checked} channels over {polls} polls: none stuck or floating")
    parts = []
    fixes = []
    if stuck:
        parts.append("stuck at a rail: " + ", ".join(stuck))
        fixes.append("a stuck channel is a short (to ground or supply) or an open connection: check the "
                     "sensor's wires and solder joints for that channel")
    if floating:
        parts.append("floating: " + ", ".join(floating))
        fixes.append("a floating channel has nothing connected or a broken divider: check the sensor is "
                     "plugged in and its pull resistor is fitted, and do not touch the instrument during "
                     "the test")
    return CheckResult("channels", False, "; ".join(parts), "; ".join(fixes))


def check_audio(options: SelftestOptions) -> CheckResult:
    """A quiet tone to the sound card, or to `options.out` (a WAV file) when given."""
    import numpy as np

    from device.audio.tone import SineSource

    try:
        source = SineSource(TONE_HZ, sample_rate=options.sample_rate, amplitude=TONE_AMPLITUDE,
                            max_block=TONE_BLOCK)
        if options.out is not None:
            from device.audio.wav_output import WavFileOutput

            output = WavFileOutput(options.out, options.sample_rate, 1)
            try:
                block = np.zeros(TONE_BLOCK, dtype=np.float32)
                for _ in range(max(1, round(TONE_SECONDS * options.sample_rate / TONE_BLOCK))):
                    source.render_into(block)
                    output.write(block)
            finally:
                output.close()
            return CheckResult("audio", True, f"wrote a {TONE_SECONDS:g} s tone at {options.sample_rate} Hz "
                                              f"to {options.out}")
        from device.audio.pyaudio_output import PyAudioOutput

        live = PyAudioOutput(sample_rate=options.sample_rate, device=options.device, channels=1)
        live.start(source)
        try:
            options.sleep(TONE_SECONDS)
        finally:
            live.stop()
        return CheckResult("audio", True, f"played a quiet {TONE_HZ:g} Hz tone for {TONE_SECONDS:g} s at "
                                          f"{options.sample_rate} Hz (you should have heard it)")
    except Exception as err:
        return CheckResult("audio", False, f"{type(err).__name__}: {err}",
                           "check the sound card is connected and listed by `latent play --list-devices`, "
                           "that --device and --sample-rate match it, and that this user is in the audio "
                           "group; or pass --out FILE.wav to test without a sound card")


def check_model(store: Path | None, bundle: Path | None) -> CheckResult:
    """The store's active bundle (or --bundle, or the shipped one) opens and verifies."""
    from device.app.play import resolve_bundle
    from device.bundle.reader import open_bundle

    where = ""
    try:
        path: Path | None = None
        if store is not None:
            from device.store.store import ModelStore

            path = ModelStore(store, create=False).active_path()
            where = f"store {store}: " if path is not None else f"store {store} is empty; "
        if path is None:
            path = resolve_bundle(bundle)
        open_bundle(path, verify=True).close()
        return CheckResult("model", True, f"{where}{path} verifies")
    except Exception as err:
        return CheckResult("model", False, f"{where}{type(err).__name__}: {err}",
                           "flash a good bundle (`latent store install FILE` or the flash server), or pass "
                           "--bundle FILE with a bundle that verifies (`latent bundle` inspects one)")


def check_leds(pins: PinMap, pin_factory: Any = None, *,
               sleep: Callable[[float], None] = time.sleep) -> CheckResult:
    """Blink both panel LEDs; skipped, not failed, on a machine without GPIO."""
    from gpiozero.exc import BadPinFactory

    from device.controls.panel import ControlPanel

    try:
        with warnings.catch_warnings():  # gpiozero warns per fallback it tries; the result says it all
            warnings.simplefilter("ignore")
            panel = ControlPanel(pins, pin_factory=pin_factory)
    except BadPinFactory as err:
        return CheckResult("leds", True, f"skipped: no GPIO on this machine ({err})", skipped=True)
    except Exception as err:
        return CheckResult("leds", False, f"{type(err).__name__}: {err}",
                           f"check [leds] in the pin map ({pins.source}) and that no other program "
                           "(latent play's service) holds the GPIOs")
    try:
        for _ in range(LED_BLINKS):
            panel.status_led.value = 1.0
            panel.touch_led.on()
            lit = panel.status_led.value == 1.0 and panel.touch_led.is_lit
            sleep(LED_BLINK_S)
            panel.status_led.value = 0.0
            panel.touch_led.off()
            sleep(LED_BLINK_S)
            if not lit:
                return CheckResult("leds", False, "an LED pin did not take its new state",
                                   f"check [leds] in the pin map ({pins.source}) and the LED wiring")
    finally:
        panel.close()
    return CheckResult("leds", True, f"blinked status (GPIO{pins.leds.status}) and touch "
                                     f"(GPIO{pins.leds.touch}) {LED_BLINKS} times: watch the panel")


def all_passed(results: list[CheckResult]) -> bool:
    return all(r.ok for r in results)


def format_table(results: list[CheckResult]) -> str:
    """One row per check, then the fix for each failure."""
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        verdict = "SKIP" if r.skipped else ("PASS" if r.ok else "FAIL")
        lines.append(f"{r.name:<{width}}  {verdict}  {r.detail}")
        if not r.ok and r.fix:
            lines.append(f"{'':<{width}}        fix: {r.fix}")
    lines.append("all checks passed" if all_passed(results) else "some checks FAILED")
    return "\n".join(lines)
