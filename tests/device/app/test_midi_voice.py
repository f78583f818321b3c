"""MIDI messages to control: notes, envelope, velocity, bend, sustain, CCs, and no stuck notes."""

from __future__ import annotations

import mido
import pytest

from device.app.midi_in import CcTarget, MidiSettings, MidiVoice


def msg(kind: str, **fields: int) -> mido.Message:
    return mido.Message(kind, **fields)


def voice(**changes: object) -> MidiVoice:
    settings = MidiSettings(**{"attack_ms": 10.0, "release_ms": 100.0, **changes})  # type: ignore[arg-type]
    return MidiVoice(settings, clock=lambda: 0.0)


def test_note_on_sets_pitch_counts_a_trigger_and_attacks_to_the_velocity_level() -> None:
    v = voice()
    v.handle(msg("note_on", note=64, velocity=127), now=1.0)
    c = v.contribute(1.0)
    assert c is not None and c.pitch == 64.0 and c.triggers == 1 and c.human
    assert c.gain == 0.0  # the attack starts from silence
    assert v.contribute(1.005).gain == pytest.approx(0.5)  # type: ignore[union-attr]
    assert v.contribute(1.02).gain == pytest.approx(1.0)  # type: ignore[union-attr]
    v.handle(msg("note_on", note=64, velocity=0), now=2.0)  # velocity 0 is a note-off
    assert v.contribute(2.05).gain == pytest.approx(0.5)  # type: ignore[union-attr]
    assert v.contribute(2.05).pitch == 64.0  # type: ignore[union-attr]  # the tail keeps its pitch
    released = v.contribute(2.2)
    assert released is not None and released.gain is None and released.pitch is None
    assert v.sounding_notes == ()


def test_velocity_scales_the_level_by_the_sensitivity() -> None:
    half = voice(velocity=1.0, attack_ms=0.0)
    half.handle(msg("note_on", note=60, velocity=64), now=0.0)
    assert half.contribute(0.0).gain == pytest.approx(64 / 127)  # type: ignore[union-attr]
    flat = voice(velocity=0.0, attack_ms=0.0, gain=0.8)
    flat.handle(msg("note_on", note=60, velocity=1), now=0.0)
    assert flat.contribute(0.0).gain == pytest.approx(0.8)  # type: ignore[union-attr]


def test_last_note_wins_and_releasing_it_returns_to_the_key_still_held() -> None:
    v = voice()
    v.handle(msg("note_on", note=60, velocity=100), now=0.0)
    v.handle(msg("note_on", note=67, velocity=100), now=0.1)
    assert v.contribute(0.2).pitch == 67.0  # type: ignore[union-attr]
    v.handle(msg("note_off", note=67), now=0.3)
    c = v.contribute(0.4)
    assert c is not None and c.pitch == 60.0 and c.triggers == 2 and c.gain == pytest.approx(100 / 127)


def test_pitch_bend_moves_the_pitch_within_the_range() -> None:
    v = voice(bend_range=2.0)
    v.handle(msg("note_on", note=60, velocity=100), now=0.0)
    v.handle(msg("pitchwheel", pitch=8191), now=0.1)
    assert v.contribute(0.1).pitch == pytest.approx(62.0, abs=1e-3)  # type: ignore[union-attr]
    v.handle(msg("pitchwheel", pitch=-8192), now=0.2)
    assert v.contribute(0.2).pitch == pytest.approx(58.0)  # type: ignore[union-attr]


def test_the_sustain_pedal_holds_released_notes_until_lifted() -> None:
    v = voice()
    v.handle(msg("control_change", control=64, value=127), now=0.0)
    v.handle(msg("note_on", note=60, velocity=100), now=0.1)
    v.handle(msg("note_off", note=60), now=0.2)
    assert v.sounding_notes == (60,)
    assert v.contribute(1.0).gain == pytest.approx(100 / 127)  # type: ignore[union-attr]
    v.handle(msg("control_change", control=64, value=0), now=1.0)
    assert v.sounding_notes == ()
    assert v.contribute(1.2).gain is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("control", "silent_at"), [(123, 0.101), (120, 0.0)])
def test_all_notes_off_and_all_sound_off_end_every_note_whatever_the_pedal(control: int,
                                                                              silent_at: float) -> None:
    v = voice()
    v.handle(msg("control_change", control=64, value=127), now=0.0)
    for note in (60, 64, 67):
        v.handle(msg("note_on", note=note, velocity=100), now=0.0)
    v.handle(msg("note_off", note=64), now=0.0)
    v.handle(msg("control_change", control=control, value=0), now=1.0)
    assert v.sounding_notes == ()
    assert v.level(1.0 + silent_at) == 0.0
    v.handle(msg("control_change", control=64, value=0), now=2.0)  # lifting the pedal brings nothing back
    assert v.level(3.0) == 0.0 and v.sounding_notes == ()


def test_panic_releases_everything() -> None:
    v = voice()
    v.handle(msg("note_on", note=60, velocity=100), now=0.0)
    v.panic(now=1.0)
    assert v.sounding_notes == () and v.level(1.2) == 0.0
    v.handle(msg("note_on", note=62, velocity=100), now=2.0)
    v.panic(now=2.0, hard=True)
    assert v.level(2.0) == 0.0


def test_ccs_move_latent_axes_and_engine_parameters_as_mapped() -> None:
    v = voice(cc=(CcTarget(1, 0, None, 0.0, 1.0), CcTarget(74, None, "grain_ms", 20.0, 200.0),
                  CcTarget(80, None, "freeze", 0.0, 1.0)))
    v.handle(msg("control_change", control=1, value=127), now=0.0)
    v.handle(msg("control_change", control=74, value=0), now=0.0)
    v.handle(msg("control_change", control=80, value=100), now=0.0)
    v.handle(msg("control_change", control=2, value=50), now=0.0)  # not mapped: nothing
    c = v.contribute(0.0)
    assert c is not None and dict(c.axes) == {0: 1.0}
    assert dict(c.params) == {"grain_ms": 20.0, "freeze": True}
    assert c.gain is None and c.pitch is None  # no note: the sensors keep pitch and level


def test_other_channels_and_message_types_are_ignored() -> None:
    v = voice(channel=3)
    v.handle(msg("note_on", note=60, velocity=100, channel=0), now=0.0)
    v.handle(msg("aftertouch", value=3, channel=2), now=0.0)
    assert v.contribute(0.0) is None and v.ignored == 2
    v.handle(msg("note_on", note=60, velocity=100, channel=2), now=0.0)
    assert v.contribute(0.0).pitch == 60.0  # type: ignore[union-attr]


def test_program_change_is_handed_on() -> None:
    programs: list[int] = []
    v = MidiVoice(MidiSettings(), clock=lambda: 0.0, on_program=programs.append)
    v.handle(msg("program_change", program=5))
    assert programs == [5]
