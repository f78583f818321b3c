"""The one way to write pitches on the command line and in recipes (shared by all layers).

Every option that takes pitches (`--pitch`, `--pitches`) and every recipe `pitches` key reads them
with this module, so one grammar holds everywhere:

    60              a MIDI number 0..127
    C4  F#3  Bb2    a note name: letter, optional # or b, octave (C4 = 60, C-1 = 0, G9 = 127)
    60-67  C3-C5    an inclusive range, low first
    36-84:6         a range with a step: 36, 42, ..., 84 (the last is kept only if the step lands on it)
    48,60,72        a comma-separated list of any of the above (spaces allowed)

A list comes back sorted with each pitch once. Malformed text is a ConfigError (a ValueError) that
names the option, says what was wrong and shows these forms; device code may use this module too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from device.errors import ConfigError

MIDI_LOW, MIDI_HIGH = 0, 127
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Shown in every error, so a mistyped value is answered with everything that would have worked.
PITCH_FORMS = "MIDI numbers (60), note names (C4, F#3, Bb2; C4 = 60), ranges (60-67, C3-C5), " \
              "ranges with a step (36-84:6) or comma-separated lists of these (48,60,72)"

_ONE = r"(?:\d+|[A-Ga-g][#b]?-?\d+)"
_TOKEN = re.compile(rf"(?P<low>{_ONE})(?:-(?P<high>{_ONE})(?::(?P<step>\d+))?)?")


def pitch_name(pitch: int) -> str:
    """The note name of a MIDI number, sharps for black keys: 60 -> C4, 61 -> C#4."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _one(text: str) -> int:
    """A MIDI number or note name; ValueError with a short reason otherwise."""
    if text.isdigit():
        value = int(text)
    else:
        letter, rest = text[0].upper(), text[1:]
        accidental = 0
        if rest[:1] in ("#", "b"):
            accidental = 1 if rest[0] == "#" else -1
            rest = rest[1:]
        value = _NATURALS[letter] + accidental + 12 * (int(rest) + 1)
    if not MIDI_LOW <= value <= MIDI_HIGH:
        raise ValueError(f"{text!r} is outside the MIDI range {MIDI_LOW}..{MIDI_HIGH}")
    return value


def _token(token: str) -> list[int]:
    found = _TOKEN.fullmatch(token)
    if found is None:
        raise ValueError(f"{token!r} is not a pitch")
    low = _one(found["low"])
    if found["high"] is None:
        return [low]
    high = _one(found["high"])
    if low > high:
        raise ValueError(f"range {token!r} runs backwards (write the low pitch first)")
    step = int(found["step"] or 1)
    if step < 1:
        raise ValueError(f"range {token!r} has step 0 (a step is at least 1 semitone)")
    return list(range(low, high + 1, step))


def parse_pitches(text: str, option: str = "--pitches") -> list[int]:
    """Pitches in the grammar above as a sorted list without repeats; `option` names them in errors."""
    tokens = [t.strip() for t in str(text).split(",")]
    if not any(tokens):
        raise ConfigError(f"{option} is empty; write {PITCH_FORMS}")
    values: set[int] = set()
    for token in tokens:
        if not token:
            raise ConfigError(f"{option}: {text!r} has an empty item between commas; write {PITCH_FORMS}")
        try:
            values.update(_token(token))
        except ValueError as err:
            raise ConfigError(f"{option}: {err}; write {PITCH_FORMS}") from None
    return sorted(values)


def parse_pitch(text: str | int, option: str = "--pitch") -> int:
    """Exactly one pitch: a MIDI number or a note name (a range or list is refused, not cut short)."""
    token = str(text).strip()
    found = _TOKEN.fullmatch(token)
    if found is None and "," not in token:
        raise ConfigError(f"{option}: {token!r} is not a pitch; write a MIDI number (60) or a note name "
                          "(C4, F#3, Bb2; C4 = 60)")
    if found is None or found["high"] is not None:
        raise ConfigError(f"{option}: {token!r} names several pitches; give one, like 60 or C4")
    try:
        return _one(found["low"])
    except ValueError as err:
        raise ConfigError(f"{option}: {err}") from None


def parse_pitch_spec(spec: str | int | Sequence[str | int], what: str = "pitches") -> list[int]:
    """A recipe's pitches: a string in the grammar above, one MIDI number, or a list of either."""
    if isinstance(spec, bool):
        raise ConfigError(f"{what} must be pitches, not {spec!r}; write {PITCH_FORMS}")
    if isinstance(spec, int):
        return parse_pitches(str(spec), what)
    if isinstance(spec, str):
        return parse_pitches(spec, what)
    if isinstance(spec, Sequence) and spec and all(isinstance(s, str | int) and not isinstance(s, bool)
                                                   for s in spec):
        return parse_pitches(",".join(str(s) for s in spec), what)
    raise ConfigError(f"{what} must be a string like '24-84' or a list of MIDI numbers, not {spec!r}")
