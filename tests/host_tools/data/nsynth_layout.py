"""Directories in NSynth's own json/wav layout, written the way the real release is, for loader tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from host_tools.data.nsynth_fields import FAMILIES, QUALITIES, SOURCES

# (family, source, instrument number, pitch, velocity, qualities) in the style of NSynth's test split.
NOTES = (
    ("keyboard", "electronic", 98, 60, 75, ("dark",)),
    ("keyboard", "electronic", 98, 64, 127, ()),
    ("bass", "synthetic", 68, 40, 25, ("dark", "long_release")),
    ("guitar", "acoustic", 10, 52, 100, ("percussive", "fast_decay")),
    ("mallet", "acoustic", 62, 72, 50, ("percussive",)),
    ("flute", "synthetic", 0, 79, 100, ("bright",)),
)


def nsynth_entry(
    family: str,
    source: str,
    number: int,
    pitch: int,
    velocity: int,
    qualities: tuple[str, ...],
    sample_rate: int = 16000,
) -> dict[str, Any]:
    instrument = f"{family}_{source}_{number:03d}"
    return {
        "qualities": [int(q in qualities) for q in QUALITIES],
        "pitch": pitch,
        "note": 100000 + number * 128 + pitch,
        "instrument_source_str": source,
        "velocity": velocity,
        "instrument_str": instrument,
        "instrument": 500 + number,
        "sample_rate": sample_rate,
        "qualities_str": list(qualities),
        "instrument_source": SOURCES.index(source),
        "note_str": f"{instrument}-{pitch:03d}-{velocity:03d}",
        "instrument_family": FAMILIES.index(family),
        "instrument_family_str": family,
    }


def tone(pitch: int, frames: int, rate: int) -> np.ndarray:
    t = np.arange(frames) / rate
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return (0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-t)).astype(np.float32)


def write_nsynth_dir(
    root: Path, notes: tuple = NOTES, rate: int = 16000, frames: int = 64000
) -> dict[str, Any]:
    """examples.json + audio/<note_str>.wav (16-bit PCM mono); returns the json written."""
    (root / "audio").mkdir(parents=True, exist_ok=True)
    examples = {}
    for family, source, number, pitch, velocity, qualities in notes:
        entry = nsynth_entry(family, source, number, pitch, velocity, qualities, rate)
        examples[entry["note_str"]] = entry
        soundfile.write(
            root / "audio" / f"{entry['note_str']}.wav", tone(pitch, frames, rate), rate, subtype="PCM_16"
        )
    (root / "examples.json").write_text(json.dumps(examples, indent=4))
    return examples
