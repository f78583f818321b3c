"""What every audio output pulls sound from: a block source (audio layer, layer 5).

A source is any object with `render_into(out)` that fills a float32 mono block in place.
The granular engine is one; `device.audio.tone.SineSource` is another (for speaker checks and tests).
Outputs depend only on this protocol, never on the engine.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from device.errors import ConfigError


@runtime_checkable
class BlockSource(Protocol):
    """Fills `out` (float32, shape (frames,), nominally -1..1) with the next block of mono audio."""

    def render_into(self, out: np.ndarray) -> None: ...


def require_source(source: object) -> BlockSource:
    """Return `source` if it can be played, else raise a ConfigError naming what it lacks."""
    if not isinstance(source, BlockSource):
        raise ConfigError(
            f"cannot play a {type(source).__name__}: an audio source needs a method "
            "render_into(out: np.ndarray) -> None that fills a float32 mono block "
            "(the granular engine has one)"
        )
    return source
