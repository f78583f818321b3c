"""Strict validation of additive bank recipes: every bad key or value is named in a ConfigError."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from device.errors import ConfigError
from host_tools.bank.recipe import AdditiveRecipe, load_recipe, parse_recipe, with_overrides

from ...hostile_files import SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly

SHIPPED_RECIPE = Path(__file__).resolve().parents[3] / "models" / "additive-timbre.toml"


def test_empty_recipe_takes_the_defaults() -> None:
    recipe = parse_recipe({})
    assert recipe == AdditiveRecipe()
    assert recipe.pitches.notes() == (36, 42, 48, 54, 60, 66, 72, 78, 84)
    assert recipe.segment_frames == 11025


def test_resolved_recipe_round_trips_through_its_config() -> None:
    recipe = parse_recipe({"seed": 7, "life": {"drift_rate_hz": [1, 2]}, "pitches": {"step": 12}})
    assert recipe.life.drift_rate_hz == (1.0, 2.0)
    assert parse_recipe(recipe.to_config()) == recipe


def test_integers_are_accepted_where_numbers_are_wanted() -> None:
    assert parse_recipe({"segment_seconds": 1}).segment_seconds == 1.0


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"colour": 1}, "colour"),
        ({"pitch": {"low": 40}}, "pitch"),
        ({"pitches": {"lowest": 40}}, "pitches.lowest"),
        ({"life": {"detune": 1.0}}, "life.detune"),
        ({"level": {"loudness_db": -20, "gain": 2}}, "level.gain"),
    ],
)
def test_unknown_keys_are_named(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=rf"^recipe: {named}: unknown key; allowed in "):
        parse_recipe(data)


@pytest.mark.parametrize(
    ("data", "named", "why"),
    [
        ({"seed": True}, "seed", "whole number"),
        ({"seed": 1.5}, "seed", "whole number"),
        ({"seed": -1}, "seed", "is -1, out of range"),
        ({"sample_rate": 11025}, "sample_rate", "not one of the allowed values; allowed: 16000, 22050"),
        ({"codec": "mp3"}, "codec", "not a known name; allowed: int16"),
        ({"name": "  "}, "name", "an empty name"),
        ({"segment_seconds": "long"}, "segment_seconds", "number"),
        ({"segment_seconds": 0.01}, "segment_seconds", "out of range; allowed: a number from 0.05 up to 4"),
        ({"segment_seconds": float("inf")}, "segment_seconds", "finite"),
        ({"pitches": {"high": 128}}, "pitches.high", "out of range; allowed: a whole number from 0 to 127"),
        ({"pitches": 60}, "pitches", "not a table"),
        ({"brightness": {"steps": 1}}, "brightness.steps", "out of range"),
        ({"brightness": {"slope_max_db_per_octave": 3.0}}, "brightness.slope_max_db_per_octave",
         "out of range"),
        ({"odd_even": {"curve": 0}}, "odd_even.curve", "out of range"),
        ({"band_limit": {"nyquist_fraction": 1.0}}, "band_limit.nyquist_fraction", "out of range"),
        ({"life": {"drift_rate_hz": [3.0, 1.0]}}, "life.drift_rate_hz", "not a rate range.*low <= high"),
        ({"life": {"drift_rate_hz": [1.0]}}, "life.drift_rate_hz", "needs exactly 2.*low, high"),
        ({"life": {"amp_drift_rate_hz": [0.0, 1.0]}}, "life.amp_drift_rate_hz", "not a rate range.*0 < low"),
        ({"life": {"drift_rate_hz": ["a", 1.0]}}, r"life.drift_rate_hz\[0\]", "number"),
        ({"level": {"ceiling_db": 3.0}}, "level.ceiling_db", "out of range"),
    ],
)
def test_bad_values_are_named_with_the_reason(data: dict[str, Any], named: str, why: str) -> None:
    with pytest.raises(ConfigError, match=rf"^recipe: {named}[ :].*{why}"):
        parse_recipe(data)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"pitches": {"low": 60, "high": 48}}, "pitches.low"),
        ({"pitches": {"low": 36, "high": 84, "step": 5}}, "pitches.step"),
        ({"brightness": {"slope_min_db_per_octave": -4.0, "slope_max_db_per_octave": -6.0}},
         "brightness.slope_min_db_per_octave"),
        ({"level": {"loudness_db": -3.0, "ceiling_db": -6.0}}, "level.loudness_db"),
    ],
)
def test_inconsistent_values_are_named(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_recipe(data)


def test_recipe_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: recipe file does not exist"):
        load_recipe(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_recipe(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 3\n")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_recipe(broken)
    typo = tmp_path / "typo.toml"
    typo.write_text("[life]\ndetune_cent = 2.0\n")
    with pytest.raises(ConfigError,
                       match=r"typo\.toml: life\.detune_cent: unknown key; allowed in \[life\]: detune_c"):
        load_recipe(typo)


def test_overrides_replace_recipe_keys_and_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text("seed = 3\n[pitches]\nlow = 48\nhigh = 72\nstep = 12\n")
    recipe = load_recipe(path, {"seed": 4, "pitches.step": 6, "brightness.steps": 3})
    assert (recipe.seed, recipe.pitches.notes(), recipe.brightness.steps) == (4, (48, 54, 60, 66, 72), 3)
    with pytest.raises(ConfigError, match=r"r.toml: pitches.step = 7: "):
        load_recipe(path, {"pitches.step": 7})
    with pytest.raises(ConfigError, match="recipe key seed: expected a table"):
        with_overrides({"seed": 1}, {"seed.x": 2})


def test_shipped_recipe_spells_out_every_key() -> None:
    with open(SHIPPED_RECIPE, "rb") as f:
        data = tomllib.load(f)
    recipe = load_recipe(SHIPPED_RECIPE)
    assert data == recipe.to_config(), "the shipped recipe should document every setting explicitly"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_recipe_files_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.toml")
    message = refused_quickly(lambda: load_recipe(path), ConfigError, case)
    assert message.startswith(f"{path}: ")
