"""Flashing from the laptop (host tools): `latent flash BUNDLE --to ssh://... | serial://...` and
`latent keys new|sign`.

The serial protocol's sender and the signing code are imported from `device/` (the protocol and the
signature format are the contract); this package adds the transports' laptop ends, progress bars
and the command line. Verification always happens on the device.
"""
