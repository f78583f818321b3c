"""Flashing over SSH with the system's OpenSSH client (host tools).

Two commands run on the device through `ssh`, so verification always happens there:

1. `latent install --query ...`: the device checks the offer (name, size limit, free space,
   signing key) and answers how many bytes of this sha256 it already has staged, and the sha256 of
   that prefix;
2. `latent install --stdin --offset N ...`: the remaining bytes are piped through ssh's standard
   input (progress bar on this side) into the device's staging area; when the last byte is in,
   the device verifies and installs, and prints its result as JSON.

A dropped connection leaves the staged prefix on the device; running the same flash command again
resumes after it (once the prefix hash matches this file). Keep-alives bound how long a dead link
can hang a transfer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from device.errors import FlashError

CHUNK = 256 * 1024


@dataclass(frozen=True)
class SshTarget:
    """`ssh://[user@]host[:port]` taken apart."""

    host: str
    user: str | None = None
    port: int | None = None

    @staticmethod
    def parse(url: str) -> SshTarget:
        parsed = urlparse(url)
        if parsed.scheme != "ssh" or not parsed.hostname:
            raise FlashError(f"{url!r} is not an ssh target; write ssh://user@host[:port]")
        if parsed.path not in ("", "/") or parsed.query or parsed.password:
            raise FlashError(f"{url!r}: only user, host and port go in an ssh target (choose the device's "
                             "store with --remote-store)")
        try:
            port = parsed.port
        except ValueError:
            raise FlashError(f"{url!r}: the port is not a number between 1 and 65535") from None
        return SshTarget(host=parsed.hostname, user=parsed.username, port=port)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host


@dataclass(frozen=True)
class SshOptions:
    identity: str | None = None
    config: str | None = None
    options: Sequence[str] = ()
    remote_latent: str = "latent"
    remote_store: str | None = None
    connect_timeout: int = 10


class SshTransport:
    def __init__(self, target: SshTarget, options: SshOptions) -> None:
        self.target = target
        self.options = options

    def _argv(self, remote: list[str]) -> list[str]:
        o = self.options
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={o.connect_timeout}",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        if o.config:
            argv += ["-F", o.config]
        if o.identity:
            argv += ["-i", o.identity, "-o", "IdentitiesOnly=yes"]
        for option in o.options:
            argv += ["-o", option]
        if self.target.port:
            argv += ["-p", str(self.target.port)]
        command = [*shlex.split(o.remote_latent), "install", *remote]
        if o.remote_store:
            command += ["--store", o.remote_store]
        return [*argv, self.target.destination, "--", shlex.join(command)]

    @staticmethod
    def _failure(what: str, code: int, stderr: str) -> FlashError:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {code}"
        if code == 255:
            return FlashError(f"ssh could not reach the device ({what}): {reason}")
        return FlashError(f"the device refused the bundle: {reason.removeprefix('latent install: error: ')}")

    def query(self, offer: list[str]) -> dict[str, Any]:
        try:
            done = subprocess.run(self._argv(["--query", "--json", *offer]), capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=self.options.connect_timeout + 60)
        except FileNotFoundError:
            raise FlashError("the `ssh` command is not installed on this computer (install OpenSSH)") \
                from None
        except subprocess.TimeoutExpired:
            raise FlashError(f"ssh to {self.target.destination} did not answer within "
                             f"{self.options.connect_timeout + 60} s") from None
        if done.returncode != 0:
            raise self._failure("query", done.returncode, done.stderr)
        try:
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            raise FlashError(f"unexpected answer from the device's `latent install --query`: "
                             f"{done.stdout.strip()[:200]!r}") from None

    def upload(self, data: memoryview, offset: int, offer: list[str],
               progress: Callable[[int], None]) -> dict[str, Any]:
        with tempfile.TemporaryFile("w+") as errors:
            proc = subprocess.Popen(self._argv(["--stdin", "--json", "--offset", str(offset), *offer]),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
            assert proc.stdin is not None and proc.stdout is not None
            _pump(proc.stdin, data, offset, progress)
            out = proc.stdout.read().decode("utf-8", errors="replace")
            code = proc.wait()
            errors.seek(0)
            stderr = errors.read()
        if code != 0:
            raise self._failure("upload", code, stderr)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            raise FlashError(f"unexpected answer from the device's `latent install`: {out.strip()[:200]!r}") \
                from None


def _pump(stdin: IO[bytes], data: memoryview, offset: int, progress: Callable[[int], None]) -> None:
    try:
        for start in range(offset, len(data), CHUNK):
            chunk = data[start:start + CHUNK]
            stdin.write(chunk)
            progress(len(chunk))
        stdin.close()
    except BrokenPipeError:
        pass  # the far end went away; its exit status and stderr say why


def offer_arguments(name: str, size: int, sha256: str, signature: dict[str, Any] | None,
                    flags: Sequence[str]) -> list[str]:
    args = ["--name", name, "--size", str(size), "--sha256", sha256, *flags]
    if signature is not None:
        blob = json.dumps(signature, sort_keys=True, separators=(",", ":")).encode("utf-8")
        args += ["--signature-b64", base64.b64encode(blob).decode("ascii")]
    return args


def flash_over_ssh(transport: SshTransport, bundle: Path, data: memoryview, sha256: str,
                   signature: dict[str, Any] | None, flags: Sequence[str],
                   progress_factory: Callable[[int, int], Callable[[int], None]]) -> dict[str, Any]:
    """Query, resume or restart, upload; returns the device's result plus `resumed_from`/`sent`."""
    offer = offer_arguments(bundle.name, len(data), sha256, signature, flags)
    state = transport.query(offer)
    offset = int(state.get("offset", 0))
    if state.get("existing"):
        offset = len(data)
    elif offset and hashlib.sha256(data[:offset]).hexdigest() != state.get("prefix_sha256"):
        state = transport.query([*offer, "--restart"])
        offset = int(state.get("offset", 0))
    if state.get("existing") and state.get("active") and "--no-activate" not in flags:
        return {"action": "unchanged", "sha256": sha256, "resumed_from": offset, "sent": 0,
                "message": "already installed and active on the device; nothing sent"}
    progress = progress_factory(offset, len(data))
    result = transport.upload(data, offset, offer, progress)
    return {**result, "resumed_from": offset, "sent": len(data) - offset}
