"""Grid axes of a segment bank: their names, ranges and step counts (bundle layer)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.errors import BundleError


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
            raise BundleError(f"manifest axis entry must be an object, got {entry!r}")
        try:
            return cls(
                name=str(entry["name"]),
                min=float(entry["min"]),
                max=float(entry["max"]),
                steps=entry["steps"],
                description=str(entry.get("description", "")),
            )
        except KeyError as missing:
            raise BundleError(f"manifest axis entry lacks field {missing}") from None
        except (TypeError, ValueError) as bad:
            raise BundleError(f"manifest axis entry {entry!r} is malformed: {bad}") from None
