"""GAN training configs: shipped TOML files (tiny, small, full) or the user's own, strictly validated
(host training layer).

Every key must be present with the right type and no unknown key is accepted, so a typo fails before
a minute of training is spent; the reading is `device.config_file`'s, so each refusal names the file,
the key and what would be accepted. The validated config is a `GanConfig`: frozen sections (`data`,
`audio`, `model`, `train`) read as attributes (`cfg.model.harmonics`). `to_dict()` gives it back as
plain nested data, exactly as the file held it (4 stays 4, not 4.0): that is saved into the run
directory as config.json, and the part that decides tensor shapes is hashed, so that a checkpoint
from another architecture is refused by name rather than by a shape error deep inside torch.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from device.config_file import TableReader, load_table, top_table
from device.errors import ConfigError
from device.safe_read import loads_toml

SHIPPED = ("tiny", "quick", "medium", "small", "full")
REPRESENTATIONS = ("spectral", "waveform", "ddsp")
WAVEFORM_STRIDE = 4  # upsampling factor per waveform generator block (WaveGAN's)
# Added to every refusal: the shipped tiny config spells out every key with a comment.
HINT = "see host_tools/gan/configs/tiny.toml"

# Keys added after runs were already saved: a config without them means what it meant before.
DEFAULTS: dict[str, dict[str, Any]] = {"model": {"harmonics": 64, "noise_bands": 65}}

# The sections and keys that decide the networks' tensor shapes and what their outputs mean.
ARCHITECTURE_KEYS = {
    "audio": ("sample_rate", "seconds", "representation", "n_fft", "hop"),
    "model": ("latent_dim", "channels", "disc_channels", "pitch_templates", "harmonics", "noise_bands"),
    "data": ("pitches",),
}

_PITCHES = "[low, high] MIDI pitches with 0 <= low <= high <= 127"
_CHANNELS = "an array of at least two positive whole numbers, one per resolution"


@dataclass(frozen=True)
class DataConfig:
    """[data]: which notes train the GAN (empty lists: every family, source, velocity)."""

    families: tuple[str, ...]
    sources: tuple[str, ...]
    velocities: tuple[int, ...]
    pitches: tuple[int, int]
    preload: bool
    num_workers: int

    @classmethod
    def read(cls, t: TableReader) -> DataConfig:
        families = tuple(t.strings("families", min_len=0))
        sources = tuple(t.strings("sources", min_len=0))
        velocities = tuple(t.integers("velocities", min_len=0))
        low, high = t.integers("pitches", lo=0, hi=127, length=2, allowed=_PITCHES)
        if low > high:
            raise t.fail("pitches", f"is [{low}, {high}], low above high", _PITCHES)
        section = cls(families, sources, velocities, (low, high), t.boolean("preload"),
                      t.integer("num_workers", lo=0))
        t.finish()
        return section


@dataclass(frozen=True)
class AudioConfig:
    """[audio]: the notes' rate and length and how the generator represents them."""

    sample_rate: int
    seconds: float  # as written: a whole number stays an int (it is hashed)
    representation: str
    n_fft: int
    hop: int

    @classmethod
    def read(cls, t: TableReader) -> AudioConfig:
        sample_rate = t.integer("sample_rate", lo=1)
        seconds = t.number("seconds", lo=0, lo_open=True, exact=True)
        representation = t.choice("representation", REPRESENTATIONS)
        n_fft = t.integer("n_fft", lo=16)
        if n_fft & (n_fft - 1):
            raise t.fail("n_fft", f"is {n_fft}, not a power of two", "a power of two of at least 16")
        section = cls(sample_rate, seconds, representation, n_fft, t.integer("hop", lo=1))
        t.finish()
        return section


@dataclass(frozen=True)
class ModelConfig:
    """[model]: the networks' sizes (and the DDSP synthesiser's, read only for "ddsp")."""

    latent_dim: int
    channels: tuple[int, ...]
    disc_channels: tuple[int, ...]
    pitch_templates: bool
    harmonics: int
    noise_bands: int

    @classmethod
    def read(cls, t: TableReader) -> ModelConfig:
        defaults = DEFAULTS["model"]
        section = cls(
            latent_dim=t.integer("latent_dim", lo=1),
            channels=tuple(t.integers("channels", lo=1, min_len=2, allowed=_CHANNELS)),
            disc_channels=tuple(t.integers("disc_channels", lo=1, min_len=2, allowed=_CHANNELS)),
            pitch_templates=t.boolean("pitch_templates"),
            harmonics=t.integer("harmonics", defaults["harmonics"], lo=1, hi=512),
            noise_bands=t.integer("noise_bands", defaults["noise_bands"], lo=2, hi=1025),
        )
        t.finish()
        return section


