"""The [gallery] section: read strictly, every mistake refused with the key and what is allowed."""

from __future__ import annotations

import pytest

from device.app.gallery_settings import GallerySettings, QuietHours, read_gallery
from device.config_file import parse_table
from device.errors import ConfigError

FULL = """
[gallery]
idle_s = 90
dwell_s = 30
dwell_radius = 0.05
drift = "walk"
bookmarks = [[0.2, 0.3], [0.8, 0.7], [0.5, 0.1]]
speed = 0.03
hold_s = 4
pitch_every_s = 25
pitches = "C3,G3,60"
gain = 0.5
level_cap_db = -6
recalibrate_at = "05:30"
seed = 7

[[gallery.quiet]]
from = "22:00"
to = "07:00"
cap_db = -24

[[gallery.quiet]]
from = 01:00:00
to = "06:00"
silence = true
"""


def read(text: str) -> GallerySettings:
    table = parse_table(text, source="settings.toml", locate_lines=True)
    return read_gallery(table.table("gallery"))


def test_a_full_section_is_read() -> None:
    s = read(FULL)
    assert s == GallerySettings(
        enabled=True, idle_s=90.0, dwell_s=30.0, dwell_radius=0.05, drift="walk",
        bookmarks=((0.2, 0.3), (0.8, 0.7), (0.5, 0.1)), hold_s=4.0, speed=0.03, pitch_every_s=25.0,
        pitches=(48, 55, 60), gain=0.5, level_cap_db=-6.0, recalibrate_at=5 * 60 + 30,
        quiet=(QuietHours(22 * 60, 7 * 60, cap_db=-24.0), QuietHours(60, 6 * 60, silence=True)), seed=7)


def test_an_empty_section_means_the_defaults() -> None:
    assert read("[gallery]\n") == GallerySettings()


@pytest.mark.parametrize("start, end, inside, outside", [
    ("22:00", "07:00", [22 * 60, 23 * 60 + 59.9, 0, 6 * 60 + 59], [7 * 60, 12 * 60, 21 * 60 + 59.9]),
    ("01:00", "06:00", [60, 5 * 60 + 59], [59.9, 6 * 60, 23 * 60]),
])
def test_quiet_ranges_may_wrap_round_midnight(start: str, end: str, inside: list[float],
                                              outside: list[float]) -> None:
    quiet = read(f'[gallery]\n[[gallery.quiet]]\nfrom = "{start}"\nto = "{end}"\nsilence = true\n').quiet[0]
    assert all(quiet.covers(m) for m in inside)
    assert not any(quiet.covers(m) for m in outside)


@pytest.mark.parametrize("body, message", [
    ("idle = 5", "settings.toml:2: gallery.idle: unknown key; allowed in [gallery]: enabled, idle_s"),
    ("idle_s = 0", "gallery.idle_s: is 0, out of range; allowed: a number above 0"),
    ('drift = "random"', 'gallery.drift: is \'random\', not a known name; allowed: noise, walk'),
    ('drift = "walk"', "gallery.bookmarks: has 0 points but drift = \"walk\" walks between at least 2"),
    ("bookmarks = [[0.1, 0.2], [0.3]]", "gallery.bookmarks: mixes points of different lengths"),
    ("bookmarks = [[0.1, 1.2]]", "gallery.bookmarks[0]: is 1.2, out of range"),
    ("bookmarks = [0.1, 0.2]", "gallery.bookmarks[0]: is 0.1, not a latent point of 1..4 coordinates"),
    ("speed = 2", "gallery.speed: is 2, out of range; allowed: a number above 0 up to 1"),
    ('pitches = "C4-"', "settings.toml:2: gallery.pitches: "),
    ("level_cap_db = 3", "gallery.level_cap_db: is 3, out of range; allowed: a number from -60 up to 0"),
    ('recalibrate_at = "25:00"', "gallery.recalibrate_at: is '25:00', not a time of day; allowed: a time "
                                 'of day "HH:MM"'),
    ("recalibrate_at = 5", "gallery.recalibrate_at: is 5 (number), not a time of day"),
    ("recalibrate_at = 05:30:10", "gallery.recalibrate_at: is 05:30:10; give whole minutes"),
    ('[[gallery.quiet]]\nfrom = "22:00"\nto = "07:00"',
     "gallery.quiet[0]: give either silence = true or a level cap cap_db = -24 (dBFS), one of the two"),
    ('[[gallery.quiet]]\nfrom = "22:00"\nto = "07:00"\nsilence = true\ncap_db = -20',
     "gallery.quiet[0]: give either silence = true or a level cap"),
    ('[[gallery.quiet]]\nfrom = "22:00"\nto = "22:00"\nsilence = true',
     "gallery.quiet[0].to: is the same time as `from`: an empty range"),
    ('[[gallery.quiet]]\nto = "22:00"\nsilence = true',
     "gallery.quiet[0].from: missing; allowed: a time of day"),
    ('[[gallery.quiet]]\nfrom = "9:00"\nto = "22:00"\nsilence = true',
     "gallery.quiet[0].from: is '9:00', not a time of day"),
    ('[[gallery.quiet]]\nfrom = "09:00"\nto = "22:00"\nsilent = true',
     "gallery.quiet[0].silent: unknown key"),
])
def test_mistakes_are_refused_by_name(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(f"[gallery]\n{body}\n")
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text


def test_the_section_registers_with_the_settings_file() -> None:
    from device.app.settings import SECTIONS

    assert SECTIONS["gallery"] is read_gallery
