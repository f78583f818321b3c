"""From sensor frames to musical control: calibration, smoothing and the map (mapping layer).

`Mapper.update(frame)` runs once per sensor poll (500-1000 times a second, in the app's sensor
thread), so it sticks to plain floats, lists and small objects with slots: no numpy, and
nothing allocated but the returned `ControlState`, its params dict and a short list of key
amounts. The one exception is a learned mapping (`[learned]`): its regressor runs on numpy
buffers made once (`LearnedEvaluator`), a handful of calls per frame and no new arrays.
The two button actions, `recalibrate()` and `cycle_preset()`, only record a request that the next
`update` carries out, so a button thread may call them while another thread is
inside `update`.

Order per frame: each channel the map uses is calibrated to 0..1 (stale or missing channels keep
their last amount and learn nothing); continuous targets pass that amount through a One-Euro
filter, then invert, curve and range; a learned mapping smooths each of its inputs the same way
and sets the axes it drives from them; keys and switches compare it with the touch thresholds;
the gain envelope follows whether a key is held.
"""

from __future__ import annotations

from collections.abc import Callable

from device.errors import ConfigError
from device.mapping.calibration import ChannelCalibrator
from device.mapping.config import AxisTarget, ControlTarget, MapConfig, Preset, SwitchTarget
from device.mapping.control_state import ControlState, ParamValue
from device.mapping.curves import CURVES
from device.mapping.gain import GainEnvelope
from device.mapping.keys import PitchKeyboard, TouchSwitch
from device.mapping.learned import LearnedEvaluator, LearnedMapping
from device.mapping.map_file import load_map
from device.mapping.one_euro import OneEuroFilter
from device.sensors.frame import SensorFrame

_UNMAPPED_AXIS = 0.5  # where the engine holds an axis no target drives
_PITCH_WITHOUT_KEYS = 60.0  # a map with no [pitch] section plays middle C
# A learned preset chooser switches only when another preset's score (0..1, 1 at its recorded
# poses) leads the present one's by this much: a pose between two recorded ones must not flip
# presets back and forth on sensor noise.
PRESET_MARGIN = 0.2


class _Continuous:
    """Runtime of one axis or control target: filter, shape, scale; `value` is its last output."""

    __slots__ = ("axis", "cal", "curve", "filter", "invert", "lo", "param", "source", "span", "value")

    def __init__(self, target: AxisTarget | ControlTarget, cal: ChannelCalibrator) -> None:
        self.source = target.source
        self.cal = cal
        self.axis = target.axis if isinstance(target, AxisTarget) else -1
        self.param = target.param if isinstance(target, ControlTarget) else ""
        s = target.smoothing
        self.filter = OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)
        self.invert = target.invert
        self.shape(target.min, target.max, target.curve)
        self.value = self.lo + self.span * self.curve(1.0 if self.invert else 0.0)

    def shape(self, lo: float, hi: float, curve: str) -> None:
        self.lo = lo
        self.span = hi - lo
        self.curve: Callable[[float], float] = CURVES[curve]

    def update(self, t: float) -> float:
        x = self.filter(self.cal.output, t)
        if self.invert:
            x = 1.0 - x
        value = self.lo + self.span * self.curve(x)
        self.value = value
        return value


class _Switch:
    """Runtime of one switch target."""

    __slots__ = ("cal", "engaged", "param", "released", "source", "toggle", "touch", "touched")

    def __init__(self, target: SwitchTarget, cal: ChannelCalibrator, on: float, off: float) -> None:
        self.source = target.source
        self.cal = cal
        self.param = target.param
        self.toggle = target.action == "toggle"
        self.touched = target.touched
        self.released = target.released
        self.touch = TouchSwitch(on, off)
        self.engaged = False

    def update(self) -> None:
        onset = self.touch.update(self.cal.output)
        if self.toggle:
            if onset:
                self.engaged = not self.engaged
        else:
            self.engaged = self.touch.touched


