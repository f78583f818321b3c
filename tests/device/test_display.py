"""`printable`: text from outside is shown with its control characters escaped and cut short."""

from __future__ import annotations

import pytest

from device.display import NAME_LIMIT, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("pads", "pads"),
        ("Café Ωmega 3", "Café Ωmega 3"),  # printable non-ASCII stays as it is
        ("\x1b[2Jgone", "\\x1b[2Jgone"),  # ANSI "clear screen"
        ("one\ntwo\r\tthree", "one\\ntwo\\r\\tthree"),
        ("bell\x07del\x7f", "bell\\x07del\\x7f"),
        ("\x9b31m", "\\x9b31m"),  # the one-byte C1 control sequence introducer
        ("abc\u202egpj.exe", "abc\\u202egpj.exe"),  # right-to-left override hides the real text
        ("no\u00a0break", "no\\xa0break"),
        ("tag\U000e0041", "tag\\U000e0041"),  # an invisible tag character outside the BMP
        ("bad\udcffbyte", "bad\\udcffbyte"),  # a surrogate-escaped byte: print() itself would raise
        ("back\\slash", "back\\slash"),
    ],
)
def test_control_and_invisible_characters_are_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    shown.encode("utf-8")  # always printable to a UTF-8 terminal


def test_long_text_is_cut_and_says_how_long_it_was() -> None:
    assert printable("x" * 10_000, limit=20) == "x" * 20 + "... (10000 characters)"
    assert printable("y" * NAME_LIMIT) == "y" * NAME_LIMIT  # exactly the limit is shown whole
    assert printable("y" * (NAME_LIMIT + 1)).startswith("y" * NAME_LIMIT + "...")


def test_an_escape_is_never_cut_in_half() -> None:
    assert printable("ab\x1b\x1b", limit=5) == "ab... (4 characters)"
    assert printable("ab\x1b\x1b", limit=6) == "ab\\x1b... (4 characters)"


def test_other_objects_are_shown_as_their_text_and_a_zero_limit_is_refused() -> None:
    assert printable(None) == "None" and printable(42) == "42"
    with pytest.raises(ValueError, match="at least 1"):
        printable("x", limit=0)
