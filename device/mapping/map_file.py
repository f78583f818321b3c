"""Reading a mapping file: strict validation of the TOML into a `MapConfig` (mapping layer).

Everything is checked when the file is loaded; a bad file is refused as a whole with a
`ConfigError` naming the file, the key and the values allowed, so the instrument never starts
with half a mapping. The shipped default is `default_map.toml` beside this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from device.config_file import Fail, TableReader, check_number, load_table, parse_table
from device.errors import ConfigError
from device.mapping.config import (
    CHANNEL_KINDS,
    CONTINUOUS_PARAMS,
    INSTRUMENT_CHANNELS,
    KIND_DEFAULTS,
    MAX_AXES,
    MODES,
    PARAM_NAMES,
    SWITCH_ACTIONS,
    WINDOWS,
    AxisTarget,
    ChannelCalibration,
    ControlOverride,
    ControlTarget,
    GainShape,
    MapConfig,
    PitchKeys,
    Preset,
    Smoothing,
    SwitchTarget,
    TouchThresholds,
)
from device.mapping.control_state import ParamValue
from device.mapping.curves import CURVES
from device.mapping.learned import LearnedMapping
from device.mapping.learned_file import parse_learned

SCHEMA_VERSION = 1
DEFAULT_MAP_NAME = "default_map.toml"


def default_map_path() -> Path:
    """Where the shipped default mapping file lives (package data)."""
    return Path(str(resources.files("device.mapping").joinpath(DEFAULT_MAP_NAME)))


def load_map(
    path: str | Path | None = None, *, channels: Mapping[str, str] = INSTRUMENT_CHANNELS,
    on_bad_learned: Callable[[str], None] | None = None,
) -> MapConfig:
    """Read and validate a mapping file (the shipped default when `path` is None).

    A bad `[learned]` section refuses the whole file, unless `on_bad_learned` is given: it is then
    told why (one line) and the file's direct mapping is returned without the learned model, so a
    live instrument plays on.
    """
    path = default_map_path() if path is None else Path(path)
    _check_channels(channels)
    top = load_table(path, what="a .toml mapping file", error=ConfigError,
                     missing="mapping file does not exist; give the path of a .toml mapping file "
                             f"(the default is {default_map_path()})")
    return _MapParser(str(path), channels, on_bad_learned).parse(top)


def parse_map(
    text: str, *, source: str = "<mapping>", channels: Mapping[str, str] = INSTRUMENT_CHANNELS
) -> MapConfig:
    """Validate mapping-file text; `source` names it in error messages."""
    _check_channels(channels)
    # Also refuses nesting and numbers deep or long enough to crash or stall the TOML parser.
    return _MapParser(source, channels).parse(parse_table(text, source=source, error=ConfigError))


def _check_channels(channels: Mapping[str, str]) -> None:
    for name, kind in channels.items():
        if kind not in CHANNEL_KINDS:
            raise ConfigError(
                f"channel {name!r} has kind {kind!r}; allowed kinds: {', '.join(CHANNEL_KINDS)}"
            )


def param_value(sec: TableReader, key: str, param: str) -> ParamValue:
    """`key` of `sec` read as a value of engine parameter `param` (one of PARAM_NAMES), checked
    against its range or choices."""
    if param in CONTINUOUS_PARAMS:
        p_lo, p_hi = CONTINUOUS_PARAMS[param]
        return sec.number(key, lo=p_lo, hi=p_hi)
    if param == "freeze":
        return sec.boolean(key)
    return sec.choice(key, MODES if param == "mode" else WINDOWS)


class _MapParser:
    def __init__(self, source: str, channels: Mapping[str, str],
                 on_bad_learned: Callable[[str], None] | None = None) -> None:
        self.source = source
        self.channels = channels
        self.on_bad_learned = on_bad_learned
        self.channel_list = ", ".join(channels)

    def parse(self, top: TableReader) -> MapConfig:
        version = top.raw("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise top.fail("version", f"is {version!r}, a mapping-file version this instrument cannot read",
                           f"{SCHEMA_VERSION} (or leave it out)")
        learn_s, calibration = self._calibration(top.table("calibration"))
        smoothing = self._smoothing(top.table("smoothing"), Smoothing())
        touch = self._touch(top.table("touch"))
        pitch = self._pitch(top.table("pitch")) if top.has("pitch") else None
        gain = self._gain(top.table("gain"))
        axes = tuple(self._axis(t, smoothing) for t in top.tables("axes"))
        controls = tuple(self._control(t, smoothing) for t in top.tables("controls"))
        switches = tuple(self._switch(t) for t in top.tables("switches"))
        self._check_unique(axes, controls, switches, pitch)
        controlled = {c.param: c.source for c in controls}
        params = self._params(top.table("params"), controlled)
        presets = self._presets(top.table("presets"), controls, pitch)
        learned = self._learned(top, smoothing, presets) if top.has("learned") else None
        top.finish()
        return MapConfig(self.source, learn_s, calibration, touch, pitch, gain, params, axes, controls,
                         switches, presets, learned)

    # -- sections -------------------------------------------------------------------------------

    def _calibration(self, sec: TableReader) -> tuple[float, dict[str, ChannelCalibration]]:
        learn_s = sec.number("learn_s", 1.0, lo=0.0, hi=60.0, lo_open=True)
        kinds = {kind: self._calibration_fields(sec.table(kind), KIND_DEFAULTS[kind], allow_fixed=False)
                 for kind in CHANNEL_KINDS}
        per_channel = sec.table("channels")
        result = {name: kinds[kind] for name, kind in self.channels.items()}
        for name in per_channel.names():
            if name not in self.channels:
                raise per_channel.fail(name, "is not a channel of this instrument", self.channel_list)
            result[name] = self._calibration_fields(per_channel.table(name), result[name], allow_fixed=True)
        per_channel.finish()
        sec.finish()
        return learn_s, result

    @staticmethod
    def _calibration_fields(
        sec: TableReader, base: ChannelCalibration, *, allow_fixed: bool
    ) -> ChannelCalibration:
        settings = replace(
            base,
            initial_range=sec.number("initial_range", base.initial_range, lo=0.0, hi=1e7, lo_open=True),
            dead_zone=sec.number("dead_zone", base.dead_zone, lo=0.0, hi=0.9),
            noise_sigmas=sec.number("noise_sigmas", base.noise_sigmas, lo=0.0, hi=100.0),
            drift_tau_s=sec.number("drift_tau_s", base.drift_tau_s, lo=0.0, hi=1e6, lo_open=True),
            fall_tau_s=sec.number("fall_tau_s", base.fall_tau_s, lo=0.0, hi=1e6, lo_open=True),
            range_relax_tau_s=sec.number("range_relax_tau_s", base.range_relax_tau_s, lo=0.0, hi=1e7,
                                         lo_open=True),
        )
        if allow_fixed:
            rest = sec.number("rest") if sec.has("rest") else None
            full = sec.number("full") if sec.has("full") else None
            if (rest is None) != (full is None):
                missing = "full" if full is None else "rest"
                raise sec.fail(missing, "missing: a fixed range needs both ends",
                               "both `rest` and `full` (raw readings at rest and at full touch/bend), "
                               "or neither to learn them")
            if rest is not None and rest == full:
                raise sec.fail("full", f"equals rest ({rest:g})", "a raw reading different from `rest`")
            settings = replace(settings, rest=rest, full=full)
        sec.finish()
        return settings

    @staticmethod
    def _smoothing(sec: TableReader, base: Smoothing) -> Smoothing:
        result = Smoothing(
            min_cutoff=sec.number("min_cutoff", base.min_cutoff, lo=0.0, hi=1000.0, lo_open=True),
            beta=sec.number("beta", base.beta, lo=0.0, hi=10000.0),
            d_cutoff=sec.number("d_cutoff", base.d_cutoff, lo=0.0, hi=1000.0, lo_open=True),
        )
        sec.finish()
        return result

    def _learned(self, top: TableReader, smoothing: Smoothing,
                 presets: tuple[Preset, ...]) -> LearnedMapping | None:
        try:
            sec = top.table("learned")
            return parse_learned(sec, self.channels, self._smoothing(sec.table("smoothing"), smoothing),
                                 [p.name for p in presets])
        except ConfigError as bad:
            if self.on_bad_learned is None:
                raise
            self.on_bad_learned(f"{bad} (playing the file's direct mapping instead)")
            return None

    @staticmethod
    def _touch(sec: TableReader) -> TouchThresholds:
        on = sec.number("on", TouchThresholds.on, lo=0.0, hi=1.0, lo_open=True)
        off = sec.number("off", TouchThresholds.off, lo=0.0, hi=1.0)
        if off >= on:
            raise sec.fail("off", f"is {off:g}, not below on ({on:g})",
                           "a number below `on` (the gap is the hysteresis that stops flicker)")
        sec.finish()
        return TouchThresholds(on, off)

    def _pitch(self, sec: TableReader) -> PitchKeys:
        allowed = f"an array of channel names ({self.channel_list})"
        keys = tuple(sec.array("keys", self._channel_item, allowed))
        sec.refuse_repeats("keys", keys, "each channel once")
        notes = self._notes(sec, "notes", len(keys))
        glide = sec.number("glide_ms", 0.0, lo=0.0, hi=10000.0)
        transpose = sec.number("transpose", 0.0, lo=-48.0, hi=48.0)
        sec.finish()
        return PitchKeys(keys, notes, glide, transpose)

    @staticmethod
    def _notes(sec: TableReader, key: str, count: int) -> tuple[float, ...]:
        allowed = f"an array of {count} MIDI note numbers (0..127), one per key"
        notes = tuple(sec.array(key, lambda v, fail: check_number(v, fail, 0.0, 127.0), allowed))
        if len(notes) != count:
            raise sec.fail(key, f"has {len(notes)} notes for {count} keys", allowed)
        return notes

    @staticmethod
    def _gain(sec: TableReader) -> GainShape:
        result = GainShape(
            note=sec.number("note", GainShape.note, lo=0.0, hi=1.0),
            idle=sec.number("idle", GainShape.idle, lo=0.0, hi=1.0),
            attack_ms=sec.number("attack_ms", GainShape.attack_ms, lo=0.0, hi=10000.0),
            release_ms=sec.number("release_ms", GainShape.release_ms, lo=0.0, hi=60000.0),
        )
        sec.finish()
        return result

    def _axis(self, sec: TableReader, smoothing: Smoothing) -> AxisTarget:
        axis = sec.integer("axis", lo=0, hi=MAX_AXES - 1)
        source = self._channel(sec, "source")
        invert = sec.boolean("invert", False)
        curve = sec.choice("curve", tuple(CURVES), "linear")
        lo = sec.number("min", 0.0, lo=0.0, hi=1.0)
        hi = sec.number("max", 1.0, lo=0.0, hi=1.0)
        self._check_order(sec, lo, hi)
        smooth = self._smoothing(sec.table("smoothing"), smoothing)
        sec.finish()
        return AxisTarget(axis, source, invert, curve, lo, hi, smooth)

    def _control(self, sec: TableReader, smoothing: Smoothing) -> ControlTarget:
        param = sec.choice("param", tuple(CONTINUOUS_PARAMS))
        source = self._channel(sec, "source")
        p_lo, p_hi = CONTINUOUS_PARAMS[param]
        lo = sec.number("min", lo=p_lo, hi=p_hi)
        hi = sec.number("max", lo=p_lo, hi=p_hi)
        self._check_order(sec, lo, hi)
        invert = sec.boolean("invert", False)
        curve = sec.choice("curve", tuple(CURVES), "linear")
        smooth = self._smoothing(sec.table("smoothing"), smoothing)
        sec.finish()
        return ControlTarget(param, source, lo, hi, invert, curve, smooth)

    def _switch(self, sec: TableReader) -> SwitchTarget:
        param = sec.choice("param", PARAM_NAMES)
        source = self._channel(sec, "source")
        action = sec.choice("action", SWITCH_ACTIONS, "hold")
        touched = param_value(sec, "touched", param)
        released = param_value(sec, "released", param) if sec.has("released") else None
        sec.finish()
        return SwitchTarget(param, source, action, touched, released)

    def _params(self, sec: TableReader, controlled: Mapping[str, str]) -> dict[str, ParamValue]:
        params: dict[str, ParamValue] = {}
        for name in sec.names():
            if name not in PARAM_NAMES:
                raise sec.fail(name, "unknown key, not an engine parameter", ", ".join(PARAM_NAMES))
            if name in controlled:
                raise sec.fail(name, f"is driven by [[controls]] (source {controlled[name]}), so a fixed "
                                     "value here would never be heard",
                               "parameters no control drives; change a control's range with min/max")
            params[name] = param_value(sec, name, name)
        sec.finish(PARAM_NAMES)
        return params

    def _presets(self, sec: TableReader, controls: tuple[ControlTarget, ...],
                 pitch: PitchKeys | None) -> tuple[Preset, ...]:
        by_param = {c.param: c for c in controls}
        presets = []
        for name in sec.names():
            pre = sec.table(name)
            params = self._params(pre.table("params"), {c.param: c.source for c in controls})
            overrides = {}
            ctl_sec = pre.table("controls")
            for param in ctl_sec.names():
                if param not in by_param:
                    raise ctl_sec.fail(param, "is not driven by any [[controls]] entry",
                                       ", ".join(by_param) or "(no controls are defined)")
                overrides[param] = self._control_override(ctl_sec.table(param), by_param[param])
            ctl_sec.finish()
            transpose = pre.number("transpose", lo=-48.0, hi=48.0) if pre.has("transpose") else None
            notes = None
            if pre.has("notes"):
                if pitch is None:
                    raise pre.fail("notes", "set, but the map has no [pitch] keys",
                                   "no notes without [pitch]")
                notes = self._notes(pre, "notes", len(pitch.keys))
            pre.finish()
            presets.append(Preset(name, params, overrides, transpose, notes))
        sec.finish()
        return tuple(presets)

    def _control_override(self, sec: TableReader, control: ControlTarget) -> ControlOverride:
        p_lo, p_hi = CONTINUOUS_PARAMS[control.param]
        lo = sec.number("min", lo=p_lo, hi=p_hi) if sec.has("min") else None
        hi = sec.number("max", lo=p_lo, hi=p_hi) if sec.has("max") else None
        curve = sec.choice("curve", tuple(CURVES)) if sec.has("curve") else None
        self._check_order(sec, control.min if lo is None else lo, control.max if hi is None else hi)
        sec.finish()
        return ControlOverride(lo, hi, curve)

    # -- shared checks --------------------------------------------------------------------------

    def _channel_item(self, value: Any, fail: Fail) -> str:
        if not isinstance(value, str):
            raise fail(f"is {value!r} ({type(value).__name__}), not a channel name")
        if value not in self.channels:
            raise fail(f"is {value!r}, not a channel of this instrument")
        return value

    def _channel(self, sec: TableReader, key: str) -> str:
        return self._channel_item(sec.raw(key, allowed=self.channel_list),
                                  lambda problem: sec.fail(key, problem, self.channel_list))

    @staticmethod
    def _check_order(sec: TableReader, lo: float, hi: float) -> None:
        if lo >= hi:
            raise sec.fail("max", f"is {hi:g}, not above min ({lo:g})",
                           "max above min (set invert = true to reverse the direction)")

    def _check_unique(self, axes: tuple[AxisTarget, ...], controls: tuple[ControlTarget, ...],
                      switches: tuple[SwitchTarget, ...], pitch: PitchKeys | None) -> None:
        seen_axes: set[int] = set()
        for i, axis in enumerate(axes):
            if axis.axis in seen_axes:
                raise ConfigError(f"{self.source}: axes[{i}].axis: axis {axis.axis} is mapped twice; "
                                  "allowed: each latent axis once")
            seen_axes.add(axis.axis)
        seen_params: set[str] = set()
        for i, control in enumerate(controls):
            if control.param in seen_params:
                raise ConfigError(f"{self.source}: controls[{i}].param: {control.param!r} has two controls; "
                                  "allowed: one control per parameter")
            seen_params.add(control.param)
        touch_roles = {key: "pitch.keys" for key in (pitch.keys if pitch else ())}
        for i, switch in enumerate(switches):
            if switch.source in touch_roles:
                raise ConfigError(f"{self.source}: switches[{i}].source: {switch.source!r} is already used "
                                  f"by {touch_roles[switch.source]}; allowed: a channel that is neither a "
                                  "pitch key nor another switch")
            touch_roles[switch.source] = f"switches[{i}]"