@dataclass(frozen=True)
class TrainConfig:
    """[train]: the optimisation, its schedule and what is logged and kept."""

    seed: int
    batch_size: int
    steps: int
    lr: float
    betas: tuple[float, float]
    gp_weight: float
    aux_weight: float
    drift_weight: float
    ema_decay: float
    threads: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    keep_checkpoints: int
    audition_pitches: tuple[int, ...]
    audition_z: int

    @classmethod
    def read(cls, t: TableReader) -> TrainConfig:
        # Numbers are kept as written (exact): the config is saved back and compared as it was.
        seed = t.integer("seed", lo=0)
        batch_size = t.integer("batch_size", lo=2)  # the critic uses batch statistics
        steps = t.integer("steps", lo=0)
        lr = t.number("lr", lo=0, lo_open=True, exact=True)
        beta1, beta2 = t.numbers("betas", lo=0, hi=1, hi_open=True, length=2, exact=True,
                                 allowed="[beta1, beta2], each from 0 up to below 1")
        section = cls(
            seed=seed, batch_size=batch_size, steps=steps, lr=lr, betas=(beta1, beta2),
            gp_weight=t.number("gp_weight", lo=0, exact=True),
            aux_weight=t.number("aux_weight", lo=0, exact=True),
            drift_weight=t.number("drift_weight", lo=0, exact=True),
            ema_decay=t.number("ema_decay", lo=0, hi=1, hi_open=True, exact=True),  # 0: no averaging
            threads=t.integer("threads", lo=1),
            log_every=t.integer("log_every", lo=1),
            sample_every=t.integer("sample_every", lo=1),
            checkpoint_every=t.integer("checkpoint_every", lo=1),
            keep_checkpoints=t.integer("keep_checkpoints", lo=1),
            audition_pitches=tuple(t.integers("audition_pitches", min_len=0)),
            audition_z=t.integer("audition_z", lo=1),
        )
        t.finish()
        return section


SECTIONS: dict[str, Any] = {"data": DataConfig, "audio": AudioConfig, "model": ModelConfig,
                            "train": TrainConfig}


