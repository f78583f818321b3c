"""Config files: the shipped ones load, anything unknown or malformed is refused before training."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from device.errors import ConfigError
from host_tools.gan.config import (
    SHIPPED,
    architecture_hash,
    load_config,
    note_samples,
    output_shape,
    parse_override,
    start_size,
)

from ...hostile_files import (
    JSON_TEXTS,
    SPECIAL_PATHS,
    TOML_TEXTS,
    Hostile,
    make,
    params,
    refused_quickly,
)
from .micro import micro_config


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_load_with_a_consistent_geometry(name: str) -> None:
    cfg = load_config(name)
    shape = output_shape(cfg)
    blocks = len(cfg.model.channels) - 1
    if cfg.audio.representation == "ddsp":  # audio out; control frames double per block
        frames = note_samples(cfg) // cfg.audio.hop + 1
        assert shape == (1, note_samples(cfg)) and start_size(cfg)[0] * 2**blocks >= frames
        return
    assert shape[0] == 2 and shape[1] % 2**blocks == 0 and shape[2] == cfg.audio.n_fft // 2


def test_full_is_gansynths_geometry() -> None:
    assert output_shape(load_config("full")) == (2, 128, 1024)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return str(path)


def _tiny_text() -> str:
    from host_tools.gan.config import config_path

    return config_path("tiny").read_text()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda t: t.replace("seed = 0", "seed = 0\nsede = 1"),
         "train.sede: unknown key; allowed in [train]: seed, batch_size"),
        (lambda t: t + "\n[extras]\nx = 1\n",
         "extras: unknown key; allowed in the top level: data, audio, model, train"),
        (lambda t: t.replace("gp_weight = 10.0\n", ""),
         "train.gp_weight: missing; allowed: a number of at least 0"),
        (lambda t: t.replace('representation = "spectral"', 'representation = "mel"'),
         "audio.representation"),
        (lambda t: t.replace("batch_size = 12", 'batch_size = "12"'), "train.batch_size"),
        (lambda t: t.replace("preload = true", "preload = 1"), "data.preload"),
        (lambda t: t.replace("n_fft = 512", "n_fft = 500"), "audio.n_fft"),
        (lambda t: t.replace("pitches = [60, 67]", "pitches = [67, 60]"), "data.pitches"),
        (lambda t: t.replace("audition_pitches = [60, 62, 64, 67]", "audition_pitches = [30]"),
         "train.audition_pitches"),
        (lambda t: t.replace("n_fft = 512", "n_fft = 32").replace("hop = 256", "hop = 16"),
         "cannot be halved"),
        (lambda t: t.replace("seconds = 1.0", "seconds = [1.0]"), "audio.seconds"),
    ],
)
def test_a_bad_config_file_is_refused_naming_the_fault(tmp_path: Path, edit, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_config(_write(tmp_path, edit(_tiny_text())))


def test_syntax_errors_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mine\.toml: not valid TOML \(.*line 1"):
        load_config(_write(tmp_path, "[data\n"))
    with pytest.raises(ConfigError, match="neither a shipped config"):
        load_config("huge")


def test_overrides_are_validated_like_the_file() -> None:
    assert load_config("tiny", {"train.steps": 7}).train.steps == 7
    with pytest.raises(ConfigError, match="names no config key"):
        load_config("tiny", {"train.stpes": 7})
    with pytest.raises(ConfigError, match=r"train\.steps"):
        load_config("tiny", {"train.steps": -1})
    assert parse_override("audio.representation=waveform") == ("audio.representation", "waveform")
    assert parse_override("model.channels=[8, 4]") == ("model.channels", [8, 4])
    with pytest.raises(ConfigError, match=r"section\.key=VALUE"):
        parse_override("steps")


def test_the_architecture_hash_follows_shapes_not_schedules() -> None:
    base = architecture_hash(micro_config())
    assert architecture_hash(micro_config(train__steps=99, train__lr=0.1)) == base
    assert architecture_hash(micro_config(model__channels=[8, 8, 8])) != base
    assert architecture_hash(micro_config(model__pitch_templates=False)) != base


def test_pitch_templates_need_the_spectral_representation() -> None:
    with pytest.raises(ConfigError, match="pitch_templates"):
        micro_config(audio__representation="waveform")
    assert micro_config(audio__representation="waveform", model__pitch_templates=False)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_toml_configs_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.toml")
    message = refused_quickly(lambda: load_config(str(path)), ConfigError, case)
    assert message.startswith(f"{path}: ")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(JSON_TEXTS))
def test_hostile_json_configs_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.json")
    message = refused_quickly(lambda: load_config(str(path)), ConfigError, case)
    assert message.startswith(f"{path}: ")


def test_a_json_config_loads_like_its_toml_and_its_syntax_errors_are_named(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(load_config("tiny").to_dict()))
    assert load_config(str(path)) == load_config("tiny")
    path.write_text('{"audio": ')
    with pytest.raises(ConfigError, match=r"mine\.json: not valid JSON \(Expecting value"):
        load_config(str(path))
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"mine\.json: is \[1, 2\] \(array\), not a table of keys"):
        load_config(str(path), {"train.steps": 3})


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS[:2] + TOML_TEXTS[4:]))
def test_hostile_set_values_are_refused_quickly(case: Hostile) -> None:
    assert case.text is not None
    value = case.text.removeprefix("v = ").strip()
    message = refused_quickly(lambda: parse_override(f"train.steps={value}"), ConfigError, case)
    assert message.startswith("--set 'train.steps=")
    # A value that is no TOML at all is still taken as a string.
    assert parse_override("data.name=not toml [") == ("data.name", "not toml [")
