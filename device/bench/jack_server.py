"""A private JACK server with the dummy driver, for benches and tests of the real audio path (bench rig).

`JackServer` starts `jackd -n NAME -d dummy -r RATE -p PERIOD`, waits until a freshly
initialised PortAudio sees the JACK host API with the dummy's "system" device, and on close
stops it and removes what it left in /dev/shm. Clients find it through JACK_DEFAULT_SERVER
(libjack reads it at each client open; JACK_NO_START_SERVER keeps a typo from spawning a default
server): `clients_use_it()` sets both for a block, and a `with JackServer() as server:` block
sets them throughout. PortAudio scans devices when it is initialised, so create
pyaudio.PyAudio (or start an output) inside that scope.

Names come from a small pool (`latent-jack-<uid>-<n>`), not one new name per server: libjack
keeps a registry of at most eight server names in /dev/shm and reclaims an entry only when a
server of the same name starts again, so servers that were killed (as the device-loss test
does) under ever-new names would fill it and no server could start any more.

`start_reference()` runs `jack_metro` (a C client from jackd2) on the same server, and
`xruns_since()` sorts jackd's log by client, so one run counts the instrument's missed cycles
beside a C client's (`latent bench xruns`).

The `jack_server` fixture in tests/conftest.py shares one server across a test session and
points the environment at it only during the tests that ask for it. Tests skip (with the
reason) only when jackd is not installed or will not start; a PortAudio built without JACK
support is a failure, because then the real audio path would silently go untested.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

from device.audio.devices import list_output_devices

JACK_HOST_API = "JACK Audio Connection Kit"
DUMMY_DEVICE = "system"
LATE_CLIENT = "JackEngine::XRun: client = "
REFERENCE_CLIENT = "metro"
NAME_POOL = 8  # libjack's registry holds eight server names
PORTAUDIO_FIX = (
    "PortAudio in this process has no JACK host API. pyaudio must be built against Debian's "
    "portaudio19-dev (whose libportaudio2 is built with JACK): apt-get install portaudio19-dev, then "
    "pip install --force-reinstall --no-binary pyaudio pyaudio"
)


@dataclass
class XrunReport:
    """What jackd said about missed cycles, sorted by what they tell about the machine.

    `driver`: the dummy driver's own timer woke late: the machine stalled jackd itself.
    `triggered`: clients signalled for a cycle whose thread had not even started it. An idle
    realtime thread that is not scheduled is the machine's doing (other load, a busy hypervisor);
    no code inside the client can cause it.
    `running`: clients still inside their process callback when the next cycle came: the
    client was too slow (in Python, a GIL wait counts here) or was stalled while running.
    """

    driver: int = 0
    triggered: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)

    def client_count(self, client: str) -> int:
        """Cycles jackd reported this client as not finished (scheduled late, or too slow)."""
        return self.triggered.count(client) + self.running.count(client)

    @property
    def machine_stalled(self) -> bool:
        return bool(self.driver or self.triggered)

    def __str__(self) -> str:
        return (f"jackd: {self.driver} driver wake-ups late, {len(self.triggered)} clients not scheduled "
                f"({', '.join(sorted(set(self.triggered))) or '-'}), {len(self.running)} clients too slow "
                f"({', '.join(sorted(set(self.running))) or '-'})")


class JackUnavailable(RuntimeError):
    """jackd is not installed here or would not start (tests skip on this, and only on this)."""


def _jackd_command_lines() -> list[list[str]]:
    lines = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            words = Path(cmdline).read_bytes().split(b"\0")
            if words and os.path.basename(words[0]) == b"jackd":
                lines.append([word.decode(errors="replace") for word in words])
    return lines


def _names_in_use() -> set[str]:
    """Server names of the jackd processes running now (started with -n NAME)."""
    return {words[i + 1] for words in _jackd_command_lines() for i, word in enumerate(words[:-1])
            if word == "-n"}


def _clear_stale_registry() -> bool:
    """Delete libjack's server registry if no jackd runs at all (then every entry in it is dead)."""
    if _jackd_command_lines():
        return False
    try:
        os.unlink("/dev/shm/jack-shm-registry")
    except OSError:
        return False
    return True