class _Learned:
    """Runtime of a learned mapping: One-Euro filtered inputs, then the point model (the axes it
    sets, `values`) and the preset chooser (`choose()`)."""

    __slots__ = ("axes", "cals", "choice", "chooser", "filters", "point", "preset_indices", "sources",
                 "values")

    def __init__(self, learned: LearnedMapping, cals: dict[str, ChannelCalibrator],
                 preset_names: tuple[str, ...]) -> None:
        self.sources = learned.inputs
        self.cals = [cals[name] for name in learned.inputs]
        self.filters: list[OneEuroFilter] = []
        self.axes = learned.axes
        self.point = LearnedEvaluator(learned.point) if learned.point is not None else None
        self.chooser = LearnedEvaluator(learned.chooser) if learned.chooser is not None else None
        for model in (learned.point, learned.chooser):
            if model is not None and not self.filters:
                s = model.smoothing
                self.filters = [OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff) for _ in learned.inputs]
        # The chooser's outputs are the map's presets by name; the Mapper switches by index.
        self.preset_indices = [preset_names.index(name) for name in learned.presets]
        self.choice = -1  # the chooser's present pick (an output index); -1 before the first frame
        self.values: list[float] = []
        if self.point is not None:
            self.point.pose.fill(0.0)  # hands off: every channel at rest
            self.values = self.point.run().tolist()

    def update(self, t: float, held: set[str] | None) -> list[float]:
        """Smooth the inputs and run the point model; returns its axis values (empty without one)."""
        point, chooser = self.point, self.chooser
        for i, name in enumerate(self.sources):
            # A stale input keeps its last smoothed amount (as a stale direct axis keeps its value).
            if held is None or name not in held:
                value = self.filters[i](self.cals[i].output, t)
                if point is not None:
                    point.pose[i] = value
                if chooser is not None:
                    chooser.pose[i] = value
        if point is not None:
            self.values = point.run().tolist()
        return self.values

    def choose(self) -> int:
        """The Mapper's preset index the pose picks now, or -1 to leave the preset as it is: the pick
        changes only when another preset's score leads the present one's by `PRESET_MARGIN`."""
        assert self.chooser is not None
        scores = self.chooser.run()
        best = int(scores.argmax())
        choice = self.choice
        if best == choice or (choice >= 0 and scores[best] - scores[choice] <= PRESET_MARGIN):
            return -1
        self.choice = best
        return self.preset_indices[best]


