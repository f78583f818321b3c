"""The playing instrument's status in a file, and `latent status` to read it (app layer).

A gallery technician (or a script, or a monitoring agent) asks "what is it doing?" without
touching the running process: while it plays, `latent play --status-file PATH` (the service
passes /run/latent/status.json) rewrites one small JSON document every couple of seconds with the
model, the sensors' health, blocks and underruns, the control side, the watchdog's verdict, the
limiter's work, the uptime and the mode (gallery mode: drifting, quiet hours, its ceiling). It
is replaced atomically (a temporary file renamed over it), so a reader never sees half of it; it
is not fsynced, since it describes the present and lives in /run. A write that fails is reported
once and never stops the sound.

`latent status` reads it back (bounded, like every file from outside), says how old it is (a
document older than `STALE_AFTER_S` means the instrument is not running, or is hung), and prints
it as lines or, with `--json`, as it is.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device.errors import ConfigError

STATUS_FORMAT = "latent-status-1"
STATUS_ENV = "LATENT_STATUS"
SERVICE_STATUS_PATH = Path("/run/latent/status.json")
WRITE_PERIOD_S = 2.0
STALE_AFTER_S = 10.0
MAX_STATUS_BYTES = 64 * 1024


def default_status_path() -> Path:
    """$LATENT_STATUS if set, else where the service writes it."""
    return Path(os.environ.get(STATUS_ENV) or SERVICE_STATUS_PATH)


def write_status(path: Path, doc: dict[str, Any]) -> None:
    """Replace `path` with `doc` atomically (rename of a temporary file beside it)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StatusReporter:
    """Call `tick(now)` from the supervising loop; writes `snapshot()` every `period_s`."""

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]], *,
                 period_s: float = WRITE_PERIOD_S, report: Callable[[str], None] = lambda message: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.snapshot = snapshot
        self.period_s = period_s
        self.report = report
        self.clock = clock
        self.writes = 0
        self.failures = 0
        self._next = float("-inf")

    def tick(self, now: float) -> bool:
        """Write if due; True when a document was written."""
        if now < self._next:
            return False
        self._next = now + self.period_s
        doc = {"format": STATUS_FORMAT, "updated": self.clock(), **self.snapshot()}
        try:
            write_status(self.path, doc)
        except OSError as bad:
            self.failures += 1
            if self.failures == 1:  # once: a full /run must not flood the journal
                self.report(f"cannot write the status file {self.path} ({bad.strerror or bad}); "
                            "playing on without it")
            return False
        self.writes += 1
        return True


def read_status(path: Path) -> dict[str, Any]:
    from device.safe_read import read_json

    if not path.exists():
        raise ConfigError(f"{path}: no status file: the instrument is not playing, or plays without "
                          "--status-file (the service writes /run/latent/status.json; "
                          f"${STATUS_ENV} names another)")
    doc = read_json(path, what="a status file", max_bytes=MAX_STATUS_BYTES)
    if not isinstance(doc, dict) or doc.get("format") != STATUS_FORMAT:
        raise ConfigError(f"{path}: not a {STATUS_FORMAT} document")
    return doc


def age_s(doc: dict[str, Any], now: float) -> float:
    updated = doc.get("updated")
    return now - float(updated) if isinstance(updated, int | float) else float("inf")


def _number(value: object) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def describe(doc: dict[str, Any], now: float) -> list[str]:
    """The status as lines for a person: the verdict first, then the figures."""
    from device.display import printable

    age = age_s(doc, now)
    health = doc.get("health") or {}
    if age > STALE_AFTER_S:
        verdict = f"NOT RUNNING? the status is {age:.0f} s old (written every {WRITE_PERIOD_S:g} s)"
    elif health.get("problem"):
        verdict = f"UNHEALTHY: {printable(str(health['problem']))}"
    else:
        verdict = "playing, healthy"
    audio = doc.get("audio") or {}
    sensors = doc.get("sensors") or {}
    missing = [printable(str(c.get("name"))) for c in sensors.get("chips", []) if not c.get("connected")]
    control = doc.get("control") or {}
    limiter = doc.get("limiter") or {}
    return [
        verdict,
        f"model     {printable(str(doc.get('model', '?')))}",
        f"uptime    {_number(doc.get('uptime_s'))} s (pid {doc.get('pid', '?')}, "
        f"mode {doc.get('mode', '?')})",
        f"audio     {audio.get('blocks', '?')} blocks, {audio.get('underruns', '?')} underruns, "
        f"{audio.get('errors', '?')} errors",
        f"sensors   {'all chips answer' if not missing else 'missing: ' + ', '.join(missing)}; "
        f"{control.get('polls', '?')} polls, {control.get('errors', '?')} errors",
        f"limiter   {limiter.get('limited_samples', '?')} samples turned down, "
        f"{limiter.get('nonfinite_samples', '?')} NaN/inf silenced",
        f"watchdog  {health.get('watchdog_pings', 0)} pings",
        *_gallery_lines(doc.get("gallery")),
        *_stage_lines(doc.get("midi"), doc.get("osc")),
    ]


def _stage_lines(midi: object, osc: object) -> list[str]:
    """MIDI's and OSC's lines, when the settings file turned them on (device.app.stage.Stage.status)."""
    from device.display import printable

    lines = []
    if isinstance(midi, dict):
        port = printable(str(midi.get("port"))) if midi.get("connected") else "no port (looking for it)"
        problem = f"; {printable(str(midi['problem']))}" if midi.get("problem") else ""
        lines.append(f"midi      {port}; {_number(midi.get('messages'))} messages, "
                     f"{len(midi.get('notes') or [])} notes sounding{problem}")
    if isinstance(osc, dict):
        lines.append(f"osc       port {_number(osc.get('port'))}: {_number(osc.get('in'))} in, "
                     f"{_number(osc.get('refused'))} refused, {_number(osc.get('sent'))} rounds out")
    return lines


_GALLERY_MODES = {"drift": "drifting by itself", "quiet": "quiet hours: silent", "play": "not drifting"}


def _gallery_lines(gallery: object) -> list[str]:
    """Gallery mode's line, when it is on (device.app.gallery.GalleryMode.status)."""
    if not isinstance(gallery, dict):
        return []
    mode = _GALLERY_MODES.get(str(gallery.get("mode")), "?")
    return [f"gallery   {mode}; {_number(gallery.get('drift_episodes'))} drifts, ceiling "
            f"{_number(gallery.get('ceiling_dbfs'))} dBFS, {_number(gallery.get('recalibrations'))} daily "
            "recalibrations"]