def _die_with_parent() -> None:
    # If the test process is killed, take jackd with it instead of leaving a server running.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class JackServer:
    """One jackd with the dummy driver: a context manager, or start() then close() (stop() keeps the log)."""

    def __init__(self, sample_rate: int = 48000, period: int = 128, *, name: str | None = None,
                 startup_timeout_s: float = 15.0, probe_in_process: bool = True) -> None:
        self.sample_rate = sample_rate
        # libjack in a process that was a client of a server that went away connects to no other
        # server afterwards: a server that will be killed is checked from a jack_lsp process.
        self.probe_in_process = probe_in_process
        self.period = period
        self.name = name or f"latent-jack-{os.getuid()}-0"
        self._pool = name is None
        self.startup_timeout_s = startup_timeout_s
        self.realtime = True
        self._process: subprocess.Popen[bytes] | None = None
        self._references: list[subprocess.Popen[bytes]] = []
        self._log_dir = Path(tempfile.mkdtemp(prefix="jackd-log-"))
        self.log_path = self._log_dir / "jackd.log"
        self._entered: contextlib.ExitStack | None = None

    # ---------------------------------------------------------------------------------- lifecycle

    def start(self) -> JackServer:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise JackUnavailable("jackd is not installed (Debian package jackd2)")
        _clear_stale_registry()  # killed servers' entries, if no jackd runs now
        failures = []
        taken = _names_in_use()
        names = ([name for slot in range(NAME_POOL)
                  if (name := f"latent-jack-{os.getuid()}-{slot}") not in taken] if self._pool
                 else [self.name])
        for name in names:
            self.name = name
            # Realtime first, as on an instrument; a container without CAP_SYS_NICE may refuse it.
            for realtime in (True, False):
                self.realtime = realtime
                try:
                    self._launch(jackd)
                    if self.probe_in_process:
                        with self.clients_use_it():
                            self._wait_until_portaudio_sees_it()
                    else:
                        self._wait_until_jack_lsp_sees_it()
                    return self
                except JackUnavailable as exc:
                    failures.append(str(exc))
                    self.stop()
                    if "server already active" in str(exc):
                        break  # taken by a server started meanwhile: try the next name
                except BaseException:
                    self.stop()
                    raise
            else:
                break
        raise JackUnavailable("; ".join(failures[-2:]))

    def start_reference(self, name: str = REFERENCE_CLIENT) -> subprocess.Popen[bytes]:
        """Start `jack_metro` (a C client) on this server and wait until it is in the graph.

        Its port is left unconnected: jackd runs every active client each cycle whether or not
        its ports lead anywhere, and recordings of what feeds the playback ports stay ours.
        """
        metro = shutil.which("jack_metro")
        if metro is None:
            raise JackUnavailable("jack_metro is not installed (Debian package jackd2)")
        process = subprocess.Popen([metro, "-b", "120", "-n", name], env=self._client_env(),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and process.poll() is None:
            listed = subprocess.run(["jack_lsp"], env=self._client_env(), capture_output=True, timeout=10)
            if f"{name}:".encode() in listed.stdout:
                self._references.append(process)
                return process
            time.sleep(0.1)
        process.kill()
        process.wait()
        raise JackUnavailable(f"jack_metro did not come up on {self.name}")

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (its clients are left to notice)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5)

    def stop(self) -> None:
        for reference in self._references:
            if reference.poll() is None:
                reference.kill()
            reference.wait(timeout=5)
        self._references.clear()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        # jackd removes these itself on a clean exit; a killed one leaves them behind.
        patterns = (f"/dev/shm/jack_{self.name}_*", f"/dev/shm/jack_sem.*_{self.name}_*")
        for leftover in [path for pattern in patterns for path in glob.glob(pattern)]:
            with contextlib.suppress(OSError):
                os.unlink(leftover)

    def close(self) -> None:
        """Stop the server and delete its log."""
        self.stop()
        shutil.rmtree(self._log_dir, ignore_errors=True)

    @property
    def client_environment(self) -> dict[str, str]:
        """What a process's environment needs for libjack (hence PortAudio) to use this server."""
        return {"JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    @contextlib.contextmanager
    def clients_use_it(self) -> Iterator[None]:
        """Point this process's libjack at the server for the block (PortAudio inits inside see it)."""
        saved = {key: os.environ.get(key) for key in self.client_environment}
        os.environ.update(self.client_environment)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.client_environment}

    def __enter__(self) -> JackServer:
        """Start the server and point this process at it until the with-block ends."""
        self.start()
        self._entered = contextlib.ExitStack()
        self._entered.enter_context(self.clients_use_it())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._entered is not None:
            self._entered.close()
            self._entered = None
        self.close()

    # ------------------------------------------------------------------------------- diagnostics

    def log(self) -> str:
        """What jackd printed so far (its xrun reports name the late client)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_mark(self) -> int:
        """A position in the log, for reading only what jackd reported after it."""
        return len(self.log())

    def xruns_since(self, mark: int = 0) -> XrunReport:
        """Classify the xruns jackd reported after `mark` (see XrunReport)."""
        report = XrunReport()
        for line in self.log()[mark:].splitlines():
            if line.startswith("JackTimedDriver::Process XRun"):
                report.driver += 1
            elif line.startswith(LATE_CLIENT):
                client, _, state = line.removeprefix(LATE_CLIENT).partition(" was not finished")
                key = "triggered" if "Triggered" in state else "running"
                getattr(report, key).append(client)
        return report

    def ports_feeding_playback(self) -> list[str]:
        """Client output ports connected to the dummy's playback ports, in playback-channel order."""
        listing = subprocess.run(["jack_lsp", "-c"], env=self._client_env(), capture_output=True, text=True,
                                 timeout=10, check=True)
        feeding: dict[str, str] = {}
        port = ""
        for line in listing.stdout.splitlines():
            if not line.startswith((" ", "\t")):
                port = line.strip()
            elif port.startswith("system:playback_"):
                feeding.setdefault(port, line.strip())
        return [feeding[name] for name in sorted(feeding, key=lambda name: int(name.rsplit("_", 1)[1]))]

    def record(self, ports: list[str], seconds: int, path: Path) -> tuple[np.ndarray, int]:
        """Record JACK `ports` for whole `seconds` with jack_rec; return (float frames x ports, rate)."""
        subprocess.run(["jack_rec", "-f", str(path), "-d", str(seconds), "-b", "16", *ports],
                       env=self._client_env(), capture_output=True, timeout=seconds + 20, check=True)
        with wave.open(str(path), "rb") as recording:
            rate = recording.getframerate()
            pcm = np.frombuffer(recording.readframes(recording.getnframes()), dtype="<i2")
        return pcm.reshape(-1, len(ports)).astype(np.float64) / 32767.0, rate

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ---------------------------------------------------------------------------------- internals

    def _launch(self, jackd: str) -> None:
        command = [jackd, "-n", self.name]
        if not self.realtime:
            command.append("--no-realtime")
        command += ["-d", "dummy", "-r", str(self.sample_rate), "-p", str(self.period)]
        # No D-Bus device reservation: there is no session bus here, and no card to reserve.
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                              stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def _wait_until_portaudio_sees_it(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        host_apis: set[str] = set()
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self.log().strip().splitlines()[-3:]
                raise JackUnavailable(
                    f"jackd ({'realtime' if self.realtime else 'no realtime'}) exited with code "
                    f"{self._process.returncode}: {' / '.join(tail)}"
                )
            devices = list_output_devices()
            host_apis = {device.host_api for device in devices}
            if any(d.host_api == JACK_HOST_API and d.name == DUMMY_DEVICE for d in devices):
                return
            time.sleep(0.1)
        if self.running and JACK_HOST_API not in host_apis:
            self._probe_jack_directly()
        raise JackUnavailable(f"jackd did not come up within {self.startup_timeout_s} s; log:\n{self.log()}")

    def _wait_until_jack_lsp_sees_it(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self.log().strip().splitlines()[-3:]
                code = self._process.returncode
                raise JackUnavailable(f"jackd exited with code {code}: {' / '.join(tail)}")
            listed = subprocess.run(["jack_lsp"], env=self._client_env(), capture_output=True, timeout=10)
            if listed.returncode == 0 and b"system:playback_1" in listed.stdout:
                return
            time.sleep(0.1)
        raise JackUnavailable(f"jackd did not come up within {self.startup_timeout_s} s; log:\n{self.log()}")

    def _probe_jack_directly(self) -> None:
        # jackd is up but PortAudio shows no JACK devices: tell "PortAudio lacks JACK" (a setup bug,
        # which must fail) apart from "the server is not answering yet" (which may skip).
        answered = subprocess.run(["jack_lsp"], env=self._client_env(), capture_output=True, timeout=10)
        if answered.returncode == 0 and b"system:playback" in answered.stdout:
            raise AssertionError(PORTAUDIO_FIX)


@contextlib.contextmanager
def running_jack_server(sample_rate: int = 48000, period: int = 128) -> Iterator[JackServer]:
    """A started JackServer for a `with` block (raises JackUnavailable if it cannot start)."""
    with JackServer(sample_rate, period) as server:
        yield server
