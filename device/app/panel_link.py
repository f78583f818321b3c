"""Connects the front panel (buttons, LEDs) to the playing instrument (app layer).

Buttons act on the mapping: preset cycles its presets, freeze latches freeze, recalibrate
relearns every sensor's resting value. The LEDs follow the instrument from the control thread,
a few dozen times a second: the status LED breathes while all is well and blinks while a sensor
chip is missing; the touch LED lights while a pitch key is held.
"""

from __future__ import annotations

from typing import Any

from device.app.instrument import Instrument

LED_PERIOD_S = 0.02


class PanelLink:
    def __init__(self, panel: Any, instrument: Instrument) -> None:
        self.panel = panel
        self.instrument = instrument
        mapper = instrument.mapper
        panel.on_cycle_preset = mapper.cycle_preset
        panel.on_recalibrate = mapper.recalibrate
        panel.on_freeze_toggle = self._freeze
        self._next_led = 0.0

    def _freeze(self, frozen: bool) -> None:
        self.instrument.mapper.freeze_latched = frozen

    def after_poll(self, now: float) -> None:
        """Control thread, after each poll: refresh the LEDs when their period has passed."""
        if now < self._next_led:
            return
        self._next_led = now + LED_PERIOD_S
        sensors = self.instrument.sensors
        fault = not sensors.status().all_connected
        self.panel.update(now, fault=fault, touching=self.instrument.mapper.key_held)

    def close(self) -> None:
        self.panel.close()
