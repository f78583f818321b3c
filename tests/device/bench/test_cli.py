"""`latent bench`: every benchmark lives in device/bench, is listed, and shares the option and output
conventions of device/bench/README.md."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from device.bench.cli import BENCH_MODULES, as_text
from device.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[3]
# Shared option names; the left-hand spellings were once used by some benches.
RETIRED_OPTIONS = {"--rate", "--frames", "--period", "--render-ahead", "--chunk", "--window"}


def _bench_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bench = commands.choices["bench"]
    benches = next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))
    return dict(benches.choices)


def test_every_bench_module_is_in_device_bench_and_listed() -> None:
    found = sorted(p.relative_to(ROOT).as_posix() for package in ("device", "host_tools")
                   for p in (ROOT / package).rglob("*bench*.py"))
    assert found == sorted(f"{name.replace('.', '/')}.py" for name in BENCH_MODULES)
    assert len(_bench_parsers()) == len(BENCH_MODULES)


def test_the_shared_options_have_one_spelling() -> None:
    for name, parser in _bench_parsers().items():
        options = {s for action in parser._actions for s in action.option_strings}
        assert {"--json", "--quiet"} <= options, name
        assert not options & RETIRED_OPTIONS, name


def test_json_is_one_object_on_one_line_and_text_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "mapping", "--polls", "50", "--json", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1
    assert json.loads(captured.out)["bench"] == "mapping"
    assert main(["bench", "mapping", "--polls", "50"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "latent bench mapping: measuring...\n"
    assert captured.out.startswith("bench: mapping\n") and "  rest:\n    mean_us: " in captured.out


def test_text_shows_nesting_lists_and_missing_values() -> None:
    text = as_text({"bench": "x", "axes": [5, 5], "none": None, "ok": True,
                    "rows": [{"block_frames": 64, "load": 0.01}], "empty": {}})
    assert text.splitlines() == ["bench: x", "axes: 5, 5", "none: -", "ok: true", "rows:", "  -",
                                 "    block_frames: 64", "    load: 0.01", "empty: {}"]
