"""Simulation: fake sensor hardware driven by gesture scripts, for the laptop and the tests.

`SimulatedHardware` is the real sensor stack on a fake bus; `GesturePlayer` moves the fake
fingers and bends from a gesture file (`load_gesture("demo")` is built in).
"""
