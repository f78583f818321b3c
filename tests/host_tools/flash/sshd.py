"""A real OpenSSH server on loopback for the flashing tests: its own host key, config and port.

Started as root (it logs the test in as root with a key made for the test); when that is not
possible the tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Sshd:
    port: int
    url: str
    client_key: Path
    ssh_options: tuple[str, ...]

    def flash_args(self) -> list[str]:
        args = ["-i", str(self.client_key)]
        for option in self.ssh_options:
            args += ["--ssh-option", option]
        return args

    def ssh_argv(self) -> list[str]:
        argv = ["ssh", "-i", str(self.client_key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-p", str(self.port)]
        for option in self.ssh_options:
            argv += ["-o", option]
        return [*argv, "root@127.0.0.1", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _why_not() -> str | None:
    if not os.path.exists(SSHD):
        return f"{SSHD} is not installed (apt-get install openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the OpenSSH client is not installed (apt-get install openssh-client)"
    if os.geteuid() != 0:
        return "sshd must start as root to log the test in"
    return None


@contextlib.contextmanager
def running_sshd(workdir: Path) -> Iterator[Sshd | str]:
    """Yields a running `Sshd`, or the reason it could not start (the caller skips with it)."""
    reason = _why_not()
    if reason:
        yield reason
        return
    workdir.mkdir(parents=True, exist_ok=True)
    host_key, client_key = workdir / "host_key", workdir / "client_key"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (workdir / "authorized_keys").write_text((workdir / "client_key.pub").read_text())
    port = _free_port()
    host_pub = (workdir / "host_key.pub").read_text().split()
    (workdir / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    config = workdir / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {workdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}", "PubkeyAuthentication yes",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
        "UsePAM no", "StrictModes no", "LogLevel ERROR", "",
    ]))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    log = open(workdir / "sshd.log", "w+")  # noqa: SIM115 - closed below, after sshd exits
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        if proc.poll() is not None or time.monotonic() >= deadline:
            log.seek(0)
            yield f"sshd did not start: {log.read().strip()[-300:] or 'no output'}"
            return
        yield Sshd(port=port, url=f"ssh://root@127.0.0.1:{port}", client_key=client_key,
                   ssh_options=(f"UserKnownHostsFile={workdir / 'known_hosts'}", "StrictHostKeyChecking=yes"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
