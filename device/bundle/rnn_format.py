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
    outputs        "raw-head": what the graph's first output holds (below). Bundles exported before
                   this field existed ended in the finished controls; they are refused with a hint to
                   re-export (only the project's own shipped bundle was made that way).
    amplitude_max, noise_max  float  exp_sigmoid's ceilings for the amplitude and the noise magnitudes
    exp_sigmoid_exponent, exp_sigmoid_threshold  float  exp_sigmoid's exponent and floor (DDSP's 10
                   and 1e-7): max * sigmoid(x) ** ln(exponent) + threshold

The ONNX graph (opset 17, sequence length T dynamic, batch 1):

    inputs   cond      float32 [1, T, 4]   x, y in [-1, 1]; pitch (midi - 60) / 24; loudness in 0..1
                                            (1 + dB / 60 of the frame's level relative to the note's
                                            peak, clipped to -60..0 dB)
             state     float32 [layers, 1, hidden]   zeros at the start of a stream
    outputs  raw       float32 [1, T, 1 + harmonics + noise_bands]: the head's raw outputs, one
                                            amplitude logit, harmonic logits, noise logits
             state_out float32 [layers, 1, hidden]

The synthesiser's controls are made from `raw` on the device (device/engine/rnn_stage.py, compiled:
in the graph these few small nodes cost onnxruntime as much as the GRU): the amplitude (linear, >= 0)
and noise magnitudes (linear, >= 0, with the meaning and scale of HarmonicNoiseSynth.noise_part's)
through exp_sigmoid with the section's constants, the harmonic distribution a softmax over the
harmonics with k * f0 < nyquist_hz (f0 from the cond's pitch), exactly 0 above.

The device reader checks the section strictly, that onnxruntime opens the model with exactly these
names, ranks and widths, and (when verifying) that a short probe at a few pitches gives finite raw
outputs of the right width, finite non-negative controls after the stage, and a finite state.
Everything else about a bundle (hashes, size, signing, flashing) is as for every kind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from device.bundle.format import (
    KIND_RNN,
    MAX_DESCRIPTION_CHARS,
    check_display_name,
    is_int,
    is_plain_description,
)
from device.bundle.writer import write_bundle
from device.errors import BundleError

if TYPE_CHECKING:  # the reader imports this module; the type alone is needed here
    import onnxruntime

    from device.bundle.reader import Bundle

MODEL_PAYLOAD = "model"
COND_INPUT, STATE_INPUT = "cond", "state"
RAW_OUTPUT, STATE_OUTPUT = "raw", "state_out"
OUTPUTS_RAW_HEAD = "raw-head"
OUTPUT_FORMS = (OUTPUTS_RAW_HEAD,)
COND_WIDTH = 4  # x, y, pitch, loudness
QUANTIZATIONS = ("none", "int8")
MAX_MODEL_BYTES = 64 * 1024 * 1024
SECTION_KEYS = frozenset({"frame_hop", "hidden", "layers", "harmonics", "noise_bands", "nyquist_hz",
                          "axes", "pitch_lo", "pitch_hi", "quantization", "description", "outputs",
                          "amplitude_max", "noise_max", "exp_sigmoid_exponent",
                          "exp_sigmoid_threshold"})
PROBE_FRAMES = 8


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
    amplitude_max: float = 1.0
    noise_max: float = 1.0
    exp_sigmoid_exponent: float = 10.0
    exp_sigmoid_threshold: float = 1e-7
    outputs: str = OUTPUTS_RAW_HEAD

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
            "quantization": self.quantization, "description": description, "outputs": self.outputs,
            "amplitude_max": float(self.amplitude_max), "noise_max": float(self.noise_max),
            "exp_sigmoid_exponent": float(self.exp_sigmoid_exponent),
            "exp_sigmoid_threshold": float(self.exp_sigmoid_threshold),
        }

    def stage_constants(self) -> np.ndarray:
        """The constants of the device's output stage (device/engine/rnn_stage.py)."""
        from device.engine.rnn_stage import stage_constants

        return stage_constants(self.nyquist_hz, self.amplitude_max, self.noise_max,
                               self.exp_sigmoid_exponent, self.exp_sigmoid_threshold)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int_field(section: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    value = section[key]
    if not is_int(value) or not lo <= value <= hi:
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
    if "outputs" not in section:
        raise BundleError("the rnn section names no output form: an older export whose graph ends in "
                          "the finished controls, which this device no longer reads; re-export it with "
                          "`latent rnn export`")
    if section["outputs"] not in OUTPUT_FORMS:
        raise BundleError(f"rnn.outputs {section['outputs']!r:.40} is unknown (this device reads "
                          f"{', '.join(OUTPUT_FORMS)}); re-export it with `latent rnn export` or update "
                          "the device software")
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
    positive: dict[str, float] = {}
    for key in ("amplitude_max", "noise_max", "exp_sigmoid_exponent", "exp_sigmoid_threshold"):
        value = section[key]
        if not _is_number(value) or not 0 < value < 1e6:
            raise BundleError(f"rnn.{key} must be a finite number above 0 (and below 1e6), "
                              f"got {value!r:.40}")
        positive[key] = float(value)
    if positive["exp_sigmoid_exponent"] <= 1.0:
        raise BundleError(f"rnn.exp_sigmoid_exponent must be above 1, got "
                          f"{positive['exp_sigmoid_exponent']:g}")
    description = section["description"]
    if not isinstance(description, str) or not is_plain_description(description, newlines=True):
        raise BundleError(f"rnn.description must be text of at most {MAX_DESCRIPTION_CHARS} characters "
                          "without control characters")
    spec = RnnSpec(hidden=hidden, layers=layers, axes=(x_axis, y_axis), pitch_lo=float(lo),
                   pitch_hi=float(hi), sample_rate=rate, frame_hop=frame_hop, harmonics=harmonics,
                   noise_bands=noise_bands, nyquist_hz=float(nyquist), quantization=str(quantization),
                   amplitude_max=positive["amplitude_max"], noise_max=positive["noise_max"],
                   exp_sigmoid_exponent=positive["exp_sigmoid_exponent"],
                   exp_sigmoid_threshold=positive["exp_sigmoid_threshold"], outputs=OUTPUTS_RAW_HEAD)
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
    if not {RAW_OUTPUT, STATE_OUTPUT} <= set(outputs):
        raise BundleError(f"the model's outputs are {sorted(outputs)}; an rnn bundle needs "
                          f"{[RAW_OUTPUT, STATE_OUTPUT]}")
    state_shape: list[int | None] = [spec.layers, 1, spec.hidden]
    expect: dict[str, tuple[Any, list[int | None]]] = {
        f"input {COND_INPUT!r}": (inputs[COND_INPUT], [1, None, COND_WIDTH]),
        f"input {STATE_INPUT!r}": (inputs[STATE_INPUT], state_shape),
        f"output {RAW_OUTPUT!r}": (outputs[RAW_OUTPUT], [1, None, spec.control_width]),
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


def controls_of(spec: RnnSpec, raw: np.ndarray, cond: np.ndarray) -> np.ndarray:
    """(T, width) float32 controls from raw outputs (1, T, width) and their cond (1, T, 4) through the
    device's compiled output stage (allocates; for checks and offline use, not the audio path)."""
    from device.engine.rnn_stage import output_stage

    constants = spec.stage_constants()
    frames = raw.shape[1]
    controls = np.empty((frames, spec.control_width), dtype=np.float64)
    for t in range(frames):
        output_stage(raw[0, t], float(cond[0, t, 2]), constants, spec.harmonics, controls[t], 0)
    return controls.astype(np.float32)


def probe(session: onnxruntime.InferenceSession, spec: RnnSpec) -> None:
    """Run the probe conditions; BundleError unless the raw outputs are finite and of the right width,
    the controls the device's stage makes of them finite and non-negative, and the state finite."""
    for cond in probe_conditions(spec):
        state = np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)
        midi = 60.0 + 24.0 * float(cond[0, 0, 2])
        try:
            raw, state_out = session.run([RAW_OUTPUT, STATE_OUTPUT], {COND_INPUT: cond, STATE_INPUT: state})
        except Exception as bad:  # an ORT runtime failure (shape mismatch inside the graph, ...)
            first = (str(bad).strip().splitlines() or [type(bad).__name__])[0]
            raise BundleError(f"the model fails on a probe at MIDI {midi:g}: {first[:200]}") from None
        want = (1, cond.shape[1], spec.control_width)
        if raw.shape != want or state_out.shape != state.shape:
            raise BundleError(f"the model gives raw outputs {raw.shape} and state {state_out.shape} "
                              f"for a probe; the manifest says {want} and {state.shape}")
        if not (np.all(np.isfinite(raw)) and np.all(np.isfinite(state_out))):
            raise BundleError(f"the model produces NaN or infinite values at MIDI {midi:g}; it cannot "
                              "play: retrain or re-export it")
        controls = controls_of(spec, raw, cond)
        if not np.all(np.isfinite(controls)) or float(controls.min()) < 0.0:
            raise BundleError(f"the output stage makes controls that are not finite and >= 0 at MIDI "
                              f"{midi:g} (from {controls.min():.3g} to {controls.max():.3g}); check the "
                              "rnn section's constants and re-export it")


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
