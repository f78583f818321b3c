"""Latent-space navigation on the host: PCA directions, audition grids, random explore, bookmarks, corners."""
