"""Pitch-conditioned GAN on single instrument notes (host training layer): configs, networks, the
spectral representation, training (single process or torchrun/DDP), checkpoints, generation and
evaluation. torch is imported only by the modules that need it, and those only when a command runs.
"""
