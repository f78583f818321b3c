"""General MIDI programs and the NSynth family and source each one stands for (host data layer).

Programs are numbered 0..127 as fluidsynth and MIDI bytes number them (GM charts print 1..128).
`family` and `source` use NSynth's vocabulary: `acoustic` for recordings of acoustic instruments,
`electronic` for electric / electronic instruments, `synthetic` for synthesizers. Programs with no
NSynth family (pads, sound effects, drums, orchestra hit) map to None and cannot be rendered as NSynth
notes. `qualities` lists the NSynth qualities that belong to the program itself (a distortion guitar is
distorted at every pitch); qualities that depend on the rendered note are measured by the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

from device.errors import ConfigError
from host_tools.data.nsynth_fields import FAMILIES


@dataclass(frozen=True)
class GMProgram:
    number: int
    name: str
    family: str | None
    source: str | None
    qualities: tuple[str, ...] = ()


_A, _E, _S = "acoustic", "electronic", "synthetic"
_PERC = ("percussive",)
_DIST = ("distortion",)

# fmt: off
GM_PROGRAMS: tuple[GMProgram, ...] = (
    GMProgram(0, "Acoustic Grand Piano", "keyboard", _A),
    GMProgram(1, "Bright Acoustic Piano", "keyboard", _A, ("bright",)),
    GMProgram(2, "Electric Grand Piano", "keyboard", _E),
    GMProgram(3, "Honky-tonk Piano", "keyboard", _A),
    GMProgram(4, "Electric Piano 1", "keyboard", _E),
    GMProgram(5, "Electric Piano 2", "keyboard", _S),
    GMProgram(6, "Harpsichord", "keyboard", _A),
    GMProgram(7, "Clavinet", "keyboard", _E),
    GMProgram(8, "Celesta", "mallet", _A, _PERC),
    GMProgram(9, "Glockenspiel", "mallet", _A, _PERC),
    GMProgram(10, "Music Box", "mallet", _A, _PERC),
    GMProgram(11, "Vibraphone", "mallet", _A, _PERC),
    GMProgram(12, "Marimba", "mallet", _A, _PERC),
    GMProgram(13, "Xylophone", "mallet", _A, _PERC),
    GMProgram(14, "Tubular Bells", "mallet", _A, _PERC),
    GMProgram(15, "Dulcimer", "mallet", _A, _PERC),
    GMProgram(16, "Drawbar Organ", "organ", _E),
    GMProgram(17, "Percussive Organ", "organ", _E, _PERC),
    GMProgram(18, "Rock Organ", "organ", _E),
    GMProgram(19, "Church Organ", "organ", _A),
    GMProgram(20, "Reed Organ", "organ", _A),
    GMProgram(21, "Accordion", "reed", _A),
    GMProgram(22, "Harmonica", "reed", _A),
    GMProgram(23, "Tango Accordion", "reed", _A),
    GMProgram(24, "Acoustic Guitar (nylon)", "guitar", _A),
    GMProgram(25, "Acoustic Guitar (steel)", "guitar", _A),
    GMProgram(26, "Electric Guitar (jazz)", "guitar", _E),
    GMProgram(27, "Electric Guitar (clean)", "guitar", _E),
    GMProgram(28, "Electric Guitar (muted)", "guitar", _E, _PERC),
    GMProgram(29, "Overdriven Guitar", "guitar", _E, _DIST),
    GMProgram(30, "Distortion Guitar", "guitar", _E, _DIST),
    GMProgram(31, "Guitar Harmonics", "guitar", _E),
    GMProgram(32, "Acoustic Bass", "bass", _A),
    GMProgram(33, "Electric Bass (finger)", "bass", _E),
    GMProgram(34, "Electric Bass (pick)", "bass", _E),
    GMProgram(35, "Fretless Bass", "bass", _E),
    GMProgram(36, "Slap Bass 1", "bass", _E, _PERC),
    GMProgram(37, "Slap Bass 2", "bass", _E, _PERC),
    GMProgram(38, "Synth Bass 1", "bass", _S),
    GMProgram(39, "Synth Bass 2", "bass", _S),
    GMProgram(40, "Violin", "string", _A),
    GMProgram(41, "Viola", "string", _A),
    GMProgram(42, "Cello", "string", _A),
    GMProgram(43, "Contrabass", "string", _A),
    GMProgram(44, "Tremolo Strings", "string", _A),
    GMProgram(45, "Pizzicato Strings", "string", _A, _PERC),
    GMProgram(46, "Orchestral Harp", "string", _A),
    GMProgram(47, "Timpani", None, None),
    GMProgram(48, "String Ensemble 1", "string", _A),
    GMProgram(49, "String Ensemble 2", "string", _A),
    GMProgram(50, "Synth Strings 1", "string", _S),
    GMProgram(51, "Synth Strings 2", "string", _S),
    GMProgram(52, "Choir Aahs", "vocal", _A),
    GMProgram(53, "Voice Oohs", "vocal", _A),
    GMProgram(54, "Synth Voice", "vocal", _S),
    GMProgram(55, "Orchestra Hit", None, None),
    GMProgram(56, "Trumpet", "brass", _A),
    GMProgram(57, "Trombone", "brass", _A),
    GMProgram(58, "Tuba", "brass", _A),
    GMProgram(59, "Muted Trumpet", "brass", _A),
    GMProgram(60, "French Horn", "brass", _A),
    GMProgram(61, "Brass Section", "brass", _A),
    GMProgram(62, "Synth Brass 1", "brass", _S),
    GMProgram(63, "Synth Brass 2", "brass", _S),
    GMProgram(64, "Soprano Sax", "reed", _A),
    GMProgram(65, "Alto Sax", "reed", _A),
    GMProgram(66, "Tenor Sax", "reed", _A),
    GMProgram(67, "Baritone Sax", "reed", _A),
    GMProgram(68, "Oboe", "reed", _A),
    GMProgram(69, "English Horn", "reed", _A),
    GMProgram(70, "Bassoon", "reed", _A),
    GMProgram(71, "Clarinet", "reed", _A),
    GMProgram(72, "Piccolo", "flute", _A),
    GMProgram(73, "Flute", "flute", _A),
    GMProgram(74, "Recorder", "flute", _A),
    GMProgram(75, "Pan Flute", "flute", _A),
    GMProgram(76, "Blown Bottle", "flute", _A),
    GMProgram(77, "Shakuhachi", "flute", _A),
    GMProgram(78, "Whistle", "flute", _A),
    GMProgram(79, "Ocarina", "flute", _A),
    GMProgram(80, "Lead 1 (square)", "synth_lead", _S),
    GMProgram(81, "Lead 2 (sawtooth)", "synth_lead", _S, ("bright",)),
    GMProgram(82, "Lead 3 (calliope)", "synth_lead", _S),
    GMProgram(83, "Lead 4 (chiff)", "synth_lead", _S),
    GMProgram(84, "Lead 5 (charang)", "synth_lead", _S, _DIST),
    GMProgram(85, "Lead 6 (voice)", "synth_lead", _S),
    GMProgram(86, "Lead 7 (fifths)", "synth_lead", _S, ("multiphonic",)),
    GMProgram(87, "Lead 8 (bass + lead)", "synth_lead", _S),
    GMProgram(88, "Pad 1 (new age)", None, None),
    GMProgram(89, "Pad 2 (warm)", None, None),
    GMProgram(90, "Pad 3 (polysynth)", None, None),
    GMProgram(91, "Pad 4 (choir)", "vocal", _S),
    GMProgram(92, "Pad 5 (bowed)", None, None),
    GMProgram(93, "Pad 6 (metallic)", None, None),
    GMProgram(94, "Pad 7 (halo)", None, None),
    GMProgram(95, "Pad 8 (sweep)", None, None),
    GMProgram(96, "FX 1 (rain)", None, None),
    GMProgram(97, "FX 2 (soundtrack)", None, None),
    GMProgram(98, "FX 3 (crystal)", None, None),
    GMProgram(99, "FX 4 (atmosphere)", None, None),
    GMProgram(100, "FX 5 (brightness)", None, None),
    GMProgram(101, "FX 6 (goblins)", None, None),
    GMProgram(102, "FX 7 (echoes)", None, None),
    GMProgram(103, "FX 8 (sci-fi)", None, None),
    GMProgram(104, "Sitar", "guitar", _A),
    GMProgram(105, "Banjo", "guitar", _A),
    GMProgram(106, "Shamisen", "guitar", _A),
    GMProgram(107, "Koto", "guitar", _A),
    GMProgram(108, "Kalimba", "mallet", _A, _PERC),
    GMProgram(109, "Bagpipe", "reed", _A),
    GMProgram(110, "Fiddle", "string", _A),
    GMProgram(111, "Shanai", "reed", _A),
    GMProgram(112, "Tinkle Bell", "mallet", _A, _PERC),
    GMProgram(113, "Agogo", None, None),
    GMProgram(114, "Steel Drums", "mallet", _A, _PERC),
    GMProgram(115, "Woodblock", None, None),
    GMProgram(116, "Taiko Drum", None, None),
    GMProgram(117, "Melodic Tom", None, None),
    GMProgram(118, "Synth Drum", None, None),
    GMProgram(119, "Reverse Cymbal", None, None),
    GMProgram(120, "Guitar Fret Noise", None, None),
    GMProgram(121, "Breath Noise", None, None),
    GMProgram(122, "Seashore", None, None),
    GMProgram(123, "Bird Tweet", None, None),
    GMProgram(124, "Telephone Ring", None, None),
    GMProgram(125, "Helicopter", None, None),
    GMProgram(126, "Applause", None, None),
    GMProgram(127, "Gunshot", None, None),
)
# fmt: on


def gm_program(number: int) -> GMProgram:
    """The table row of a program, for a program that has an NSynth family."""
    if not 0 <= number <= 127:
        raise ConfigError(f"GM program {number} is outside 0..127 (programs are numbered from 0 here)")
    program = GM_PROGRAMS[number]
    if program.family is None:
        raise ConfigError(
            f"GM program {number} ({program.name}) has no NSynth instrument family, so it cannot be "
            "rendered as NSynth notes; pick another (`latent data programs` lists them)"
        )
    return program


def parse_programs(text: str) -> list[int]:
    """Programs from `0,24-27,flute`: numbers, inclusive ranges and NSynth family names, sorted."""
    chosen: set[int] = set()
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        if token in FAMILIES:
            chosen.update(p.number for p in GM_PROGRAMS if p.family == token)
            continue
        try:
            if "-" in token:
                low_text, high_text = token.split("-", 1)
                low, high = int(low_text), int(high_text)
                if low > high:
                    raise ValueError
                numbers = range(low, high + 1)
            else:
                numbers = range(int(token), int(token) + 1)
        except ValueError:
            raise ConfigError(
                f"program {token!r} is neither a GM program number (0..127), a range like 24-27, nor a "
                f"family ({', '.join(FAMILIES)})"
            ) from None
        for number in numbers:
            gm_program(number)
            chosen.add(number)
    if not chosen:
        raise ConfigError(f"no programs in {text!r}; give numbers, ranges or families, e.g. 0,24-27,flute")
    return sorted(chosen)
