"""Laptop / GPU-box tools: datasets, GAN training, latent analysis, bundle compilers, flashing.

Heavy libraries (torch) are imported inside the functions that need them, so the `latent`
command starts quickly and its device subcommands work without them.
"""
