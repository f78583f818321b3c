"""Touch detection with hysteresis, and the monophonic pitch keyboard (mapping layer).

Keys follow last-note priority, as on a monophonic synthesizer: the most recently touched key
that is still held sounds; releasing it falls back to the previous held key without a new
note-on; releasing every key holds the last pitch (the instrument keeps sounding at idle level).
A glide, when set, moves the pitch to a new note over a fixed time whatever the interval.
"""

from __future__ import annotations

from collections.abc import Sequence


class TouchSwitch:
    """On above `on`, off again only below `off`, so a finger resting at a threshold cannot flicker."""

    __slots__ = ("off", "on", "touched")

    def __init__(self, on: float, off: float) -> None:
        self.on = on
        self.off = off
        self.touched = False

    def update(self, amount: float) -> bool:
        """Feed the channel's 0..1 amount; returns True only at a touch onset."""
        if self.touched:
            if amount < self.off:
                self.touched = False
            return False
        if amount >= self.on:
            self.touched = True
            return True
        return False


class PitchKeyboard:
    """Pitch from a row of touch keys: last-note priority, onsets as note-ons, optional glide."""

    __slots__ = ("_glide_from", "_glide_s", "_glide_t", "_held", "_notes", "_switches", "_target",
                 "pitch", "transpose")

    def __init__(self, notes: Sequence[float], on: float, off: float, glide_ms: float = 0.0,
                 transpose: float = 0.0) -> None:
        self._switches = [TouchSwitch(on, off) for _ in notes]
        self._notes = [float(n) for n in notes]
        self._glide_s = glide_ms / 1000.0
        self.transpose = float(transpose)
        self._held: list[int] = []  # indices of held keys, most recent last
        self._target = 0
        self._glide_from = self._glide_t = 0.0
        self.pitch = self._notes[0] + self.transpose

    @property
    def any_held(self) -> bool:
        return bool(self._held)

    @property
    def held_keys(self) -> tuple[int, ...]:
        """Indices of the keys held now, oldest touch first."""
        return tuple(self._held)

    def set_scale(self, notes: Sequence[float], transpose: float) -> None:
        """Change notes and transposition (a preset): a held key moves to its new note."""
        self._notes = [float(n) for n in notes]
        self.transpose = float(transpose)
        self._retarget(self._target)

    def update(self, amounts: Sequence[float], dt: float) -> bool:
        """Feed every key's 0..1 amount and the time since the last call; True at a note-on."""
        held = self._held
        onset = -1
        onset_amount = -1.0
        for i, switch in enumerate(self._switches):
            was = switch.touched
            a = amounts[i]
            if switch.update(a):
                held.append(i)
                # Two onsets in one frame: the firmer touch is taken as the later one.
                if a > onset_amount:
                    onset, onset_amount = i, a
            elif was and not switch.touched:
                held.remove(i)
        if onset >= 0:
            held.remove(onset)
            held.append(onset)
            self._retarget(onset)
        elif held and held[-1] != self._target:
            self._retarget(held[-1])
        self._glide(dt)
        return onset >= 0

    def _retarget(self, key: int) -> None:
        self._target = key
        self._glide_from = self.pitch
        self._glide_t = 0.0
        if self._glide_s <= 0.0:
            self.pitch = self._notes[key] + self.transpose

    def _glide(self, dt: float) -> None:
        if self._glide_s <= 0.0:
            return
        target = self._notes[self._target] + self.transpose
        if self.pitch == target:
            return
        self._glide_t += dt
        frac = self._glide_t / self._glide_s
        self.pitch = target if frac >= 1.0 else self._glide_from + (target - self._glide_from) * frac
