"""The unit of data the sensor layer hands to the mapping layer (sensors layer).

One `SensorFrame` per poll: a monotonic timestamp and one float per named channel.
Channel names are stable strings ("e0".."e11" for electrodes, "flex0", "flex1" for bend
sensors) so a mapping file can refer to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SensorFrame:
    """Readings of every channel at one instant.

    `values` are raw, uncalibrated numbers whose size grows with the gesture (an electrode's
    value rises when touched; a flex sensor's rises as it bends). `stale` names channels
    whose value was held from an earlier poll because their chip did not answer this time.
    """

    timestamp: float
    values: Mapping[str, float]
    stale: frozenset[str] = field(default_factory=frozenset)

    def __getitem__(self, channel: str) -> float:
        return self.values[channel]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.values)
