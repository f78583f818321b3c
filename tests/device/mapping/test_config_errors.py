"""Mapping-file validation: every bad file is refused with the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.errors import ConfigError
from device.mapping import default_map_path, load_map, parse_map

from ...hostile_files import SPECIAL_PATHS, TOML_TEXTS, Hostile, make, params, refused_quickly

# The smallest useful map; each bad case below adds to it or replaces part of it.
BASE = """
[pitch]
keys = ["e0", "e1", "e2"]
notes = [48, 50, 52]

[[axes]]
axis = 0
source = "flex0"

[[controls]]
param = "grain_ms"
source = "e10"
min = 40
max = 250

[[switches]]
param = "freeze"
source = "e8"
touched = true
"""

NO_PITCH = BASE.replace('[pitch]\nkeys = ["e0", "e1", "e2"]\nnotes = [48, 50, 52]\n', "")

# (case id, mapping text, fragments the message must contain)
BAD_MAPS = [
    ("unknown top-level key", "colour = 1\n" + BASE,
     ["colour: unknown key", "allowed in the top level", "calibration", "presets"]),
    ("unknown key in an array table", BASE + "colour = 1\n",
     ["switches[0].colour: unknown key", "param, source, action, touched, released"]),
    ("misspelt key", BASE + "[gain]\natack_ms = 5\n", ["gain.atack_ms: unknown key", "attack_ms"]),
    ("text for a number", BASE + '[gain]\nidle = "low"\n',
     ["gain.idle", "'low' (string), not a number", "a number from 0 up to 1"]),
    ("number out of range", BASE + "[gain]\nidle = 1.5\n", ["gain.idle", "out of range", "from 0 up to 1"]),
    ("boolean for a number", BASE + "[touch]\non = true\n", ["touch.on", "is true (boolean), not a number"]),
    ("hysteresis the wrong way", BASE + "[touch]\non = 0.2\noff = 0.3\n",
     ["touch.off", "not below on", "a number below `on`"]),
    ("unknown axis source", BASE.replace('source = "flex0"', 'source = "flex2"'),
     ["axes[0].source", "'flex2', not a channel", "e0, e1", "flex0, flex1"]),
    ("unknown key channel", BASE.replace('"e0", "e1"', '"e0", "e12"'),
     ["pitch.keys[1]", "'e12'", "e11, flex0"]),
    ("repeated key", BASE.replace('"e0", "e1", "e2"', '"e0", "e1", "e0"'), ["pitch.keys[2]", "repeats 'e0'"]),
    ("fewer notes than keys", BASE.replace("[48, 50, 52]", "[48, 50]"),
     ["pitch.notes", "2 notes for 3 keys", "one per key"]),
    ("note out of MIDI range", BASE.replace("[48, 50, 52]", "[48, 50, 130]"),
     ["pitch.notes[2]", "130", "0..127"]),
    ("unknown curve", BASE.replace('source = "flex0"', 'source = "flex0"\ncurve = "cubic"'),
     ["axes[0].curve", "'cubic'", "linear, exponential, s-curve"]),
    ("axis range upside down", BASE.replace('source = "flex0"', 'source = "flex0"\nmin = 0.8\nmax = 0.2'),
     ["axes[0].max", "not above min", "invert = true"]),
    ("axis range beyond 0..1", BASE.replace('source = "flex0"', 'source = "flex0"\nmax = 1.5'),
     ["axes[0].max", "out of range", "from 0 up to 1"]),
    ("axis number too high", BASE.replace("axis = 0", "axis = 4"), ["axes[0].axis", "from 0 to 3"]),
    ("axis as a float", BASE.replace("axis = 0", "axis = 0.5"),
     ["axes[0].axis", "0.5 (number), not a whole number", "from 0 to 3"]),
    ("axis mapped twice", BASE + '[[axes]]\naxis = 0\nsource = "flex1"\n',
     ["axes[1].axis", "axis 0 is mapped twice"]),
    ("axis without source", BASE + "[[axes]]\naxis = 1\n", ["axes[1].source: missing", "flex0"]),
    ("unknown control param", BASE.replace('param = "grain_ms"', 'param = "pitch"'),
     ["controls[0].param", "'pitch'", "grain_ms, overlap, position, jitter, gain"]),
    ("control min beyond the engine's range", BASE.replace("min = 40", "min = 0"),
     ["controls[0].min", "out of range", "from 5 up to 2000"]),
    ("control without min", BASE.replace("min = 40\n", ""), ["controls[0].min: missing"]),
    ("two controls for one param",
     BASE + '[[controls]]\nparam = "grain_ms"\nsource = "e11"\nmin = 10\nmax = 20\n',
     ["controls[1].param", "'grain_ms' has two controls"]),
    ("smoothing typo", BASE.replace('source = "flex0"', 'source = "flex0"\nsmoothing = { gamma = 1 }'),
     ["axes[0].smoothing.gamma: unknown key", "min_cutoff, beta, d_cutoff"]),
    ("zero cutoff", BASE + "[smoothing]\nmin_cutoff = 0\n", ["smoothing.min_cutoff", "above 0"]),
    ("switch value of the wrong type", BASE.replace("touched = true", 'touched = "yes"'),
     ["switches[0].touched", "'yes' (string), not true or false"]),
    ("unknown mode", BASE + '[[switches]]\nparam = "mode"\nsource = "e9"\ntouched = "cloud"\n',
     ["switches[1].touched", "'cloud'", "mix, scatter"]),
    ("unknown switch action", BASE.replace("touched = true", 'touched = true\naction = "latch"'),
     ["switches[0].action", "'latch'", "hold, toggle"]),
    ("switch on a pitch key", BASE.replace('source = "e8"', 'source = "e1"'),
     ["switches[0].source", "'e1' is already used by pitch.keys"]),
    ("unknown param", BASE + "[params]\nspeed = 2\n", ["params.speed", "grain_ms, overlap", "window"]),
    ("fixed value for a driven param", BASE + "[params]\ngrain_ms = 100\n",
     ["params.grain_ms", "driven by [[controls]] (source e10)"]),
    ("unknown window", BASE + '[params]\nwindow = "square"\n', ["params.window", "'square'", "hann, tukey"]),
    ("preset changes an uncontrolled param's range", BASE + "[presets.x.controls.overlap]\nmax = 8\n",
     ["presets.x.controls.overlap", "not driven by any [[controls]]", "grain_ms"]),
    ("preset typo", BASE + "[presets.x]\ntranspose = 12\ncolour = 3\n",
     ["presets.x.colour: unknown key", "params, controls, transpose, notes"]),
    ("preset notes of the wrong length", BASE + "[presets.x]\nnotes = [60]\n",
     ["presets.x.notes", "1 notes for 3 keys"]),
    ("preset notes without keys", NO_PITCH + "[presets.x]\nnotes = [60]\n",
     ["presets.x.notes", "no [pitch] keys"]),
    ("preset range upside down", BASE + "[presets.x.controls.grain_ms]\nmin = 300\n",
     ["presets.x.controls.grain_ms.max", "250, not above min (300)"]),
    ("preset not a table", BASE + "[presets]\nx = 3\n", ["presets.x", "not a table"]),
    ("fixed range with one end", BASE + "[calibration.channels.flex0]\nrest = 9000\n",
     ["calibration.channels.flex0.full: missing", "both `rest` and `full`"]),
    ("fixed range of zero width", BASE + "[calibration.channels.flex0]\nrest = 9000\nfull = 9000\n",
     ["calibration.channels.flex0.full", "equals rest"]),
    ("calibration of an unknown channel", BASE + "[calibration.channels.flex9]\nrest = 1\nfull = 2\n",
     ["calibration.channels.flex9", "not a channel of this instrument", "flex1"]),
    ("fixed range for a whole kind", BASE + "[calibration.flex]\nrest = 9000\n",
     ["calibration.flex.rest: unknown key"]),
    ("dead zone too wide", BASE + "[calibration.electrode]\ndead_zone = 0.95\n",
     ["calibration.electrode.dead_zone", "from 0 up to 0.9"]),
    ("unknown channel kind section", BASE + "[calibration.piezo]\ndead_zone = 0.1\n",
     ["calibration.piezo: unknown key", "electrode, flex, channels"]),
    ("version as text", 'version = "1"\n' + BASE, ["version", "is '1'", "allowed: 1"]),
    ("channel not a name", BASE.replace('source = "flex0"', "source = 3"),
     ["axes[0].source", "3 (int), not a channel name"]),
    ("future version", "version = 2\n" + BASE,
     ["version", "is 2, a mapping-file version this instrument cannot read", "allowed: 1"]),
    ("axes not tables", "axes = 3\n", ["axes", "not an array of tables", "[[axes]]"]),
    ("section that is a value", "gain = 1\n", ["gain", "not a table", "a [gain] table"]),
    ("TOML syntax error", BASE + "[gain\n", ["not valid TOML", "line"]),
]


@pytest.mark.parametrize(("text", "fragments"), [pytest.param(t, f, id=i) for i, t, f in BAD_MAPS])
def test_bad_map_is_refused_with_its_reason(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_map(text, source="bad.toml")
    message = str(caught.value)
    assert message.startswith("bad.toml: ")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_the_base_of_the_bad_cases_is_itself_valid() -> None:
    config = parse_map(BASE, source="good.toml")
    assert config.channels_used == ("flex0", "e0", "e1", "e2", "e10", "e8")
    assert parse_map(NO_PITCH).pitch is None


def test_errors_name_the_file_they_come_from(tmp_path: Path) -> None:
    path = tmp_path / "my_map.toml"
    path.write_text(BASE + "[gain]\nidle = -1\n")
    with pytest.raises(ConfigError, match=r"my_map\.toml: gain\.idle: is -1, out of range"):
        load_map(path)


def test_a_missing_file_says_where_the_default_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*default is .*default_map\.toml"):
        load_map(tmp_path / "nope.toml")


def test_a_custom_instrument_can_declare_its_own_channels() -> None:
    channels = {"pad0": "electrode", "pad1": "electrode", "bend": "flex"}
    text = '[pitch]\nkeys = ["pad0", "pad1"]\nnotes = [60, 62]\n[[axes]]\naxis = 0\nsource = "bend"\n'
    assert parse_map(text, channels=channels).channels_used == ("bend", "pad0", "pad1")
    with pytest.raises(ConfigError, match="pad0, pad1, bend"):
        parse_map(text.replace('"bend"', '"e0"'), channels=channels)
    with pytest.raises(ConfigError, match="allowed kinds: electrode, flex"):
        parse_map(text, channels={"pad0": "piezo"})


def test_the_shipped_default_map_is_valid_and_matches_the_brief() -> None:
    config = load_map()
    assert Path(config.source) == default_map_path()
    assert config.pitch is not None
    assert config.pitch.keys == tuple(f"e{i}" for i in range(8))
    assert config.pitch.notes == (48, 51, 53, 55, 58, 60, 63, 65)
    assert [(a.axis, a.source) for a in config.axes] == [(0, "flex0"), (1, "flex1")]
    assert [(c.param, c.source, c.min, c.max) for c in config.controls] == [
        ("grain_ms", "e10", 40.0, 250.0), ("jitter", "e11", 0.02, 0.5)]
    assert [(s.param, s.source, s.action, s.touched) for s in config.switches] == [
        ("freeze", "e8", "hold", True), ("mode", "e9", "hold", "scatter")]
    assert (config.gain.note, config.gain.idle) == (1.0, 0.2)
    assert set(config.channels_used) == {*(f"e{i}" for i in range(12)), "flex0", "flex1"}


def test_every_value_a_map_accepts_is_one_the_engine_accepts() -> None:
    from device.engine import params as engine_params
    from device.engine.windows import WINDOW_NAMES
    from device.mapping import config

    assert set(config.PARAM_NAMES) == set(engine_params.FIELD_NAMES)
    for name, (lo, hi) in config.CONTINUOUS_PARAMS.items():
        engine_lo, engine_hi, _unit = engine_params.NUMERIC_RANGES[name]
        assert engine_lo <= lo < hi <= engine_hi, name
    assert set(config.WINDOWS) <= set(WINDOW_NAMES)
    assert set(config.MODES) == set(engine_params.MODES)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS, SPECIAL_PATHS))
def test_hostile_mapping_files_are_refused_quickly_by_name(tmp_path: Path, case: Hostile) -> None:
    path = make(case, tmp_path / "hostile.toml")
    message = refused_quickly(lambda: load_map(path), ConfigError, case)
    assert message.startswith(f"{path}: ")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", params(TOML_TEXTS))
def test_hostile_mapping_text_is_refused_quickly(case: Hostile) -> None:
    assert case.text is not None
    message = refused_quickly(lambda: parse_map(case.text, source="hostile.toml"), ConfigError, case)
    assert message.startswith("hostile.toml: ")
