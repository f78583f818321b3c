"""The instrument settings file: one TOML file for MIDI, OSC, presets and gallery mode (app layer).

`latent play --settings FILE` reads it, and the service passes /etc/latent-instrument/instrument.toml when
that file exists. Each section belongs to the module that uses it and is read by that module's
own reader (`device.app.midi_in.read_midi`, ...), registered in `SECTIONS`; this module only
opens the file strictly (`device.config_file`, lines named in every refusal, unknown sections
and keys refused) and collects what each reader returns into one frozen `InstrumentSettings`.
A section that is absent leaves its feature off (its field None).

    [midi]      notes, bend, sustain, CCs to latent axes and engine parameters, program change
    [osc]       position, pitch, touches and health out; the same parameters in
    [presets]   where numbered preset slots are kept
    [gallery]   autonomous mode when nobody plays (device.app.gallery_settings)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.app.gallery_settings import GallerySettings, read_gallery
from device.app.midi_in import MidiSettings, read_midi
from device.app.osc_link import OscSettings, read_osc
from device.app.presets import PresetSettings, read_presets
from device.config_file import TableReader, load_table
from device.errors import ConfigError

SERVICE_SETTINGS = Path("/etc/latent-instrument/instrument.toml")  # what the service passes when it exists
HINT = "see docs/instrument-settings.md"


@dataclass(frozen=True)
class InstrumentSettings:
    """Every section of the settings file; None where the section is absent (feature off)."""

    midi: MidiSettings | None = None
    osc: OscSettings | None = None
    presets: PresetSettings | None = None
    gallery: GallerySettings | None = None


# Section name -> reader of its table. A new section is one more line here and one field above.
SECTIONS: dict[str, Callable[[TableReader], Any]] = {
    "midi": read_midi,
    "osc": read_osc,
    "presets": read_presets,
    "gallery": read_gallery,
}


def read_settings(table: TableReader, sections: Mapping[str, Callable[[TableReader], Any]] = SECTIONS
                  ) -> InstrumentSettings:
    """The settings held by a whole document's reader; unknown sections are refused."""
    values = {name: reader(table.table(name)) for name, reader in sections.items() if table.has(name)}
    table.finish(allowed=sections)
    return InstrumentSettings(**values)


def load_settings(path: str | os.PathLike[str]) -> InstrumentSettings:
    """Read and check the settings file at `path` (every refusal names file:line and the key)."""
    table = load_table(path, what="instrument settings", error=ConfigError, hint=HINT,
                       missing="no such settings file; pass an existing TOML file to --settings",
                       locate_lines=True)
    return read_settings(table)