@dataclass(frozen=True)
class GanConfig:
    """A validated GAN training config; `to_dict()` is the plain data saved with a run."""

    data: DataConfig
    audio: AudioConfig
    model: ModelConfig
    train: TrainConfig

    @classmethod
    def from_mapping(cls, raw: Any, origin: str) -> GanConfig:
        """Validate parsed config data (a file's, a saved run's); `origin` names it in errors."""
        return cls.read(top_table(raw, origin, error=ConfigError, hint=HINT))

    @classmethod
    def read(cls, top: TableReader) -> GanConfig:
        cfg = cls(**{name: section.read(top.table(name, required=True))
                     for name, section in SECTIONS.items()})
        top.finish()
        problem = _geometry_problem(cfg)
        if problem:
            raise top.fail(problem[0], problem[1])
        return cfg

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The config as plain JSON-able data, in the file's order, arrays as lists."""
        return {
            name: {f.name: _plain(getattr(section, f.name)) for f in dataclasses.fields(section)}
            for name, section in ((name, getattr(self, name)) for name in SECTIONS)
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


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


def load_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> GanConfig:
    """The validated config: a shipped name or a TOML/JSON file, then `overrides` ({"train.steps": 5})."""
    return read_config_file(config_path(name_or_path), overrides)


def read_config_file(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> GanConfig:
    """A config file (TOML, or JSON such as a run's config.json), then `overrides`, validated."""
    # Bounded: a FIFO, a device, a huge or hostile file is refused by name, never hangs.
    raw = copy.deepcopy(dict(load_table(path, what="a GAN config file (.toml or .json)", error=ConfigError,
                                        hint=HINT).data))
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if section not in SECTIONS or key not in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            raise ConfigError(
                f"override {dotted!r} names no config key; keys are section.key, e.g. train.steps"
            )
        table = raw.setdefault(section, {})
        # A section that is no table gets no override: validation names the fault.
        if isinstance(table, dict):
            table[key] = value
    return GanConfig.from_mapping(raw, str(path))


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


def _geometry_problem(cfg: GanConfig) -> tuple[str, str] | None:
    """(dotted key, problem) where the sections do not fit together, or None."""
    audio, model, train = cfg.audio, cfg.model, cfg.train
    if len(model.channels) != len(model.disc_channels):
        return ("model.disc_channels", "model.channels and model.disc_channels must have one entry per "
                "resolution each")
    samples = note_samples(cfg)
    low, high = cfg.data.pitches
    outside = [p for p in train.audition_pitches if not low <= p <= high]
    if outside or not train.audition_pitches:
        return ("train.audition_pitches", f"{list(train.audition_pitches)} must be a non-empty list "
                f"within data.pitches [{low}, {high}]")
    if model.pitch_templates and audio.representation != "spectral":
        return ("model.pitch_templates", "true needs audio.representation = \"spectral\"")
    if audio.representation == "ddsp":
        if samples < audio.n_fft or audio.hop > samples:
            return ("audio.seconds", f"a note of {samples} samples must hold audio.n_fft {audio.n_fft} (the "
                    f"critic's longest STFT) and audio.hop {audio.hop} (one control frame)")
        return None
    if audio.representation == "spectral":
        if audio.hop > audio.n_fft:
            return ("audio.hop", f"{audio.hop} must not exceed audio.n_fft {audio.n_fft}")
        if audio.n_fft // 2 % 2 ** (len(model.channels) - 1):
            return ("audio.n_fft", f"audio.n_fft / 2 = {audio.n_fft // 2} frequency bins cannot be halved "
                    f"{len(model.channels) - 1} times; use fewer channels entries or a larger n_fft")
        if samples < audio.n_fft:
            return ("audio.seconds", f"a note of {samples} samples is shorter than audio.n_fft {audio.n_fft}")
    return None


def note_samples(cfg: GanConfig) -> int:
    return round(cfg.audio.seconds * cfg.audio.sample_rate)


def pitch_list(cfg: GanConfig) -> list[int]:
    low, high = cfg.data.pitches
    return list(range(low, high + 1))


def output_shape(cfg: GanConfig) -> tuple[int, ...]:
    """The generator's output shape per note: (channels, *dims) (`start_size` gives the first block's)."""
    audio, blocks = cfg.audio, len(cfg.model.channels) - 1
    samples = note_samples(cfg)
    if audio.representation == "spectral":
        frames = samples // audio.hop + 1  # torch.stft with center=True
        start_t = math.ceil(frames / 2**blocks)
        return (2, start_t * 2**blocks, audio.n_fft // 2)
    if audio.representation == "ddsp":
        return (1, samples)
    factor = WAVEFORM_STRIDE**blocks
    return (1, math.ceil(samples / factor) * factor)


def start_size(cfg: GanConfig) -> tuple[int, ...]:
    blocks = len(cfg.model.channels) - 1
    shape = output_shape(cfg)
    if cfg.audio.representation == "spectral":
        return (shape[1] // 2**blocks, shape[2] // 2**blocks)
    if cfg.audio.representation == "ddsp":  # control frames, doubled by each block
        frames = note_samples(cfg) // cfg.audio.hop + 1
        return (math.ceil(frames / 2**blocks),)
    return (shape[1] // WAVEFORM_STRIDE**blocks,)


def architecture_hash(cfg: GanConfig) -> str:
    # Hashed from the plain data, as before the config was typed: existing checkpoints keep their hash.
    plain = cfg.to_dict()
    chosen = {s: {k: plain[s][k] for k in keys} for s, keys in ARCHITECTURE_KEYS.items()}
    if cfg.audio.representation != "ddsp":  # keys only the synthesiser reads: older hashes hold
        for key in DEFAULTS["model"]:
            del chosen["model"][key]
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]


def architecture_summary(cfg: GanConfig) -> str:
    a, m = cfg.audio, cfg.model
    return (f"{a.representation} {a.seconds:g} s at {a.sample_rate} Hz (n_fft {a.n_fft}, "
            f"hop {a.hop}), z {m.latent_dim}, pitches {list(cfg.data.pitches)}, "
            f"channels {list(m.channels)}/{list(m.disc_channels)}")
