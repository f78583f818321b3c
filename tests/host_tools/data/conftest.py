"""Fixtures for the data tests: a real soundfont through the real fluidsynth, and one small render."""

from __future__ import annotations

from pathlib import Path

import pytest

from host_tools.data.recipe import RenderRecipe, parse_recipe
from host_tools.data.render import RenderReport, render_dataset
from host_tools.data.soundfonts import INSTALL_HINT, soundfont_candidates
from host_tools.errors import DatasetError

# The fonts these tests were checked against, smallest first (TimGM6mb loads in 30 ms, FluidR3_GM 350 ms).
TEST_SOUNDFONTS = ("TimGM6mb.sf2", "FluidR3_GM.sf2")

# Two pitched programs x five pitches, and one key no GM preset sounds at 16 kHz (program 0, key 120).
SMALL_PROGRAMS = (0, 73)
SMALL_PITCHES = (48, 55, 60, 67, 72)
SILENT_NOTE = (0, 120)


@pytest.fixture(scope="session")
def soundfont() -> Path:
    from host_tools.data.fluid_renderer import _load_binding

    try:
        _load_binding()
    except DatasetError as err:
        pytest.skip(f"fluidsynth is not usable here: {err}")
    found = soundfont_candidates(TEST_SOUNDFONTS)
    if not found:
        pytest.skip(f"no General MIDI soundfont installed; {INSTALL_HINT}")
    return found[0]


def small_recipe(soundfont: Path) -> RenderRecipe:
    return parse_recipe(
        {
            "soundfont": str(soundfont),
            "velocities": [100],
            "groups": [
                {"name": "pitched", "programs": list(SMALL_PROGRAMS), "pitches": list(SMALL_PITCHES)},
                {"name": "silent", "programs": [SILENT_NOTE[0]], "pitches": [SILENT_NOTE[1]]},
            ],
        },
        "small test recipe",
    )


@pytest.fixture(scope="module")
def small_render(tmp_path_factory: pytest.TempPathFactory, soundfont: Path) -> tuple[Path, RenderReport]:
    out = tmp_path_factory.mktemp("render") / "set"
    report = render_dataset(small_recipe(soundfont), out, soundfont, progress=False)
    return out, report
