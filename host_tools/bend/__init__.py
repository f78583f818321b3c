"""Active divergence (host tools): network bending of a trained generator, directions beyond the data,
and how far a sound has left the data (`latent bend ...`, `--bend` of `latent space` and `latent bank`)."""
