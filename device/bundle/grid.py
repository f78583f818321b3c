"""Grid axes of a segment bank: their names, ranges and step counts (bundle layer)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.bundle.format import MAX_DESCRIPTION_CHARS, check_display_name, is_plain_description
from device.errors import BundleError

MAX_STEPS = 4096


@dataclass(frozen=True)
class Axis:
    """One latent axis of the bank grid: `steps` points evenly spaced from `min` to `max`."""

    name: str
    min: float
    max: float
    steps: int
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise BundleError("a grid axis needs a name")
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.max <= self.min:
            raise BundleError(
                f"axis {self.name!r}: range [{self.min}, {self.max}] must be finite and increasing"
            )
        if int(self.steps) != self.steps or self.steps < 2:
            raise BundleError(f"axis {self.name!r}: steps must be an integer >= 2, got {self.steps}")

    def values(self) -> np.ndarray:
        return np.linspace(self.min, self.max, self.steps)

    def to_manifest(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min": float(self.min),
            "max": float(self.max),
            "steps": int(self.steps),
            "description": self.description,
        }

    @classmethod
    def from_manifest(cls, entry: Any) -> Axis:
        if not isinstance(entry, dict):
            raise BundleError(f"manifest axis entry must be an object, got {entry!r:.80}")
        missing = [key for key in ("name", "min", "max", "steps") if key not in entry]
        if missing:
            raise BundleError(f"manifest axis entry lacks field {missing[0]!r}")
        name, low, high, steps = entry["name"], entry["min"], entry["max"], entry["steps"]
        description = entry.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise BundleError(f"manifest axis name and description must be text, got "
                              f"{name!r:.80} and {description!r:.80}")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            raise BundleError(f"axis {name!r:.80}: min and max must be numbers, got {low!r:.40} "
                              f"and {high!r:.40}")
        if not isinstance(steps, int) or isinstance(steps, bool) or not 2 <= steps <= MAX_STEPS:
            raise BundleError(f"axis {name!r:.80}: steps must be an integer from 2 to {MAX_STEPS}, "
                              f"got {steps!r:.40}")
        why = check_display_name(name)
        if why:
            raise BundleError(f"axis name {name!r:.80} {why}")
        if not is_plain_description(description):
            raise BundleError(f"axis {name!r}: description {description!r:.80} holds control characters "
                              f"or is over {MAX_DESCRIPTION_CHARS} characters")
        try:
            return cls(name=name, min=float(low), max=float(high), steps=steps,
                       description=description)
        except OverflowError:
            raise BundleError(f"axis {name!r:.80}: range [{low!r:.40}, {high!r:.40}] is not finite") from None
