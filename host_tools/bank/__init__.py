"""Segment-bank builders (host tools): they render grids of tones and write them as bundles.

`latent bank additive` (additive.py, recipe.py, build.py) needs no trained model; every builder
writes through `device.bundle.writer` and reloads its output through the device reader before
it reports success.
"""
