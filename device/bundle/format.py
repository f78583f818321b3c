"""Bundle file format v1: the one contract between host tools and the device (bundle layer).

Layout (little-endian):

    offset 0   8 bytes   magic b"LATENTB\\x00"
    offset 8   uint32    format version (1)
    offset 12  uint32    manifest length M in bytes
    offset 16  32 bytes  sha256 of the manifest bytes
    offset 48  M bytes   manifest, UTF-8 JSON (self-describing, see below)
    ...        payloads, each starting on a 64-byte boundary, raw C-order arrays

The manifest names the kind (`segment-bank` or `rnn`), the sample rate, the exact file size,
each payload's offset/size/dtype/shape/sha256, kind-specific fields (for a bank: grid axes,
pitches, segment length, codec; for an rnn: device/bundle/rnn_format.py) and the config and
provenance that built the bundle.
Payloads are memory-mapped by the reader and never unpickled.
"""

from __future__ import annotations

import struct
import unicodedata

MAGIC = b"LATENTB\x00"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
HEADER = struct.Struct("<8sII32s")
HEADER_SIZE = HEADER.size  # 48
ALIGNMENT = 64
MAX_MANIFEST_BYTES = 16 * 1024 * 1024

KIND_SEGMENT_BANK = "segment-bank"
KIND_RNN = "rnn"  # an ONNX GRU driving the harmonic-plus-noise synth; see device/bundle/rnn_format.py
KINDS = (KIND_SEGMENT_BANK, KIND_RNN)

# dtypes a payload may declare: plain numeric little-endian arrays only.
PAYLOAD_DTYPES = ("<i2", "|u1", "<f4", "<f8", "<i4", "<i8")

MAX_GRID_AXES = 4
MAX_NAME_CHARS = 128
MAX_DESCRIPTION_CHARS = 2000  # an axis's or a model's description
# A segment may peak at full scale; the margin covers the codecs' rounding (int16's -32768 is
# -1.00003), never a loud bundle: 0.1 dB.
MAX_SEGMENT_PEAK = 10 ** (0.1 / 20)


def align(offset: int) -> int:
    return (offset + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def is_int(value: object) -> bool:
    """A manifest integer: an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_plain_description(text: str, *, newlines: bool = False) -> bool:
    """At most MAX_DESCRIPTION_CHARS and no control characters (line breaks allowed with `newlines`)."""
    return len(text) <= MAX_DESCRIPTION_CHARS and not any(
        unicodedata.category(c) == "Cc" and not (newlines and c == "\n") for c in text)


def check_display_name(name: str) -> str | None:
    """Why `name` (of a bundle or an axis) cannot be shown on a terminal or in a log, or None."""
    if not name.strip():
        return "is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters long (at most {MAX_NAME_CHARS})"
    bad = next((c for c in name if unicodedata.category(c)[0] in "CZ" and c != " "), None)
    if bad is not None:
        return f"holds the control or separator character {bad!r}"
    return None
