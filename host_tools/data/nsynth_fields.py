"""NSynth's vocabulary: its families, sources, qualities, field names and note naming (host data layer).

Shared by the renderer (which writes NSynth's layout), the dataset reader (which reads any directory in
that layout, the real NSynth release included) and the stats report. The index of each name in its
tuple is the number NSynth stores beside the name (`instrument_family` for `instrument_family_str`...).
"""

from __future__ import annotations

import math

FAMILIES: tuple[str, ...] = (
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
)
SOURCES: tuple[str, ...] = ("acoustic", "electronic", "synthetic")
QUALITIES: tuple[str, ...] = (
    "bright",
    "dark",
    "distortion",
    "fast_decay",
    "long_release",
    "multiphonic",
    "nonlinear_env",
    "percussive",
    "reverb",
    "tempo-synced",
)

# Fields every example must have for us to use it (the rest are derived when a third party omits them).
REQUIRED_FIELDS: tuple[str, ...] = (
    "note_str",
    "pitch",
    "velocity",
    "instrument_str",
    "instrument_family_str",
    "instrument_source_str",
    "sample_rate",
)
# Every field of an example in NSynth's json release.
ALL_FIELDS: tuple[str, ...] = (
    *REQUIRED_FIELDS,
    "qualities_str",
    "note",
    "instrument",
    "instrument_family",
    "instrument_source",
    "qualities",
)

NSYNTH_SAMPLE_RATE = 16000
NSYNTH_SECONDS = 4.0
NSYNTH_NOTE_SECONDS = 3.0
NSYNTH_VELOCITIES: tuple[int, ...] = (25, 50, 75, 100, 127)

_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def instrument_str(family: str, source: str, number: int) -> str:
    """NSynth's instrument name, e.g. `guitar_acoustic_024`."""
    return f"{family}_{source}_{number:03d}"


def note_str(instrument: str, pitch: int, velocity: int) -> str:
    """NSynth's note name, e.g. `guitar_acoustic_024-060-100`; also the WAV's file stem."""
    return f"{instrument}-{pitch:03d}-{velocity:03d}"


def midi_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI note (60 -> C4)."""
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def hz_to_midi(freq: float) -> float:
    return 69.0 + 12.0 * math.log2(freq / 440.0)


def parse_midi_note(text: str) -> int:
    """A MIDI number (`60`) or a note name (`C4`, `F#3`, `Bb2`) as a MIDI number 0..127."""
    token = text.strip()
    if token.lstrip("-").isdigit():
        value = int(token)
    else:
        letter = token[:1].upper()
        rest = token[1:]
        accidental = 0
        if rest[:1] in ("#", "b"):
            accidental = 1 if rest[0] == "#" else -1
            rest = rest[1:]
        if letter not in "CDEFGAB" or not letter or not rest.lstrip("-").isdigit():
            raise ValueError(f"{text!r} is neither a MIDI number nor a note name like C4, F#3 or Bb2")
        value = _NOTE_NAMES.index(letter) + accidental + 12 * (int(rest) + 1)
    if not 0 <= value <= 127:
        raise ValueError(f"{text!r} is outside the MIDI range 0..127")
    return value
