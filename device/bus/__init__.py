"""Bus layer: the I2C bus and GPIO the sensors and controls talk through, real or simulated.

Real: Blinka `busio.I2C` (opened lazily by `linux_i2c.open_i2c_bus`). Simulated: `FakeI2C`
with register-level fakes of the MPR121 and ADS1115 that the real Adafruit drivers run against.
`pinmap` loads hardware/pins.toml, the one description of the wiring.
"""
