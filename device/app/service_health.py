"""Whether the playing instrument is healthy, and the systemd watchdog pinged only while it is
(app layer).

A watchdog pinged from a timer would keep a stalled instrument alive for ever. Here each ping
is earned: since the last one, audio blocks went out (the render side is alive and the device
takes them), the sensors were polled (the control side is alive), and the engine did not turn
NaN or infinite samples into silence (a model gone bad). If any of them fails for longer than
the watchdog interval, the pings stop and systemd restarts the service; a fresh process is the
reliable way back from a stuck audio device or a wedged driver. The reason is kept, shown in
the service status (`systemctl status latent-instrument`), and reported once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Notifier(Protocol):
    @property
    def watchdog_s(self) -> float | None: ...

    def watchdog(self, status: str | None = None) -> bool: ...

    def status(self, status: str) -> bool: ...


@dataclass(frozen=True)
class Counters:
    """What must keep moving (blocks, polls) and what must not (silenced bad samples)."""

    blocks: int
    polls: int
    nonfinite: int


def read_counters(output: Any, control: Any, engine: Any) -> Counters:
    stats = output.stats.as_dict()
    return Counters(blocks=int(stats.get("blocks") or 0), polls=int(control.polls),
                    nonfinite=int(engine.nonfinite_samples))


class ServiceHealth:
    """Call `tick(now)` from the supervising loop; pings the watchdog at half its interval when
    the instrument earned it since the previous ping."""

    def __init__(self, notifier: Notifier, counters: Callable[[], Counters],
                 report: Callable[[str], None] = lambda message: None) -> None:
        self.notifier = notifier
        self.counters = counters
        self.report = report
        interval = notifier.watchdog_s
        # systemd's advice: ping at half the interval, so one late check does not count as dead.
        self.period_s = None if interval is None else interval / 2
        self._last: Counters | None = None
        self._last_ping = float("-inf")
        self.pings = 0
        self.problem: str | None = None

    def _judge(self, now_counters: Counters) -> str | None:
        last = self._last
        if last is None:
            return None
        if now_counters.blocks <= last.blocks:
            return "no audio block went out since the last check"
        # Polls are compared from the second check on: a restarted sensor thread starts at 0.
        if now_counters.polls == last.polls:
            return "the sensors were not polled since the last check"
        if now_counters.nonfinite > last.nonfinite:
            return (f"the engine silenced {now_counters.nonfinite - last.nonfinite} NaN or infinite "
                    "samples since the last check (the model is producing bad output)")
        return None

    def tick(self, now: float) -> bool:
        """Ping if due and healthy; True when a ping went out."""
        if self.period_s is None or now - self._last_ping < self.period_s:
            return False
        current = self.counters()
        problem = self._judge(current)
        self._last, self._last_ping = current, now
        if problem is not None:
            if problem != self.problem:
                self.report(f"unhealthy, not pinging the service watchdog: {problem}")
                self.notifier.status(f"unhealthy: {problem}")
            self.problem = problem
            return False
        if self.problem is not None:
            self.report("healthy again; pinging the service watchdog")
            self.problem = None
        self.pings += 1
        return self.notifier.watchdog(status=f"playing; {current.blocks} blocks")
