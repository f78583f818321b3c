"""Controls layer: the instrument's buttons and LEDs through gpiozero (`ControlPanel`)."""
