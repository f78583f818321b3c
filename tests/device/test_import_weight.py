"""The Pi starts small: no device module pulls in torch or host_tools; `latent` starts without torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import device


def _device_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(device.__path__, "device."))


def test_every_device_module_imports_without_torch_or_host_tools() -> None:
    modules = _device_modules()
    assert len(modules) > 40
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'host_tools'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_latent_help_and_device_commands_do_not_import_torch() -> None:
    script = (
        "import sys\n"
        "from device.cli import build_parser\n"
        "parser = build_parser()\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
