"""A micro data set in NSynth's layout (harmonic tones, two instruments, three pitches) and a config
shrunk far below `tiny` so a training step takes milliseconds, for the GAN tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from host_tools.gan.config import GanConfig, load_config

RATE = 16000
PITCHES = (60, 61, 62)

# Overrides of the shipped tiny config: 0.25 s notes, a 3-resolution network, batches of 2.
MICRO = {
    "data.families": [],
    "data.velocities": [],
    "data.pitches": [PITCHES[0], PITCHES[-1]],
    "audio.seconds": 0.25,
    "audio.n_fft": 128,
    "audio.hop": 64,
    "model.latent_dim": 8,
    "model.channels": [8, 8, 4],
    "model.disc_channels": [4, 8, 8],
    "train.batch_size": 2,
    "train.steps": 4,
    "train.threads": 1,
    "train.log_every": 1,
    "train.sample_every": 2,
    "train.checkpoint_every": 2,
    "train.audition_pitches": [60, 62],
    "train.audition_z": 1,
}


def micro_config(**changes: Any) -> GanConfig:
    return load_config("tiny", {**MICRO, **{k.replace("__", "."): v for k, v in changes.items()}})


def micro_overrides(**changes: Any) -> list[str]:
    """The same overrides as `--set` arguments for the CLI."""
    merged = {**MICRO, **changes}
    return [arg for key, value in merged.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


def _entry(family: str, number: int, pitch: int, rate: int) -> dict[str, Any]:
    instrument = f"{family}_synthetic_{number:03d}"
    return {
        "note_str": f"{instrument}-{pitch:03d}-100", "instrument_str": instrument,
        "instrument_family_str": family, "instrument_source_str": "synthetic",
        "pitch": pitch, "velocity": 100, "sample_rate": rate, "qualities_str": [],
    }


def write_micro_dataset(root: Path, pitches: tuple[int, ...] = PITCHES, rate: int = RATE,
                        seconds: float = 0.5) -> Path:
    """examples.json + audio/*.wav: a bright and a mellow harmonic tone at each pitch."""
    (root / "audio").mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    examples = {}
    for number, (family, rolloff) in enumerate((("brass", 0.8), ("flute", 0.3))):
        for pitch in pitches:
            f0 = 440.0 * 2 ** ((pitch - 69) / 12)
            tone = sum(rolloff**k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(6))
            audio = (0.4 * tone / np.max(np.abs(tone)) * np.exp(-2 * t)).astype(np.float32)
            entry = _entry(family, number, pitch, rate)
            examples[entry["note_str"]] = entry
            soundfile.write(root / "audio" / f"{entry['note_str']}.wav", audio, rate, subtype="PCM_16")
    (root / "examples.json").write_text(json.dumps(examples))
    return root


# The same micro scale for the harmonic-plus-noise ("ddsp") generator and its spectral critic.
MICRO_DDSP = {
    "audio.representation": "ddsp",
    "audio.n_fft": 256,
    "model.pitch_templates": False,
    "model.harmonics": 16,
    "model.noise_bands": 9,
}


def micro_ddsp_config(**changes: Any) -> GanConfig:
    return micro_config(**{**{k.replace(".", "__"): v for k, v in MICRO_DDSP.items()}, **changes})
