"""The systemd unit asks for what the instrument provides: notify readiness and a watchdog that
`latent play` pings (device/app/service_health.py) at half the interval."""

from __future__ import annotations

import configparser
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "latent-instrument.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys keep their case (Type, not type)
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_the_unit_waits_for_ready_and_watches_the_pings() -> None:
    service = _service()
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    watchdog_s = float(service["WatchdogSec"])
    assert 2 <= watchdog_s <= 60  # pinged at half of it from a 0.1 s supervising loop
    assert float(service["TimeoutStartSec"]) >= 60
    assert service["Restart"] == "always"
    assert "latent play" in service["ExecStart"]
