"""The `rnn` bundle kind: a frame-rate GRU in ONNX that drives the harmonic-plus-noise synthesiser
(bundle layer; normative description of the kind, shared by the host exporter and the device reader).

A bundle of kind `rnn` is the ordinary container (device/bundle/format.py) with exactly one payload,
`model`: the ONNX file's bytes as a 1-D uint8 array. The manifest's `sample_rate` is the MODEL's rate
(the rate `frame_hop` and `nyquist_hz` refer to), not the output rate: the device renders at any rate.
The manifest section `rnn` (every key required, no others allowed) describes the model:

    frame_hop      int    samples at sample_rate per control frame (64 at 16 kHz: 4 ms)
    hidden, layers int    GRU width and depth: the state input is float32 [layers, 1, hidden]
    harmonics      int    harmonic oscillators (k = 1..harmonics, at k * f0)
    noise_bands    int    noise magnitudes, bands linearly spaced from 0 to nyquist_hz
    nyquist_hz     float  highest frequency the controls describe (sample_rate / 2 normally)
    axes           [{"name", "lo", "hi"}, {"name", "lo", "hi"}]: what the x and y inputs mean at
                   -1 and +1 (e.g. pc0 from -2 to +2 standard deviations)
    pitch_lo, pitch_hi  float  MIDI range trained; the engine clamps its pitch to it
    quantization   "none" | "int8"
    description    text   one paragraph for people

The ONNX graph (opset 17, sequence length T dynamic, batch 1):

    inputs   cond      float32 [1, T, 4]   x, y in [-1, 1]; pitch (midi - 60) / 24; loudness in 0..1
                                            (1 + dB / 60 of the frame's level relative to the note's
                                            peak, clipped to -60..0 dB)
             state     float32 [layers, 1, hidden]   zeros at the start of a stream
    outputs  controls  float32 [1, T, 1 + harmonics + noise_bands]: amplitude (>= 0, linear), the
                                            harmonic distribution (>= 0, summing to 1 over the
                                            harmonics with k * f0 < nyquist_hz, exactly 0 above),
                                            noise magnitudes (>= 0, linear, with the meaning and
                                            scale of HarmonicNoiseSynth.noise_part's)
             state_out float32 [layers, 1, hidden]

The device reader checks the section strictly, that onnxruntime opens the model with exactly these
names, ranks and widths, and (when verifying) that a short probe at a few pitches gives finite,
non-negative controls of the right width and a finite state. Everything else about a bundle (hashes,
size, signing, flashing) is as for every kind.
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from device.bundle.format import KIND_RNN, check_display_name
from device.bundle.writer import write_bundle
from device.errors import BundleError

if TYPE_CHECKING:  # the reader imports this module; the type alone is needed here
    import onnxruntime

    from device.bundle.reader import Bundle

MODEL_PAYLOAD = "model"
COND_INPUT, STATE_INPUT = "cond", "state"
CONTROLS_OUTPUT, STATE_OUTPUT = "controls", "state_out"
COND_WIDTH = 4  # x, y, pitch, loudness
QUANTIZATIONS = ("none", "int8")
MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_DESCRIPTION_CHARS = 2000
SECTION_KEYS = frozenset({"frame_hop", "hidden", "layers", "harmonics", "noise_bands", "nyquist_hz",
                          "axes", "pitch_lo", "pitch_hi", "quantization", "description"})
PROBE_FRAMES = 8
# Controls a hair below zero are rounding (an int8 model's dequantisation); below this they are a bug.
NEGATIVE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class RnnAxis:
    """What the x (or y) input means: -1 is `lo` and +1 is `hi` of the latent direction `name`."""

    name: str
    lo: float
    hi: float

    def to_manifest(self) -> dict[str, Any]:
        return {"name": self.name, "lo": float(self.lo), "hi": float(self.hi)}


@dataclass(frozen=True)
class RnnSpec:
    """The manifest's description of an RNN model (see the module docstring for each field)."""

    hidden: int
    layers: int
    axes: tuple[RnnAxis, RnnAxis]
    pitch_lo: float
    pitch_hi: float
    sample_rate: int = 16000
    frame_hop: int = 64
    harmonics: int = 64
    noise_bands: int = 65
    nyquist_hz: float = 8000.0
    quantization: str = "none"

    @property
    def control_width(self) -> int:
        return 1 + self.harmonics + self.noise_bands

    @property
    def frame_seconds(self) -> float:
        return self.frame_hop / self.sample_rate

    def to_manifest(self, description: str) -> dict[str, Any]:
        return {
            "frame_hop": int(self.frame_hop), "hidden": int(self.hidden), "layers": int(self.layers),
            "harmonics": int(self.harmonics), "noise_bands": int(self.noise_bands),
            "nyquist_hz": float(self.nyquist_hz), "axes": [a.to_manifest() for a in self.axes],
            "pitch_lo": float(self.pitch_lo), "pitch_hi": float(self.pitch_hi),
            "quantization": self.quantization, "description": description,
        }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int_field(section: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    value = section[key]
    if not _is_int(value) or not lo <= value <= hi:
        raise BundleError(f"rnn.{key} must be an integer from {lo} to {hi}, got {value!r:.40}")
    return int(value)


def _axis(entry: Any, which: str) -> RnnAxis:
    if not isinstance(entry, dict) or set(entry) != {"name", "lo", "hi"}:
        raise BundleError(f"rnn.axes {which} must be an object with exactly name, lo and hi, "
                          f"got {entry!r:.80}")
    name, lo, hi = entry["name"], entry["lo"], entry["hi"]
    if not isinstance(name, str) or check_display_name(name):
        why = check_display_name(name) if isinstance(name, str) else "is not text"
        raise BundleError(f"rnn.axes {which} name {name!r:.40} {why}")
    if not (_is_number(lo) and _is_number(hi)) or not lo < hi:
        raise BundleError(f"rnn.axes {which} ({name}): lo and hi must be finite numbers with lo < hi, "
                          f"got {lo!r:.40} and {hi!r:.40}")
    return RnnAxis(name, float(lo), float(hi))


def spec_from_manifest(manifest: Mapping[str, Any]) -> tuple[RnnSpec, str]:
    """The `RnnSpec` and description a manifest declares, checked strictly (BundleError on any fault)."""
    section = manifest.get("rnn")
    if not isinstance(section, dict):
        raise BundleError("manifest lacks the 'rnn' section (an object) that an rnn bundle needs")
    missing = sorted(SECTION_KEYS - set(section))
    if missing:
        raise BundleError(f"rnn section lacks field {missing[0]!r}; rebuild the bundle with "
                          "`latent rnn export`")
    unknown = sorted(set(section) - SECTION_KEYS)
    if unknown:
        raise BundleError(f"rnn section has unknown field {unknown[0]!r:.40} (this device reads "
                          f"{', '.join(sorted(SECTION_KEYS))}); update the device software")
    rate = manifest.get("sample_rate")
    if not isinstance(rate, int) or isinstance(rate, bool):
        raise BundleError(f"manifest sample_rate must be an integer, got {rate!r:.40}")
    frame_hop = _int_field(section, "frame_hop", 8, 4096)
    hidden = _int_field(section, "hidden", 1, 4096)
    layers = _int_field(section, "layers", 1, 16)
    harmonics = _int_field(section, "harmonics", 1, 512)
    noise_bands = _int_field(section, "noise_bands", 2, 4097)
    nyquist = section["nyquist_hz"]
    if not _is_number(nyquist) or not 0 < nyquist <= rate / 2:
        raise BundleError(f"rnn.nyquist_hz must be above 0 and at most half the sample rate "
                          f"({rate / 2:g}), got {nyquist!r:.40}")
    axes = section["axes"]
    if not isinstance(axes, list) or len(axes) != 2:
        raise BundleError(f"rnn.axes must list exactly 2 axes (x and y), got {axes!r:.80}")
    x_axis, y_axis = _axis(axes[0], "x"), _axis(axes[1], "y")
    if x_axis.name == y_axis.name:
        raise BundleError(f"rnn.axes names must differ, both are {x_axis.name!r}")
    lo, hi = section["pitch_lo"], section["pitch_hi"]
    if not (_is_number(lo) and _is_number(hi)) or not 0 <= lo <= hi <= 127:
        raise BundleError(f"rnn.pitch_lo and pitch_hi must be MIDI notes with 0 <= lo <= hi <= 127, "
                          f"got {lo!r:.40} and {hi!r:.40}")
    quantization = section["quantization"]
    if quantization not in QUANTIZATIONS:
        raise BundleError(f"rnn.quantization must be one of {QUANTIZATIONS}, got {quantization!r:.40}")
    description = section["description"]
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS or any(
            unicodedata.category(c) == "Cc" and c != "\n" for c in description):
        raise BundleError(f"rnn.description must be text of at most {MAX_DESCRIPTION_CHARS} characters "
                          "without control characters")
    spec = RnnSpec(hidden=hidden, layers=layers, axes=(x_axis, y_axis), pitch_lo=float(lo),
                   pitch_hi=float(hi), sample_rate=rate, frame_hop=frame_hop, harmonics=harmonics,
                   noise_bands=noise_bands, nyquist_hz=float(nyquist), quantization=str(quantization))
    return spec, description


def open_session(model: bytes | np.ndarray, *, threads: int = 1) -> onnxruntime.InferenceSession:
    """An onnxruntime session on the model bytes, on `threads` intra-op threads and no inter-op pool:
    the model thread runs beside the audio thread on a small CPU and must not spread over its cores."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's warnings would land on the player's terminal
    raw = model.tobytes() if isinstance(model, np.ndarray) else bytes(model)
    try:
        return onnxruntime.InferenceSession(raw, sess_options=options,
                                            providers=["CPUExecutionProvider"])
    except Exception as bad:  # ORT raises its own classes (Fail, InvalidGraph, ...) for bad models
        first = str(bad).strip().splitlines()[0] if str(bad).strip() else type(bad).__name__
        raise BundleError(f"onnxruntime cannot open the model: {first[:200]}; re-export it with "
                          "`latent rnn export`") from None


def _check_io(session: onnxruntime.InferenceSession, spec: RnnSpec) -> None:
    def dims(shape: list[Any]) -> list[Any]:
        return [d if isinstance(d, int) else None for d in shape]

    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if set(inputs) != {COND_INPUT, STATE_INPUT}:
        raise BundleError(f"the model's inputs are {sorted(inputs)}; an rnn bundle needs exactly "
                          f"{[COND_INPUT, STATE_INPUT]}")
    if not {CONTROLS_OUTPUT, STATE_OUTPUT} <= set(outputs):
        raise BundleError(f"the model's outputs are {sorted(outputs)}; an rnn bundle needs "
                          f"{[CONTROLS_OUTPUT, STATE_OUTPUT]}")
    state_shape: list[int | None] = [spec.layers, 1, spec.hidden]
    expect: dict[str, tuple[Any, list[int | None]]] = {
        f"input {COND_INPUT!r}": (inputs[COND_INPUT], [1, None, COND_WIDTH]),
        f"input {STATE_INPUT!r}": (inputs[STATE_INPUT], state_shape),
        f"output {CONTROLS_OUTPUT!r}": (outputs[CONTROLS_OUTPUT], [1, None, spec.control_width]),
        f"output {STATE_OUTPUT!r}": (outputs[STATE_OUTPUT], state_shape),
    }
    for what, (node, shape) in expect.items():
        if node.type != "tensor(float)":
            raise BundleError(f"the model's {what} is {node.type}, expected tensor(float)")
        got = dims(list(node.shape))
        if len(got) != len(shape) or any(g is not None and s is not None and g != s
                                         for g, s in zip(got, shape, strict=True)):
            raise BundleError(f"the model's {what} has shape {node.shape}; the manifest says "
                              f"{['T' if s is None else s for s in shape]}")


def probe_conditions(spec: RnnSpec, frames: int = PROBE_FRAMES) -> list[np.ndarray]:
    """A few short condition sequences (lowest, middle, highest pitch; a sweep of x, y, loudness)."""
    sweep = np.linspace(-1.0, 1.0, frames, dtype=np.float32)
    probes = []
    for midi in (spec.pitch_lo, (spec.pitch_lo + spec.pitch_hi) / 2, spec.pitch_hi):
        cond = np.empty((1, frames, COND_WIDTH), dtype=np.float32)
        cond[0, :, 0], cond[0, :, 1] = sweep, -sweep
        cond[0, :, 2] = (midi - 60.0) / 24.0
        cond[0, :, 3] = np.linspace(1.0, 0.0, frames, dtype=np.float32)
        probes.append(cond)
    return probes


def probe(session: onnxruntime.InferenceSession, spec: RnnSpec) -> None:
    """Run the probe conditions; BundleError unless every output is finite, non-negative and wide enough."""
    for cond in probe_conditions(spec):
        state = np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)
        midi = 60.0 + 24.0 * float(cond[0, 0, 2])
        try:
            controls, state_out = session.run([CONTROLS_OUTPUT, STATE_OUTPUT],
                                              {COND_INPUT: cond, STATE_INPUT: state})
        except Exception as bad:  # an ORT runtime failure (shape mismatch inside the graph, ...)
            first = (str(bad).strip().splitlines() or [type(bad).__name__])[0]
            raise BundleError(f"the model fails on a probe at MIDI {midi:g}: {first[:200]}") from None
        want = (1, cond.shape[1], spec.control_width)
        if controls.shape != want or state_out.shape != state.shape:
            raise BundleError(f"the model gives controls {controls.shape} and state {state_out.shape} "
                              f"for a probe; the manifest says {want} and {state.shape}")
        if not (np.all(np.isfinite(controls)) and np.all(np.isfinite(state_out))):
            raise BundleError(f"the model produces NaN or infinite values at MIDI {midi:g}; it cannot "
                              "play: retrain or re-export it")
        if float(controls.min()) < -NEGATIVE_TOLERANCE:
            raise BundleError(f"the model produces negative controls (down to {controls.min():.3g}) at "
                              f"MIDI {midi:g}; amplitudes, harmonic shares and noise magnitudes must be "
                              ">= 0: re-export it")


def check_rnn(path: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray], verify: bool) -> None:
    """The reader's check for kind `rnn` (see open_bundle); errors name `path`."""
    try:
        spec, _ = spec_from_manifest(manifest)
        if set(arrays) != {MODEL_PAYLOAD}:
            raise BundleError(f"an rnn bundle holds exactly one payload, {MODEL_PAYLOAD!r}; this one "
                              f"has {sorted(arrays)}")
        model = arrays[MODEL_PAYLOAD]
        if model.dtype != np.dtype("|u1") or model.ndim != 1 or not 0 < model.size <= MAX_MODEL_BYTES:
            raise BundleError(f"payload {MODEL_PAYLOAD!r} must be 1 to {MAX_MODEL_BYTES} bytes of uint8 "
                              f"(the ONNX file), got {model.dtype.str} of shape {model.shape}")
        if verify:
            session = open_session(model)
            _check_io(session, spec)
            probe(session, spec)
    except BundleError as bad:
        raise BundleError(f"{path}: {bad}") from None


def write_rnn_bundle(path: str | os.PathLike[str], *, spec: RnnSpec, onnx_model: bytes, name: str,
                     version: int, description: str, config: Mapping[str, Any],
                     provenance: Mapping[str, Any]) -> Path:
    """Write an rnn bundle atomically and return its path (the caller then opens it with the reader,
    which runs the model: a bundle the device would refuse is never reported as built)."""
    section = spec.to_manifest(description)
    # Round-trip the section through the reader's own check, so a bad spec fails here, not on the Pi.
    spec_from_manifest({"sample_rate": spec.sample_rate, "rnn": section})
    model = np.frombuffer(bytes(onnx_model), dtype=np.uint8)
    return write_bundle(path, kind=KIND_RNN, name=name, sample_rate=spec.sample_rate,
                        payloads={MODEL_PAYLOAD: model}, kind_fields={"rnn": section}, version=version,
                        config=config, provenance=provenance)


def describe(spec: RnnSpec) -> str:
    """One line for people: the model's size and what it controls."""
    return (f"GRU {spec.layers}x{spec.hidden}, {spec.harmonics} harmonics + {spec.noise_bands} noise "
            f"bands, {1000 * spec.frame_seconds:g} ms frames, MIDI {spec.pitch_lo:g}-{spec.pitch_hi:g}, "
            f"x = {spec.axes[0].name}, y = {spec.axes[1].name}, quantization {spec.quantization}")


def rnn_model(bundle: Bundle) -> tuple[RnnSpec, bytes]:
    """The spec and ONNX bytes of an opened, verified `rnn` bundle."""
    if bundle.kind != KIND_RNN:
        raise BundleError(f"{bundle.path}: is a {bundle.kind!r} bundle, not an rnn")
    spec, _ = spec_from_manifest(bundle.manifest)
    return spec, bundle.arrays[MODEL_PAYLOAD].tobytes()
