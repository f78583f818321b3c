"""Real-time scheduling for the instrument's own threads (audio layer).

Why: the render thread must deliver a block into PortAudio's ring before the ring's slack
(the render-ahead, 5.3 ms by default) runs out, and it needs the GIL for every block. If the
kernel preempts it, or preempts whichever of the instrument's threads holds the GIL (the
sensor poller, the model watcher), in favour of another process (a model being flashed, sshd,
apt), the ring drains. Before the ring existed, a real-time class is what removed the underruns
that swaps caused (`latent bench swap`, figures in docs/MEASUREMENTS.md); the ring's slack now
absorbs most such delays, and this class the rest.
Ordinary processes cannot preempt a thread in a real-time class; these threads all sleep
between their work (the control loop on the touch chip's IRQ, see `device.app.control_thread`),
so they take no more CPU than before, and the kernel's real-time throttling (95% by default)
leaves the rest of the machine a share even if one ever ran away.

Each thread promotes itself (`promote_current_thread`), at its own priority: the render thread
highest (SCHED_FIFO 20), then an rnn engine's model thread (device.engine.rnn: it feeds the render
thread one 4 ms frame ahead, and a late frame is heard as a held one), then the control thread,
then the model watcher. A thread already in a real-time class is left as it is. Threads promote
themselves rather than inherit from the main thread, so that a process the instrument starts
never inherits a real-time class.

A refusal (no RLIMIT_RTPRIO: the service's unit sets LimitRTPRIO; a laptop user usually has
none) is returned as a reason to report, never raised: the instrument plays either way.
"""

from __future__ import annotations

import os

AUDIO_PRIORITY = 20
MODEL_PRIORITY = 10
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
