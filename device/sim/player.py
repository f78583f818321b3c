"""Plays a gesture on the fake chips: at time t, set every touch and bend it drives (sim layer)."""

from __future__ import annotations

from collections.abc import Mapping

from device.bus.fake_ads1115 import FakeADS1115
from device.bus.fake_mpr121 import FakeMPR121
from device.errors import GestureError
from device.sim.gesture import TOUCH_CHANNEL, Gesture


class GesturePlayer:
    """Drives `touch_chip` electrodes (channels eN) and `flex_chip` inputs (channels named in
    `flex_inputs`, e.g. {"flex0": 0}) from `gesture`. Channels the gesture does not name are
    left alone, so a test or a person can still touch them by hand."""

    def __init__(self, gesture: Gesture, touch_chip: FakeMPR121, flex_chip: FakeADS1115,
                 flex_inputs: Mapping[str, int]) -> None:
        self.gesture = gesture
        self._touches: list[tuple[str, int]] = []
        self._bends: list[tuple[str, int]] = []
        for channel in gesture.tracks:
            if TOUCH_CHANNEL.fullmatch(channel):
                self._touches.append((channel, int(channel[1:])))
            elif channel in flex_inputs:
                self._bends.append((channel, flex_inputs[channel]))
            else:
                raise GestureError(f"{gesture.source}: channel {channel!r} is not wired on this instrument "
                                   f"(flex channels in the pin map: {', '.join(flex_inputs) or 'none'})")
        self._touch_chip = touch_chip
        self._flex_chip = flex_chip

    def apply(self, t: float) -> dict[str, float]:
        """Set the chips to the gesture's state at `t` seconds; returns that state."""
        state = self.gesture.state_at(t)
        for channel, electrode in self._touches:
            self._touch_chip.touch(electrode, state[channel])
        for channel, adc_input in self._bends:
            self._flex_chip.bend(adc_input, state[channel])
        return state
