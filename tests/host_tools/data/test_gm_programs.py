"""The GM program -> NSynth family/source table and program lists."""

from __future__ import annotations

import pytest

from device.errors import ConfigError
from host_tools.data.gm_programs import GM_PROGRAMS, gm_program, parse_programs
from host_tools.data.nsynth_fields import FAMILIES, QUALITIES, SOURCES


def test_the_table_covers_all_128_programs_in_nsynths_vocabulary():
    assert [p.number for p in GM_PROGRAMS] == list(range(128))
    for program in GM_PROGRAMS:
        assert (program.family is None) == (program.source is None)
        assert program.family is None or (program.family in FAMILIES and program.source in SOURCES)
        assert set(program.qualities) <= set(QUALITIES)
    assert {p.family for p in GM_PROGRAMS} - {None} == set(FAMILIES)
    assert {p.source for p in GM_PROGRAMS} - {None} == set(SOURCES)


def test_a_few_well_known_programs():
    assert (gm_program(0).name, gm_program(0).family, gm_program(0).source) == (
        "Acoustic Grand Piano",
        "keyboard",
        "acoustic",
    )
    assert (gm_program(33).family, gm_program(33).source) == ("bass", "electronic")
    assert (gm_program(81).family, gm_program(81).source) == ("synth_lead", "synthetic")
    assert "distortion" in gm_program(30).qualities


def test_program_lists_take_numbers_ranges_and_families():
    assert parse_programs("0, 24-26") == [0, 24, 25, 26]
    assert parse_programs("flute,0") == [0, *range(72, 80)]
    assert parse_programs("3,3,1-3") == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("128", "outside 0..127"),
        ("126", r"126 \(Applause\) has no NSynth instrument family"),
        ("piano", "neither a GM program number"),
        ("30-20", "neither a GM program number"),
        (" , ", "no programs"),
    ],
)
def test_bad_program_lists_are_explained(text: str, problem: str):
    with pytest.raises(ConfigError, match=problem):
        parse_programs(text)
