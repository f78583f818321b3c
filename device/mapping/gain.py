"""The note / idle gain envelope (mapping layer).

While a key is held the instrument plays at the note level; when none is, it falls to an idle
level instead of silence, so an installation never goes quiet. Changes are linear ramps in time
(attack up, release down) so a touch never steps the level: no clicks, whatever the engine does.
"""

from __future__ import annotations

# A zero ramp time means "jump": tested by identity, never multiplied (inf * 0 s would be NaN).
_JUMP = float("inf")


class GainEnvelope:
    """Linear ramps toward `note` or `idle`; `attack_ms`/`release_ms` are for a full 0 -> 1 change."""

    __slots__ = ("_down_per_s", "_up_per_s", "idle", "note", "value")

    def __init__(self, note: float, idle: float, attack_ms: float, release_ms: float,
                 start: float = 0.0) -> None:
        self.note = note
        self.idle = idle
        self._up_per_s = 1000.0 / attack_ms if attack_ms > 0.0 else _JUMP
        self._down_per_s = 1000.0 / release_ms if release_ms > 0.0 else _JUMP
        self.value = start

    def update(self, note_on: bool, dt: float) -> float:
        """Advance by `dt` seconds toward the note level (a key held) or the idle level."""
        target = self.note if note_on else self.idle
        value = self.value
        if value < target:
            rate = self._up_per_s
            value = target if rate == _JUMP or value + rate * dt >= target else value + rate * dt
        elif value > target:
            rate = self._down_per_s
            value = target if rate == _JUMP or value - rate * dt <= target else value - rate * dt
        self.value = value
        return value
