"""Showing text that came from outside on a terminal, safely (bottom layer, shared by all).

A bundle's manifest (name, kind, creation time), a failure log entry or a path is data someone
else wrote. Printed raw, an escape sequence in it can clear the screen, move the cursor, retitle
the window or hide the rest of a line, and a newline can forge extra lines of output; a lone
surrogate (an undecodable byte in a file name) makes `print` itself raise. `printable` shows such
text with every control or otherwise non-printable character escaped the way Python writes it
(`\\x1b`, `\\n`, `\\u202e`), and cuts absurdly long text short, saying how long it was.

Machine-readable output (`--json`) does not need this: JSON escapes control characters itself.
"""

from __future__ import annotations

NAME_LIMIT = 120
"""Longest name shown whole: longer ones are cut (a real bundle name is far shorter)."""

PATH_LIMIT = 1024
"""Longest path or message shown whole."""

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char.isprintable():
        return char
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, limit: int = NAME_LIMIT) -> str:
    """`text` (str() of it, if not a string) with control and non-printable characters escaped,
    cut to at most `limit` shown characters plus a note of the full length.

    An escape is never cut in half, so what is shown is always an exact prefix of the escaped text.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    raw = text if isinstance(text, str) else str(text)
    shown: list[str] = []
    used = 0
    for char in raw:
        piece = _escaped(char)
        if used + len(piece) > limit:
            return "".join(shown) + f"... ({len(raw)} characters)"
        shown.append(piece)
        used += len(piece)
    return "".join(shown)
