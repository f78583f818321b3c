"""Connects the front panel (buttons, LEDs) to the playing instrument (app layer).

Buttons act on the mapping: preset cycles its presets, freeze latches freeze, recalibrate
relearns every sensor's resting value. With preset slots (`[presets]` in the settings file,
`attach_presets`) the preset button recalls the next stored slot instead, and holding it stores
what plays into the current slot (a small atomic file write, on gpiozero's button thread).
The LEDs follow the instrument from the control thread,
a few dozen times a second: the status LED breathes while all is well and blinks while a sensor
chip is missing; the touch LED lights while a pitch key is held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from device.sensors.array import SensorStatus

LED_PERIOD_S = 0.02


class PanelMapper(Protocol):
    """What the panel needs of the mapping (device.mapping.mapper.Mapper provides it)."""

    freeze_latched: bool

    @property
    def key_held(self) -> bool: ...

    def cycle_preset(self) -> str: ...

    def recalibrate(self) -> None: ...


class PresetSlots(Protocol):
    """What the panel needs of the preset slots (device.app.presets.PresetBank provides it)."""

    def recall_next(self) -> int | None: ...

    def store_current(self, slot: int | None = None) -> int: ...


class MonitoredSensors(Protocol):
    """What the panel needs of the sensors: whether every chip answers."""

    def status(self) -> SensorStatus: ...


class PanelLink:
    def __init__(self, panel: Any, mapper: PanelMapper, sensors: MonitoredSensors) -> None:
        self.panel = panel
        self.mapper = mapper
        self.sensors = sensors
        panel.on_cycle_preset = mapper.cycle_preset
        panel.on_recalibrate = mapper.recalibrate
        panel.on_freeze_toggle = self._freeze
        self._next_led = 0.0

    def attach_presets(self, bank: PresetSlots, report: Callable[[str], None] = print) -> None:
        """Preset button: a press recalls the next stored slot, a hold stores into the current one."""
        def recall_next() -> None:
            try:
                slot = bank.recall_next()
                report(f"preset slot {slot} recalled" if slot else "no preset stored yet: hold the "
                                                                    "preset button to store one")
            except Exception as err:  # a damaged slot file is said, and the instrument plays on
                report(f"preset: {err}")

        def store() -> None:
            try:
                report(f"preset slot {bank.store_current()} stored")
            except Exception as err:
                report(f"preset not stored: {err}")

        self.panel.on_cycle_preset = recall_next
        self.panel.on_hold_preset = store

    def _freeze(self, frozen: bool) -> None:
        self.mapper.freeze_latched = frozen

    def after_poll(self, now: float) -> None:
        """Control thread, after each poll: refresh the LEDs when their period has passed."""
        if now < self._next_led:
            return
        self._next_led = now + LED_PERIOD_S
        fault = not self.sensors.status().all_connected
        self.panel.update(now, fault=fault, touching=self.mapper.key_held)

    def close(self) -> None:
        self.panel.close()
