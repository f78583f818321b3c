"""Laptop / GPU-box tools: datasets, GAN training, latent analysis, bundle compilers, flashing.

Heavy libraries (torch) are imported inside the functions that need them, so the `latent`
command starts quickly and its device subcommands work without them. Importing this package on an
install without the host extra (a Pi: `pip install .[device]`) fails at once with
ModuleNotFoundError, found without importing torch, so that `latent` shows a host command there as
"needs the host tools" (device/cli.py) instead of failing halfway through running it.
"""

from importlib.util import find_spec

# torch marks the host extra: the other host libraries come with it (pyproject.toml [host]).
if find_spec("torch") is None:
    raise ModuleNotFoundError("No module named 'torch': the host tools need the host extra "
                              "(pip install 'latent-instrument[host]')", name="torch")
