"""The Raspberry Pi runtime of the latent-space instrument.

Layers, each knowing only the one below it: bus -> sensors -> mapping -> engine -> audio -> app.
Nothing in this package imports torch or host_tools: the Pi must start fast and small.
"""

__version__ = "0.1.0"
