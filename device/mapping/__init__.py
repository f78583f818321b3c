"""Mapping layer: sensor frames to the instrument's musical control state (layer 3 of the device).

Pure functions and small state, no I/O beyond reading a mapping file, no threads:
per-channel calibration, One-Euro smoothing, and a TOML-configured map to latent axes, pitch
keys and grain parameters. `Mapper(load_map(path)).update(frame)` returns a `ControlState`.
"""

from device.mapping.config import MapConfig
from device.mapping.control_state import ControlState
from device.mapping.map_file import default_map_path, load_map, parse_map
from device.mapping.mapper import Mapper

__all__ = ["ControlState", "MapConfig", "Mapper", "default_map_path", "load_map", "parse_map"]
