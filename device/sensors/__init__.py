"""Sensors layer: the Adafruit drivers of the MPR121 and ADS1115 wrapped into one
`SensorFrame` per poll, held steady through bus faults (`SensorArray`)."""
