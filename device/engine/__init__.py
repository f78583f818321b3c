"""Sound engines (engine layer): turn the current latent point and grain parameters into audio blocks.

`device.engine.granular.GranularEngine` plays a segment bank; the numba kernel that does the
per-sample work lives in `device.engine.kernel`, and ends every block with the output limiter
(settings in `device.engine.limiter`). Importing this package is cheap: numba is only
imported by the modules that need it.
"""
