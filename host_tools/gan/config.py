"""GAN training configs: shipped TOML files (tiny, small, full) or the user's own, strictly validated
(host training layer).

Every key must be present with the right type and no unknown key is accepted, so a typo fails before
a minute of training is spent. The validated config is a plain nested dict (JSON-serialisable): it is
saved into the run directory, and the part that decides tensor shapes is hashed so that a checkpoint
from another architecture is refused by name rather than by a shape error deep inside torch.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from device.errors import ConfigError
from device.safe_read import loads_toml, read_json, read_toml

SHIPPED = ("tiny", "quick", "medium", "small", "full")
REPRESENTATIONS = ("spectral", "waveform", "ddsp")
WAVEFORM_STRIDE = 4  # upsampling factor per waveform generator block (WaveGAN's)

# section -> key -> (accepted types, check, what it must be)
_POSITIVE_INT = ((int,), lambda v: v > 0, "a positive integer")
_NON_NEG_INT = ((int,), lambda v: v >= 0, "an integer >= 0")
_POSITIVE = ((int, float), lambda v: v > 0, "a positive number")
_NON_NEG = ((int, float), lambda v: v >= 0, "a number >= 0")
_STR_LIST = ((list,), lambda v: all(isinstance(x, str) for x in v), "a list of strings")
_INT_LIST = ((list,), lambda v: all(isinstance(x, int) and not isinstance(x, bool) for x in v),
             "a list of integers")
_CHANNELS = ((list,), lambda v: len(v) >= 2 and all(isinstance(x, int) and x > 0 for x in v),
             "a list of at least two positive integers")

SCHEMA: dict[str, dict[str, tuple]] = {
    "data": {
        "families": _STR_LIST,
        "sources": _STR_LIST,
        "velocities": _INT_LIST,
        "pitches": ((list,), lambda v: len(v) == 2 and all(isinstance(x, int) for x in v)
                    and 0 <= v[0] <= v[1] <= 127, "[low, high] MIDI pitches with 0 <= low <= high <= 127"),
        "preload": ((bool,), lambda v: True, "true or false"),
        "num_workers": _NON_NEG_INT,
    },
    "audio": {
        "sample_rate": _POSITIVE_INT,
        "seconds": _POSITIVE,
        "representation": ((str,), lambda v: v in REPRESENTATIONS, f"one of {', '.join(REPRESENTATIONS)}"),
        "n_fft": ((int,), lambda v: v >= 16 and v & (v - 1) == 0, "a power of two >= 16"),
        "hop": _POSITIVE_INT,
    },
    "model": {
        "latent_dim": _POSITIVE_INT,
        "channels": _CHANNELS,
        "disc_channels": _CHANNELS,
        "pitch_templates": ((bool,), lambda v: True, "true or false"),
        "harmonics": ((int,), lambda v: 1 <= v <= 512, "an integer from 1 to 512"),
        "noise_bands": ((int,), lambda v: 2 <= v <= 1025, "an integer from 2 to 1025"),
    },
    "train": {
        "seed": _NON_NEG_INT,
        "batch_size": ((int,), lambda v: v >= 2, "an integer >= 2 (the critic uses batch statistics)"),
        "steps": _NON_NEG_INT,
        "lr": _POSITIVE,
        "betas": ((list,), lambda v: len(v) == 2 and all(isinstance(x, (int, float)) and 0 <= x < 1
                                                          for x in v), "[beta1, beta2], each in [0, 1)"),
        "gp_weight": _NON_NEG,
        "aux_weight": _NON_NEG,
        "drift_weight": _NON_NEG,
        "ema_decay": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1) (0: no averaging)"),
        "threads": _POSITIVE_INT,
        "log_every": _POSITIVE_INT,
        "sample_every": _POSITIVE_INT,
        "checkpoint_every": _POSITIVE_INT,
        "keep_checkpoints": _POSITIVE_INT,
        "audition_pitches": _INT_LIST,
        "audition_z": _POSITIVE_INT,
    },
}

# Keys added after runs were already saved: a config without them means what it meant before.
DEFAULTS: dict[str, dict[str, Any]] = {"model": {"harmonics": 64, "noise_bands": 65}}

# The sections and keys that decide the networks' tensor shapes and what their outputs mean.
ARCHITECTURE_KEYS = {
    "audio": ("sample_rate", "seconds", "representation", "n_fft", "hop"),
    "model": ("latent_dim", "channels", "disc_channels", "pitch_templates", "harmonics", "noise_bands"),
    "data": ("pitches",),
}


def config_path(name_or_path: str) -> Path:
    if name_or_path in SHIPPED:
        return Path(str(resources.files("host_tools.gan") / "configs" / f"{name_or_path}.toml"))
    path = Path(name_or_path)
    # Whatever else is there (a directory, a FIFO, a device) is refused by name when it is read.
    if not os.path.lexists(path):
        raise ConfigError(
            f"config {name_or_path!r} is neither a shipped config ({', '.join(SHIPPED)}) nor a file; "
            "copy host_tools/gan/configs/tiny.toml and edit the copy"
        )
    return path


def load_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The validated config: a shipped name or a TOML/JSON file, then `overrides` ({"train.steps": 5})."""
    path = config_path(name_or_path)
    what = "a GAN config file (.toml or .json)"
    try:
        # Bounded: a FIFO, a device, a huge or hostile file is refused by name, never hangs.
        if path.suffix == ".json":
            raw = read_json(path, what=what, error=ConfigError, raise_syntax_errors=True)
        else:
            raw = read_toml(path, what=what, error=ConfigError, raise_syntax_errors=True)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config ({err}); fix the file's syntax") from None
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if section not in SCHEMA or key not in SCHEMA[section]:
            raise ConfigError(
                f"override {dotted!r} names no config key; keys are section.key, e.g. train.steps"
            )
        table = raw.setdefault(section, {}) if isinstance(raw, dict) else None
        # A file whose top or section is no table gets no override: validate_config names the fault.
        if isinstance(table, dict):
            table[key] = value
    return validate_config(raw, str(path))


