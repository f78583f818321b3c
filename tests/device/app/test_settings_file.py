"""The instrument settings file: read strictly, every refusal naming file:line, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.app.play_cli import register
from device.app.settings import SECTIONS, InstrumentSettings, load_settings
from device.errors import ConfigError

GOOD = """
[midi]
port = "Keystation"
channel = 2
attack_ms = 10
release_ms = 400
bend_range = 12
program = "model"

[[midi.cc]]
cc = 1
axis = 0

[[midi.cc]]
cc = 74
param = "grain_ms"
min = 20
max = 200

[osc]
listen_port = 9100
send_host = "192.168.1.20"
send_port = 9200
send_rate_hz = 20

[presets]
dir = "/var/lib/latent/presets"
slots = 8
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instrument.toml"
    path.write_text(text)
    return path


def test_a_full_file_is_read_into_one_frozen_settings_object(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.midi is not None and settings.osc is not None and settings.presets is not None
    assert settings.midi.channel == 2 and settings.midi.bend_range == 12.0
    assert settings.midi.program == "model"
    assert [(t.cc, t.axis, t.param, t.min, t.max) for t in settings.midi.cc] == [
        (1, 0, None, 0.0, 1.0), (74, None, "grain_ms", 20.0, 200.0)]
    assert settings.osc.send_host == "192.168.1.20" and settings.osc.listen_port == 9100
    assert settings.presets.slots == 8
    with pytest.raises(AttributeError):
        settings.midi = None  # type: ignore[misc]


def test_absent_sections_leave_their_feature_off(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "[presets]\n")) == InstrumentSettings(
        presets=load_settings(write(tmp_path, "[presets]\n")).presets)
    empty = load_settings(write(tmp_path, ""))
    assert empty.midi is None and empty.osc is None and empty.presets is None


@pytest.mark.parametrize(("text", "line", "words"), [
    ("[midi]\nchanel = 2\n", 2, "midi.chanel: unknown key"),
    ("[midi]\nchannel = 17\n", 2, "midi.channel: is 17, out of range; allowed: a whole number from 0 to 16"),
    ("[midi]\n\nrelease_ms = -1\n", 3, "midi.release_ms: is -1"),
    ("[midi]\nprogram = \"song\"\n", 2, "allowed: preset, model, off"),
    ("[midi]\nport = \"x\"\nvirtual = true\n", 2, "either a port to connect to or virtual = true"),
    ("[midi]\n[[midi.cc]]\ncc = 1\n", 2, "needs exactly one of axis or param"),
    ("[midi]\n[[midi.cc]]\ncc = 1\naxis = 0\n[[midi.cc]]\ncc = 1\nparam = \"jitter\"\n", 6, "mapped twice"),
    ("[midi]\n[[midi.cc]]\ncc = 120\naxis = 0\n", 3, "midi.cc[0].cc: is 120, out of range"),
    ("[midi]\n[[midi.cc]]\ncc = 7\nparam = \"volume\"\n", 4, "not a known name"),
    ("[osc]\nsend_port = 70000\n", 2, "osc.send_port"),
    ("[osc]\nprefix = \"latent\"\n", 2, "not an OSC address"),
    ("[osc]\nlisten_port = 0\n", 1, "neither listens"),
    ("[presets]\nslots = 0\n", 2, "presets.slots"),
    ("[stage]\nx = 1\n", 1, "stage: unknown key"),
])
def test_bad_settings_are_refused_with_file_line_and_key(tmp_path: Path, text: str, line: int,
                                                         words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message, message
    assert "\n" not in message


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_settings(tmp_path / "nope.toml")


def test_every_section_has_a_field() -> None:
    assert set(SECTIONS) <= set(InstrumentSettings.__dataclass_fields__)


def test_latent_play_refuses_a_bad_settings_file_before_playing(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["play", "--out", str(tmp_path / "x.wav"), "--settings",
                              str(write(tmp_path, "[midi]\nattack_ms = \"fast\"\n"))])
    with pytest.raises(ConfigError, match=r"instrument.toml:2: midi.attack_ms"):
        args.func(args)
    assert not (tmp_path / "x.wav").exists()


def test_the_service_passes_the_settings_file_when_it_exists(tmp_path: Path) -> None:
    import argparse

    from device.app.settings import SERVICE_SETTINGS

    unit = (Path(__file__).resolve().parents[3] / "deploy" / "latent-instrument.service").read_text()
    assert f"--settings-if-present {SERVICE_SETTINGS} " in unit
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    # Absent: the instrument plays without settings (a take here, to keep the test quick).
    args = parser.parse_args(["play", "--out", str(tmp_path / "x.wav"), "--seconds", "0.1",
                              "--settings-if-present", str(tmp_path / "absent.toml")])
    assert args.func(args) == 0
    # Present and bad: refused like --settings.
    args = parser.parse_args(["play", "--out", str(tmp_path / "x.wav"), "--settings-if-present",
                              str(write(tmp_path, "[midi]\nbogus = 1\n"))])
    with pytest.raises(ConfigError, match=r"instrument.toml:2: midi.bogus: unknown key"):
        args.func(args)
