"""Finding a General MIDI soundfont at the standard paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from host_tools.data.soundfonts import find_soundfont, resolve_soundfont, soundfont_candidates
from host_tools.errors import DatasetError


def test_the_best_installed_font_wins_and_links_count_once(tmp_path: Path):
    sf2, shared = tmp_path / "sf2", tmp_path / "soundfonts"
    sf2.mkdir()
    shared.mkdir()
    (sf2 / "TimGM6mb.sf2").write_bytes(b"x")
    (sf2 / "default-GM.sf2").symlink_to(sf2 / "TimGM6mb.sf2")
    assert soundfont_candidates(dirs=[sf2, shared]) == [sf2 / "TimGM6mb.sf2"]
    (shared / "FluidR3_GM.sf2").write_bytes(b"x")
    assert find_soundfont(dirs=[sf2, shared]) == shared / "FluidR3_GM.sf2"


def test_no_font_says_which_packages_to_install(tmp_path: Path):
    with pytest.raises(DatasetError, match="no General MIDI soundfont found") as caught:
        find_soundfont(dirs=[tmp_path])
    assert "apt-get install fluidsynth" in str(caught.value)
    assert "fluid-soundfont-gm" in str(caught.value) and "--soundfont" in str(caught.value)
    with pytest.raises(DatasetError, match=r"soundfont .*absent\.sf2 does not exist"):
        resolve_soundfont(tmp_path / "absent.sf2")