def parse_override(text: str) -> tuple[str, Any]:
    """`section.key=VALUE`, VALUE read as a TOML value (5, 0.5, "waveform", [48, 60]) or else a string."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key:
        raise ConfigError(f"--set {text!r}: write section.key=VALUE, e.g. --set train.steps=200")
    try:
        # Bounded like a file: deep nesting or a giant number is refused, not a crash.
        parsed = loads_toml(f"v = {value}", source=f"--set {_clip(text)!r}", error=ConfigError,
                            raise_syntax_errors=True)["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def _clip(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters, to quote a hostile command-line value in one line."""
    return text if len(text) <= limit else text[:limit] + "…"


def validate_config(raw: Any, origin: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a config is a table of sections ({', '.join(SCHEMA)})")
    raw = copy.deepcopy(raw)
    for section, defaults in DEFAULTS.items():
        if isinstance(raw.get(section), dict):
            for key, value in defaults.items():
                raw[section].setdefault(key, value)
    problems = [f"unknown section [{s}]" for s in raw if s not in SCHEMA]
    for section, keys in SCHEMA.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            problems.append(f"missing section [{section}]")
            continue
        problems += [f"unknown key {section}.{k}" for k in table if k not in keys]
        for key, (types, check, wanted) in keys.items():
            if key not in table:
                problems.append(f"missing key {section}.{key} ({wanted})")
                continue
            value = table[key]
            ok_type = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if not ok_type or not check(value):
                problems.append(f"{section}.{key} = {value!r} must be {wanted}")
    if not problems:
        problems = _geometry_problems(raw)
    if problems:
        raise ConfigError(f"{origin}: " + "; ".join(problems) + " (see host_tools/gan/configs/tiny.toml)")
    return copy.deepcopy({s: {k: raw[s][k] for k in SCHEMA[s]} for s in SCHEMA})


def _geometry_problems(cfg: dict[str, Any]) -> list[str]:
    audio, model = cfg["audio"], cfg["model"]
    if len(model["channels"]) != len(model["disc_channels"]):
        return ["model.channels and model.disc_channels must have one entry per resolution each"]
    samples = note_samples(cfg)
    low, high = cfg["data"]["pitches"]
    outside = [p for p in cfg["train"]["audition_pitches"] if not low <= p <= high]
    if outside or not cfg["train"]["audition_pitches"]:
        return [f"train.audition_pitches {cfg['train']['audition_pitches']} must be a non-empty list "
                f"within data.pitches [{low}, {high}]"]
    if model["pitch_templates"] and audio["representation"] != "spectral":
        return ["model.pitch_templates = true needs audio.representation = \"spectral\""]
    if audio["representation"] == "ddsp":
        if samples < audio["n_fft"] or audio["hop"] > samples:
            return [f"a note of {samples} samples must hold audio.n_fft {audio['n_fft']} (the critic's "
                    f"longest STFT) and audio.hop {audio['hop']} (one control frame)"]
        return []
    if audio["representation"] == "spectral":
        if audio["hop"] > audio["n_fft"]:
            return [f"audio.hop {audio['hop']} must not exceed audio.n_fft {audio['n_fft']}"]
        if audio["n_fft"] // 2 % 2 ** (len(model["channels"]) - 1):
            return [f"audio.n_fft / 2 = {audio['n_fft'] // 2} frequency bins cannot be halved "
                    f"{len(model['channels']) - 1} times; use fewer channels entries or a larger n_fft"]
        if samples < audio["n_fft"]:
            return [f"a note of {samples} samples is shorter than audio.n_fft {audio['n_fft']}"]
    return []


def note_samples(cfg: dict[str, Any]) -> int:
    return round(cfg["audio"]["seconds"] * cfg["audio"]["sample_rate"])


def pitch_list(cfg: dict[str, Any]) -> list[int]:
    low, high = cfg["data"]["pitches"]
    return list(range(low, high + 1))


def output_shape(cfg: dict[str, Any]) -> tuple[int, ...]:
    """The generator's output shape per note: (channels, *dims) (`start_size` gives the first block's)."""
    audio, blocks = cfg["audio"], len(cfg["model"]["channels"]) - 1
    samples = note_samples(cfg)
    if audio["representation"] == "spectral":
        frames = samples // audio["hop"] + 1  # torch.stft with center=True
        start_t = math.ceil(frames / 2**blocks)
        return (2, start_t * 2**blocks, audio["n_fft"] // 2)
    if audio["representation"] == "ddsp":
        return (1, samples)
    factor = WAVEFORM_STRIDE**blocks
    return (1, math.ceil(samples / factor) * factor)


def start_size(cfg: dict[str, Any]) -> tuple[int, ...]:
    blocks = len(cfg["model"]["channels"]) - 1
    shape = output_shape(cfg)
    if cfg["audio"]["representation"] == "spectral":
        return (shape[1] // 2**blocks, shape[2] // 2**blocks)
    if cfg["audio"]["representation"] == "ddsp":  # control frames, doubled by each block
        frames = note_samples(cfg) // cfg["audio"]["hop"] + 1
        return (math.ceil(frames / 2**blocks),)
    return (shape[1] // WAVEFORM_STRIDE**blocks,)


def architecture_hash(cfg: dict[str, Any]) -> str:
    chosen = {s: {k: cfg[s][k] for k in keys} for s, keys in ARCHITECTURE_KEYS.items()}
    if cfg["audio"]["representation"] != "ddsp":  # keys only the synthesiser reads: older hashes hold
        for key in DEFAULTS["model"]:
            del chosen["model"][key]
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]


def architecture_summary(cfg: dict[str, Any]) -> str:
    a, m = cfg["audio"], cfg["model"]
    return (f"{a['representation']} {a['seconds']:g} s at {a['sample_rate']} Hz (n_fft {a['n_fft']}, "
            f"hop {a['hop']}), z {m['latent_dim']}, pitches {cfg['data']['pitches']}, "
            f"channels {m['channels']}/{m['disc_channels']}")