class Mapper:
    """Calibration + One-Euro smoothing + the mapping file, as one `update(frame) -> ControlState`.

    `config` is a loaded mapping (`load_map(path)`); None uses the shipped default map.
    """

    def __init__(self, config: MapConfig | None = None) -> None:
        self.config = config = load_map() if config is None else config
        self._cals = {ch: ChannelCalibrator(config.calibration[ch], config.learn_s)
                      for ch in config.channels_used}
        self._cal_items = list(self._cals.items())
        self._presets: tuple[Preset, ...] = config.presets or (Preset("default"),)
        learned = config.learned
        self._learned = (_Learned(learned, self._cals, tuple(p.name for p in self._presets))
                         if learned is not None else None)
        learned_axes = learned.axes if learned is not None else ()
        # Axes the learned model drives are not driven directly as well.
        self._axes = [_Continuous(a, self._cals[a.source]) for a in config.axes if a.axis not in learned_axes]
        driven = (*(a.axis for a in config.axes), *learned_axes)
        self._point = [_UNMAPPED_AXIS] * (max(driven, default=-1) + 1)
        self._controls = [_Continuous(c, self._cals[c.source]) for c in config.controls]
        self._switches = [_Switch(s, self._cals[s.source], config.touch.on, config.touch.off)
                          for s in config.switches]
        pitch = config.pitch
        self._keyboard = None
        self._key_cals: list[ChannelCalibrator] = []
        if pitch is not None:
            self._keyboard = PitchKeyboard(pitch.notes, config.touch.on, config.touch.off, pitch.glide_ms,
                                           pitch.transpose)
            self._key_cals = [self._cals[k] for k in pitch.keys]
        g = config.gain
        self._gain = GainEnvelope(g.note, g.idle, g.attack_ms, g.release_ms)
        self._preset_index = 0
        self._preset_request = 0
        self._recalibrations_requested = 0
        self._recalibrations_done = 0
        self._base_params: dict[str, ParamValue] = {}
        self._apply_preset(0)
        # The freeze button latches freeze on top of whatever the map says (a plain flag: a
        # button thread sets it, the next update reads it).
        self.freeze_latched = False
        self._t: float | None = None
        self._state = ControlState(tuple(self._point_now()), self._pitch_now(), self._params_now(0.0), False)

    # -- the per-frame path ---------------------------------------------------------------------

    def update(self, frame: SensorFrame) -> ControlState:
        """Map one `SensorFrame` to the instrument's `ControlState` at that instant."""
        if self._recalibrations_requested != self._recalibrations_done:
            self._recalibrations_done = self._recalibrations_requested
            for cal in self._cals.values():
                cal.restart()
        if self._preset_request != self._preset_index:
            self._apply_preset(self._preset_request)

        t = frame.timestamp
        t_prev = self._t
        dt = t - t_prev if t_prev is not None and t > t_prev else 0.0
        self._t = t
        values = frame.values
        stale = frame.stale
        held: set[str] | None = None
        for name, cal in self._cal_items:
            v = values.get(name)
            # NaN compares unequal to itself: a reading that is not a number is held like a stale one.
            if v is None or v != v or name in stale:
                if held is None:
                    held = set()
                held.add(name)
                continue
            cal.update(v, t)

        point = self._point
        for axis in self._axes:
            if held is None or axis.source not in held:
                axis.update(t)
            point[axis.axis] = axis.value
        learned = self._learned
        if learned is not None:
            for axis_index, value in zip(learned.axes, learned.update(t, held), strict=True):
                point[axis_index] = value
            if learned.chooser is not None:
                pick = learned.choose()
                if pick >= 0:
                    self._preset_request = pick  # applied at the next frame, as a button press is
        for control in self._controls:
            if held is None or control.source not in held:
                control.update(t)

        trigger = False
        keyboard = self._keyboard
        if keyboard is not None:
            trigger = keyboard.update([c.output for c in self._key_cals], dt)
        for switch in self._switches:
            switch.update()

        state = ControlState(tuple(point), self._pitch_now(), self._params_now(dt), trigger)
        self._state = state
        return state

    def _params_now(self, dt: float) -> dict[str, ParamValue]:
        params = dict(self._base_params)
        for control in self._controls:
            params[control.param] = control.value
        for switch in self._switches:
            if switch.engaged:
                params[switch.param] = switch.touched
            elif switch.released is not None:
                params[switch.param] = switch.released
        if self.freeze_latched:
            params["freeze"] = True
        # Without pitch keys there is no note to wait for: play at the note level throughout.
        note_on = self._keyboard.any_held if self._keyboard is not None else True
        level = params.get("gain", 1.0)
        params["gain"] = self._gain.update(note_on, dt) * float(level)
        return params

    def _point_now(self) -> list[float]:
        for axis in self._axes:
            self._point[axis.axis] = axis.value
        if self._learned is not None:
            for axis_index, value in zip(self._learned.axes, self._learned.values, strict=True):
                self._point[axis_index] = value
        return self._point

    def _pitch_now(self) -> float:
        if self._keyboard is not None:
            return self._keyboard.pitch
        return _PITCH_WITHOUT_KEYS

    # -- buttons and inspection -----------------------------------------------------------------

    @property
    def state(self) -> ControlState:
        """The last state returned (before any frame: the resting state, gain 0)."""
        return self._state

    @property
    def key_held(self) -> bool:
        """True while a pitch key is touched."""
        return self._keyboard is not None and self._keyboard.any_held

    @property
    def preset(self) -> str:
        """Name of the preset in effect."""
        return self._presets[self._preset_index].name

    @property
    def preset_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self._presets)

    @property
    def calibrating(self) -> bool:
        """True while any channel is still learning its resting state (hands off)."""
        return self._recalibrations_requested != self._recalibrations_done or any(
            cal.learning for cal in self._cals.values())

    def recalibrate(self) -> None:
        """Relearn every channel's resting state from the next frames (the recalibrate button)."""
        self._recalibrations_requested += 1

    def cycle_preset(self) -> str:
        """Switch to the next preset (wrapping round) from the next frame on; returns its name."""
        index = (self._preset_request + 1) % len(self._presets)
        self._preset_request = index
        return self._presets[index].name

    def set_preset(self, name: str) -> None:
        """Switch to the preset called `name` from the next frame on."""
        names = self.preset_names
        if name not in names:
            raise ConfigError(
                f"no preset named {name!r} in {self.config.source}; allowed: {', '.join(names)}"
            )
        self._preset_request = names.index(name)

    def calibration_report(self) -> dict[str, dict[str, float | bool]]:
        """What each channel has learned: baseline, range, noise, dead-zone threshold, output."""
        return {
            name: {
                "learning": cal.learning,
                "baseline": cal.baseline,
                "range": cal.range,
                "noise": cal.noise,
                "threshold": cal.threshold,
                "output": cal.output,
            }
            for name, cal in self._cals.items()
        }

    def _apply_preset(self, index: int) -> None:
        config = self.config
        preset = self._presets[index]
        self._base_params = {**config.params, **preset.params}
        for control, target in zip(self._controls, config.controls, strict=True):
            change = preset.controls.get(target.param)
            if change is None:
                control.shape(target.min, target.max, target.curve)
            else:
                control.shape(target.min if change.min is None else change.min,
                              target.max if change.max is None else change.max,
                              target.curve if change.curve is None else change.curve)
        if self._keyboard is not None and config.pitch is not None:
            self._keyboard.set_scale(config.pitch.notes if preset.notes is None else preset.notes,
                                     config.pitch.transpose if preset.transpose is None else preset.transpose)
        self._preset_index = index
