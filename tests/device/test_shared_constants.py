"""Constants have one owner: the engine's modes, windows and parameter bounds, and the bundle format's
number of latent axes, are imported by the layers that use them, never copied by hand."""

from __future__ import annotations

import ast
from pathlib import Path

from device.bundle.format import MAX_GRID_AXES
from device.engine import state
from device.engine.params import MODES, NUMERIC_RANGES
from device.engine.windows import WINDOW_NAMES
from device.mapping import config

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {ROOT / "device" / "engine" / "params.py", ROOT / "device" / "engine" / "windows.py"}


def test_mapping_accepts_exactly_what_the_engine_plays() -> None:
    assert config.MODES == MODES
    assert config.WINDOWS == WINDOW_NAMES
    assert set(config.CONTINUOUS_PARAMS) == set(NUMERIC_RANGES)
    for name, (low, high) in config.CONTINUOUS_PARAMS.items():
        engine_low, engine_high, _unit = NUMERIC_RANGES[name]
        assert engine_low <= low < high <= engine_high, name


def test_the_number_of_latent_axes_is_the_bundle_formats() -> None:
    assert config.MAX_AXES == state.MAX_AXES == MAX_GRID_AXES


def _literal_tuples(path: Path) -> list[tuple[int, tuple[object, ...]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            try:
                value = tuple(ast.literal_eval(node))
            except ValueError:
                continue
            if value and all(isinstance(item, str) for item in value):
                found.append((node.lineno, value))
    return found


def test_no_module_outside_the_engine_spells_out_the_modes_or_windows() -> None:
    mirrored = []
    for package in ("device", "host_tools"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in OWNERS:
                continue
            for line, value in _literal_tuples(path):
                if set(value) in (set(MODES), set(WINDOW_NAMES)):
                    mirrored.append(f"{path.relative_to(ROOT)}:{line}: {value}")
    assert mirrored == [], "import these from device.engine instead of copying them"
