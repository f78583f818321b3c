"""Render recipes: the shipped default and the validation of hand-written ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.errors import ConfigError
from host_tools.data.gm_programs import GM_PROGRAMS
from host_tools.data.recipe import RECIPES_DIR, load_recipe, parse_pitches, parse_recipe

from ...hostile_files import SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly


def test_the_default_recipe_is_a_broad_training_set():
    recipe = load_recipe("default")
    notes = recipe.notes()
    programs = {program for program, _, _ in notes}
    pitches = [pitch for _, pitch, _ in notes]
    assert len(programs) >= 20
    assert len({GM_PROGRAMS[p].family for p in programs}) >= 6
    assert max(pitches) - min(pitches) >= 48  # at least four octaves
    assert len(notes) >= 3000 and len(notes) == len(set(notes))
    assert (recipe.sample_rate, recipe.total_frames, recipe.note_frames) == (16000, 64000, 48000)
    assert load_recipe(RECIPES_DIR / "default.toml") == recipe
    assert parse_recipe(recipe.to_config()) == recipe


@pytest.mark.parametrize(("name", "config"), [("medium", "medium"), ("quick", "quick")])
def test_the_gan_recipes_cover_their_configs_every_pitch_and_note_length(name: str, config: str) -> None:
    from host_tools.gan.config import load_config, note_samples, pitch_list

    recipe, cfg = load_recipe(name), load_config(config)
    pitches = {pitch for _, pitch, _ in recipe.notes()}
    assert set(pitch_list(cfg)) <= pitches
    assert recipe.total_frames >= note_samples(cfg) and recipe.sample_rate == cfg.audio.sample_rate
    assert len({GM_PROGRAMS[p].family for p, _, _ in recipe.notes()}) >= 6


def test_groups_share_the_top_level_velocities_unless_they_name_their_own():
    recipe = parse_recipe(
        {
            "velocities": "50,100",
            "groups": [
                {"programs": "flute", "pitches": "C4-D4"},
                {"programs": [32], "pitches": [40], "velocities": [127]},
            ],
        }
    )
    assert (32, 40, 127) in recipe.notes() and (73, 61, 50) in recipe.notes()
    assert len(recipe.notes()) == 8 * 3 * 2 + 1
    assert parse_pitches("C4-D4,72") == [60, 61, 62, 72]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"groups": [{"programs": [0], "pitches": "60"}], "rate": 16000},
         r"my\.toml: rate: unknown key; allowed in the top level: soundfont"),
        ({"groups": []}, r"groups: has 0 tables, needs at least 1; allowed: \[\[groups\]\] tables"),
        ({"groups": [{"programs": [0]}]}, r"groups\[0\]\.pitches: missing"),
        (
            {"groups": [{"programs": [0], "pitches": "60", "pitch": 3}]},
            r"groups\[0\]\.pitch: unknown key; allowed in groups\[0\]: name, programs, pitches",
        ),
        ({"groups": [{"programs": [120], "pitches": "60"}]}, r"groups\[0\]\.programs: GM program 120"),
        ({"groups": [{"programs": [0], "pitches": "60-130"}]}, "outside the MIDI range"),
        ({"groups": [{"programs": [0], "pitches": "70-60"}]}, "runs backwards"),
        ({"velocities": [0], "groups": [{"programs": [0], "pitches": "60"}]}, "velocity '0' must be"),
        ({"sample_rate": 1000, "groups": [{"programs": [0], "pitches": "60"}]},
         r"sample_rate: is 1000, out of range; allowed: a whole number from 8000"),
        (
            {"seconds": 2.0, "groups": [{"programs": [0], "pitches": "60"}]},
            r"note_seconds: is 3, longer than seconds \(2\)",
        ),
        ({"seconds": "4", "groups": [{"programs": [0], "pitches": "60"}]},
         r"seconds: is '4' \(string\), not a number"),
    ],
)
def test_bad_recipes_name_the_key(data: dict, problem: str):
    with pytest.raises(ConfigError, match=problem):
        parse_recipe(data, "my.toml")


def test_recipe_files_are_found_by_name_or_path_and_must_be_toml(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"recipe nonesuch not found.*default"):
        load_recipe("nonesuch")
    broken = tmp_path / "broken.toml"
    broken.write_text("groups = [[[\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_recipe(broken)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_recipe_files_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.toml")
    message = refused_quickly(lambda: load_recipe(path), ConfigError, case)
    assert message.startswith(f"{path}: ")
