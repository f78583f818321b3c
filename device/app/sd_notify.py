"""systemd's notify protocol, from the service side (app layer).

With `Type=notify` systemd waits for `READY=1` before it counts the instrument as started, and
with `WatchdogSec=` it restarts the service when no `WATCHDOG=1` arrives in time. The protocol is
one datagram of newline-separated `KEY=VALUE` lines to the socket named by `$NOTIFY_SOCKET`
(a leading `@` names an abstract socket); `$WATCHDOG_USEC` is the watchdog's interval, and
`$WATCHDOG_PID`, when set, names the one process it watches. Written here rather than taken from
a package: it is twenty lines, and the maintained alternatives pull in libsystemd.

Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op, so `latent play` behaves the same
at a desk. Sending never raises: a notification that cannot be sent is counted, and systemd's
own timeouts then act on the silence, which is the point of a watchdog.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    """Sends READY/WATCHDOG/STATUS/STOPPING to systemd when run as a notify service."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = self._watchdog_interval(env)
        self.sent = 0
        self.failures = 0
        self.last_error: str | None = None

    @staticmethod
    def _watchdog_interval(env: Mapping[str, str]) -> float | None:
        pid = env.get("WATCHDOG_PID")
        if pid and pid != str(os.getpid()):
            return None  # the watchdog is meant for another process (e.g. our parent)
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        return usec / 1e6 if usec > 0 else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, **fields: object) -> bool:
        """Send one datagram of `KEY=value` lines; True if it went out (False outside systemd)."""
        if not self._address:
            return False
        # A newline inside a value would start a new assignment: flatten it.
        message = "\n".join(f"{key}={' '.join(str(value).splitlines())}"
                            for key, value in fields.items()).encode("utf-8")
        try:
            # Non-blocking: a datagram socket whose reader lags blocks the sender once its queue
            # is full (net.unix.max_dgram_qlen, 10 by default), and the supervising loop that
            # pings must never wait on systemd.
            with socket.socket(socket.AF_UNIX,
                               socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as sock:
                sock.sendto(message, self._address)
        except OSError as bad:
            self.failures += 1
            self.last_error = f"{type(bad).__name__}: {bad}"
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> bool:
        return self.notify(READY=1, STATUS=status)

    def watchdog(self, status: str | None = None) -> bool:
        return self.notify(WATCHDOG=1, **({"STATUS": status} if status else {}))

    def status(self, status: str) -> bool:
        return self.notify(STATUS=status)

    def stopping(self, status: str) -> bool:
        return self.notify(STOPPING=1, STATUS=status)
