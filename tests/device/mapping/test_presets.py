"""Presets: the preset button steps through named overrides of the map, in file order."""

from __future__ import annotations

import pytest

from device.errors import ConfigError
from device.mapping import Mapper, parse_map

from .player import FIRM_TOUCH, Player


def test_the_default_map_starts_on_its_first_preset(player: Player) -> None:
    assert player.mapper.preset_names == ("home", "cloud", "bright")
    assert player.mapper.preset == "home"


def test_cycling_changes_params_ranges_and_transposition_from_the_next_frame(player: Player) -> None:
    mapper = player.mapper
    assert mapper.cycle_preset() == "cloud"
    assert mapper.preset == "home"  # a button thread only asks; the next update applies it
    state = player.frame()
    assert mapper.preset == "cloud"
    assert state.params["overlap"] == 8.0
    assert state.params["window"] == "tukey"
    assert state.params["position"] == 0.3
    assert state.params["grain_ms"] == 120.0  # e10 at rest = the cloud preset's minimum
    player.touch("e10", FIRM_TOUCH)
    assert player.play(1.0)[-1].params["grain_ms"] > 500.0
    player.release("e10")

    assert mapper.cycle_preset() == "bright"
    player.touch("e3")
    state = player.frame()
    assert state.pitch == 55.0 + 12.0 and state.trigger
    assert state.params["window"] == "hann"  # back to [params]: presets do not accumulate
    player.touch("e11", FIRM_TOUCH)
    assert player.play(1.0)[-1].params["jitter"] <= 0.2

    assert mapper.cycle_preset() == "home"  # wraps round
    state = player.frame()
    assert state.pitch == 55.0 and state.params["overlap"] == 4.0


def test_set_preset_by_name(player: Player) -> None:
    player.mapper.set_preset("bright")
    player.frame()
    assert player.mapper.preset == "bright"
    with pytest.raises(ConfigError, match=r"no preset named 'loud'.*allowed: home, cloud, bright"):
        player.mapper.set_preset("loud")


def test_a_preset_may_change_the_scale() -> None:
    text = """
[pitch]
keys = ["e0", "e1"]
notes = [60, 62]
[presets.major]
[presets.minor]
notes = [60, 63]
transpose = -12
"""
    p = Player(Mapper(parse_map(text)))
    p.settle()
    p.touch("e1")
    assert p.frame().pitch == 62.0
    p.mapper.cycle_preset()
    assert p.frame().pitch == 51.0  # the held key moves to its note in the new preset


def test_a_map_without_presets_has_one_called_default() -> None:
    mapper = Mapper(parse_map('[[axes]]\naxis = 0\nsource = "flex0"\n'))
    assert mapper.preset_names == ("default",)
    assert mapper.cycle_preset() == "default"
