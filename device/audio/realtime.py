"""Real-time scheduling for the instrument's own threads (audio layer).

Why: the audio callback is Python, so before every buffer PortAudio's audio thread must take the
GIL from whichever of the instrument's threads holds it (the sensor poller, the model watcher).
If the kernel preempts that holder in favour of another process (a model being flashed, sshd,
apt, a log rotation), the audio thread waits for a thread that is not running: a priority
inversion that the GIL turns into underruns. Measured with `latent bench swap` on the 2-core
test VM (JACK dummy, 48 kHz / 128 frames; the flash and activate commands run by other
processes): 18 underruns in 30 swaps at normal priority, every one a callback that jackd saw
still running when the next cycle came, and none in 50 swaps with the instrument's threads in a
real-time class. Saturating both cores with two busy processes at normal priority gave the same
picture (12-22 underruns in 6 swaps, none with a real-time class). Giving those threads a
real-time class (SCHED_RR, just above the normal class) means ordinary processes can no longer
preempt them; they still sleep between polls, so they take no more CPU than before, and the
kernel's real-time throttling (95% by default) leaves the rest of the machine a share even if
one ever ran away.

Each thread promotes itself (`promote_current_thread`), at its own priority: the audio thread
highest (PortAudio's JACK client thread already runs in FIFO just below the JACK server and is
left alone; an ALSA callback thread runs in the normal class and is raised), then the control
thread, then the model watcher. Threads promote themselves rather than inherit from the main
thread, so that a process the instrument starts never inherits a real-time class.

A refusal (no RLIMIT_RTPRIO: the service's unit sets LimitRTPRIO; a laptop user usually has
none) is returned as a reason to report, never raised: the instrument plays either way.
"""

from __future__ import annotations

import os

AUDIO_PRIORITY = 20
CONTROL_PRIORITY = 2
WATCHER_PRIORITY = 1
_MAX_PRIORITY = 99


def promote_current_thread(priority: int, *, fifo: bool = False) -> str | None:
    """Put the calling thread in SCHED_RR (or SCHED_FIFO) at `priority`; None when done.

    A thread already in a real-time class is left as it is: it was placed there on purpose
    (JACK runs its clients just below its server, whatever `priority` says). Returns the reason
    when it could not be done.
    """
    if not 1 <= priority <= _MAX_PRIORITY:
        raise ValueError(f"real-time priority {priority} must be between 1 and {_MAX_PRIORITY}")
    if not hasattr(os, "sched_setscheduler"):
        return "this platform has no POSIX real-time scheduling; playing at normal priority"
    realtime = (os.SCHED_FIFO, os.SCHED_RR)
    try:
        # pid 0 is the calling thread: Linux schedules threads, not processes.
        if os.sched_getscheduler(0) in realtime:
            return None
        os.sched_setscheduler(0, os.SCHED_FIFO if fifo else os.SCHED_RR, os.sched_param(priority))
    except OSError as err:
        return (f"real-time priority {priority} refused ({err.strerror}); playing at normal priority, "
                "where other busy processes can cause underruns. Allow it with LimitRTPRIO=95 in the "
                "systemd unit (deploy/latent-instrument.service does) or an rtprio line in "
                "/etc/security/limits.d/ for this user")
    return None


def thread_scheduling() -> str:
    """The calling thread's class and priority, e.g. 'SCHED_RR 2' (for reports and tests)."""
    if not hasattr(os, "sched_getscheduler"):
        return "unknown"
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
    policy = os.sched_getscheduler(0)
    return f"{names.get(policy, str(policy))} {os.sched_getparam(0).sched_priority}"
