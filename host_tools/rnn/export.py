"""`latent rnn export`: a trained RNN run into an `rnn` bundle (host tools; torch, onnxruntime).

The model goes to ONNX with torch's TorchScript exporter (dynamo=False, opset 17, the sequence length
dynamic, the GRU state an explicit input and output), ending at the head's raw outputs: the output
stage (exp-sigmoids, the harmonic mask and softmax) runs on the device, compiled
(device/engine/rnn_stage.py), with its constants in the bundle's rnn section. It is written with the
device's own writer (device/bundle/rnn_format.write_rnn_bundle), then reopened through the device
reader (which runs its probe) and compared with PyTorch on a few sequences streamed in two chunks (so
the carried state is compared too): the device's stage on onnxruntime's raw outputs against the
PyTorch model's controls; the largest absolute difference of any control must be within
FLOAT_TOLERANCE.

int8 (onnxruntime.quantization.quantize_dynamic, weights int8, activations quantised per call) is
measured against the float model: its control error (model.control_loss between the two, log domain)
and the median time of a 256-frame call and of a 1-frame step. It is kept only where the error stays
within INT8_MAX_ERROR and the 256-frame call (how the device engine calls it) is faster by
INT8_MIN_SPEEDUP; otherwise `--quantize int8` is refused with the figures and `both` keeps the float.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import BundleError, ConfigError

TOOL_NAME = "latent rnn export"
OPSET = 17
FLOAT_TOLERANCE = 1e-4      # max |onnx - torch| over every control (amplitudes are ~0.01..1)
INT8_MAX_ERROR = 0.05       # control_loss total (natural-log units) of int8 against float: ~0.4 dB
INT8_MIN_SPEEDUP = 1.1      # int8 must be this much faster on a 256-frame call to be worth it
QUANTIZE = ("none", "int8", "both")
_CHECK_FRAMES = 200
_BENCH_CALLS = 30


@dataclass
class ExportReport:
    path: Path
    size_bytes: int
    max_abs_error: float
    tolerance: float = FLOAT_TOLERANCE
    int8: dict[str, Any] | None = None
    written: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": str(self.path), "size_bytes": self.size_bytes, "written": self.written,
                "float_check": {"max_abs_error": self.max_abs_error, "tolerance": self.tolerance,
                                "what": "largest |device output stage on ONNX's raw outputs (via the device "
                                        "reader) - PyTorch's controls| over every control of 3 sequences "
                                        f"of {_CHECK_FRAMES} frames, streamed in 2 chunks"},
                "int8": self.int8}


def onnx_bytes(model: Any) -> bytes:
    """The model up to its head's raw outputs as ONNX per the contract (inputs cond, state; outputs
    raw, state_out)."""
    import torch

    from device.bundle.rnn_format import COND_INPUT, RAW_OUTPUT, STATE_INPUT, STATE_OUTPUT

    class RawGraph(torch.nn.Module):
        """model.raw (the model without its output stage, which the device runs) computed on the one
        batch row as 2-D frames and a sequence-first GRU: the same numbers, and onnxruntime fuses each
        Linear with its activation into one Gemm and needs no transposes around the GRU (10 nodes
        against 13; 12.6 against 14.0 us a call, docs/MEASUREMENTS.md, rnn)."""

        def __init__(self) -> None:
            super().__init__()
            self.inputs, self.head = model.inputs, model.head
            gru = model.gru
            self.gru = torch.nn.GRU(gru.input_size, gru.hidden_size, num_layers=gru.num_layers)
            self.gru.load_state_dict(gru.state_dict())

        def forward(self, cond: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.inputs(cond[0])                               # (T, width)
            out, state_out = self.gru(features.unsqueeze(1), state)       # (T, 1, hidden)
            raw = self.head(torch.cat([out[:, 0], features], dim=1))      # (T, 1 + H + N)
            return raw.unsqueeze(0), state_out

    cond = torch.zeros(1, 8, 4)
    state = model.zero_state(1)
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the tracer's note on GRU batch sizes: the batch is always 1
        warnings.simplefilter("ignore")
        torch.onnx.export(RawGraph().eval(), (cond, state), buffer, input_names=[COND_INPUT, STATE_INPUT],
                          output_names=[RAW_OUTPUT, STATE_OUTPUT], opset_version=OPSET,
                          dynamic_axes={COND_INPUT: {1: "frames"}, RAW_OUTPUT: {1: "frames"}},
                          dynamo=False)
    return buffer.getvalue()


def quantize_int8(model: bytes) -> bytes:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(model)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process models goes to the root logger
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        return target.read_bytes()


def check_conditions(pitch_lo: float, pitch_hi: float, frames: int = _CHECK_FRAMES) -> list[np.ndarray]:
    """Three sequences: sweeps of x and y at low, middle and high pitch, loudness rising then falling."""
    from host_tools.rnn.render import condition

    t = np.linspace(0.0, 1.0, frames)
    return [condition(np.sin(2 * np.pi * (t + k / 3)), np.cos(2 * np.pi * 1.5 * t), midi,
                      np.clip(1.2 * np.sin(np.pi * t), 0.0, 1.0))
            for k, midi in enumerate((pitch_lo, (pitch_lo + pitch_hi) / 2, pitch_hi))]


def stream_session(session: Any, spec: Any, cond: np.ndarray, chunks: int = 2) -> np.ndarray:
    """(T, C) controls of an onnxruntime session over cond (T, 4), in `chunks` calls carrying state:
    the device's output stage (rnn_format.controls_of) on the session's raw outputs."""
    from device.bundle.rnn_format import COND_INPUT, RAW_OUTPUT, STATE_INPUT, STATE_OUTPUT, controls_of

    state = np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)
    out = []
    for part in np.array_split(cond, chunks):
        feed = part[None].astype(np.float32)
        raw, state = session.run([RAW_OUTPUT, STATE_OUTPUT], {COND_INPUT: feed, STATE_INPUT: state})
        out.append(controls_of(spec, raw, feed))
    return np.concatenate(out)


def stream_torch(model: Any, cond: np.ndarray, chunks: int = 2) -> np.ndarray:
    import torch

    state = model.zero_state(1)
    out = []
    with torch.no_grad():
        for part in np.array_split(cond, chunks):
            controls, state = model(torch.from_numpy(np.ascontiguousarray(part))[None], state)
            out.append(controls[0].numpy())
    return np.concatenate(out)


def call_times_us(session: Any, spec: Any, frames: int, calls: int = _BENCH_CALLS) -> float:
    """Median microseconds of one session call on `frames` frames (after one warm-up call)."""
    from device.bundle.rnn_format import COND_INPUT, STATE_INPUT

    cond = np.zeros((1, frames, 4), dtype=np.float32)
    cond[..., 3] = 0.9
    state = np.zeros((spec.layers, 1, spec.hidden), dtype=np.float32)
    feeds = {COND_INPUT: cond, STATE_INPUT: state}
    session.run(None, feeds)
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - began)
    return float(np.median(times) * 1e6)


def int8_figures(float_model: bytes, int8_model: bytes, spec: Any, harmonics: int) -> dict[str, Any]:
    """Error and speed of the int8 model against the float one (one thread each)."""
    import torch

    from device.bundle.rnn_format import open_session
    from host_tools.rnn.model import control_loss

    fast, slow = open_session(int8_model), open_session(float_model)
    conditions = check_conditions(spec.pitch_lo, spec.pitch_hi)
    want = np.stack([stream_session(slow, spec, c) for c in conditions])
    got = np.stack([stream_session(fast, spec, c) for c in conditions])
    error = float(control_loss(torch.from_numpy(got), torch.from_numpy(want), harmonics)["total"])
    block = {"float": call_times_us(slow, spec, 256), "int8": call_times_us(fast, spec, 256)}
    step = {"float": call_times_us(slow, spec, 1), "int8": call_times_us(fast, spec, 1)}
    speedup = block["float"] / block["int8"]
    keep = error <= INT8_MAX_ERROR and speedup >= INT8_MIN_SPEEDUP
    return {
        "control_error": round(error, 4), "max_control_error": INT8_MAX_ERROR,
        "control_error_what": "mean L1 of log amplitude + log harmonic amplitudes + log noise magnitudes "
                              "(natural-log units; 0.115 = 1 dB), int8 against float",
        "max_abs_error": round(float(np.max(np.abs(got - want))), 6),
        "call_256_frames_us": {k: round(v, 1) for k, v in block.items()},
        "call_1_frame_us": {k: round(v, 1) for k, v in step.items()},
        "speedup_256_frames": round(speedup, 3), "min_speedup": INT8_MIN_SPEEDUP,
        "bytes": {"float": len(float_model), "int8": len(int8_model)},
        "kept": keep,
    }


def parse_axis_names(text: str) -> list[str]:
    """'brightness,swell' -> the x and y axes' names (lower-case words, as a performer reads them)."""
    import re

    names = [part.strip() for part in text.split(",")]
    if len(names) != 2 or len(set(names)) != 2 or not all(re.fullmatch(r"[a-z][a-z0-9_]{0,31}", n)
                                                          for n in names):
        raise ConfigError(f"--axis-names {text!r} must be two different lower-case words for x and y, "
                          "e.g. brightness,swell")
    return names


def rnn_spec(info: dict[str, Any], quantization: str, axis_names: list[str] | None = None) -> Any:
    from device.bundle.rnn_format import OUTPUTS_RAW_HEAD, RnnAxis, RnnSpec
    from host_tools.rnn.model import EXP_SIGMOID_EXPONENT, EXP_SIGMOID_THRESHOLD

    arch, data = info["architecture"], info["data"]
    names = axis_names or [a["name"] for a in data["axes"]]
    x, y = (RnnAxis(name, float(a["lo"]), float(a["hi"]))
            for name, a in zip(names, data["axes"], strict=True))
    return RnnSpec(hidden=int(arch["hidden"]), layers=int(arch["layers"]), axes=(x, y),
                   pitch_lo=float(min(data["pitches"])), pitch_hi=float(max(data["pitches"])),
                   sample_rate=int(data["sample_rate"]), frame_hop=int(data["frame_hop"]),
                   harmonics=int(arch["harmonics"]), noise_bands=int(arch["noise_bands"]),
                   nyquist_hz=float(arch["nyquist_hz"]), quantization=quantization,
                   amplitude_max=float(arch["amplitude_max"]), noise_max=float(arch["noise_max"]),
                   exp_sigmoid_exponent=EXP_SIGMOID_EXPONENT, exp_sigmoid_threshold=EXP_SIGMOID_THRESHOLD,
                   outputs=OUTPUTS_RAW_HEAD)


def _write_checked(path: Path, spec: Any, model_bytes: bytes, info: dict[str, Any], step: int,
                   version: int, torch_model: Any | None) -> float:
    """Write, reopen through the device reader, compare with PyTorch; the largest error (0 for int8,
    which int8_figures measures instead). The bundle appears at `path` only once it passed."""
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import describe, rnn_model, write_rnn_bundle
    from host_tools.bank.provenance import tool_provenance

    data = info["data"]
    description = (f"A {describe(spec)}; distilled from the GAN {data['gan']['run']} over its "
                   f"{data['surface'].get('kind', '?')} surface")
    config = {"rnn_config": info["config"], "config_name": info.get("config_name"),
              "architecture": info["architecture"], "step": step}
    provenance = {**tool_provenance(TOOL_NAME),
                  "gan": {"run": data["gan"]["run"], "checkpoint": data["gan"]["checkpoint"]},
                  "surface": data["surface"], "dataset": data["path"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.staged-{os.getpid()}")
    try:
        write_rnn_bundle(staged, spec=spec, onnx_model=model_bytes, name=path.stem.replace("_", "-"),
                         version=version, description=description[:2000], config=config,
                         provenance=provenance)
        with open_bundle(staged, label=str(path)) as bundle:
            _, reloaded = rnn_model(bundle)
        error = 0.0
        if torch_model is not None:
            error = torch_error(reloaded, spec, torch_model)
            if not error <= FLOAT_TOLERANCE:
                raise BundleError(f"{path}: the exported model differs from PyTorch by {error:.3g} "
                                  f"(tolerance {FLOAT_TOLERANCE:g}); the export is wrong, report it")
        os.replace(staged, path)
        return error
    except OSError as bad:
        raise BundleError(f"cannot write {path}: {bad.strerror or bad}") from None
    finally:
        staged.unlink(missing_ok=True)


def torch_error(onnx_model: bytes, spec: Any, torch_model: Any) -> float:
    """The largest difference between an ONNX graph's controls and PyTorch's over the check conditions."""
    from device.bundle.rnn_format import open_session

    session = open_session(onnx_model)
    return max(float(np.max(np.abs(stream_session(session, spec, c) - stream_torch(torch_model, c))))
               for c in check_conditions(spec.pitch_lo, spec.pitch_hi))


def int8_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-int8{out.suffix}")


def export(run: str | os.PathLike[str], out: str | os.PathLike[str], *, quantize: str = "none",
           version: int = 1, step: int | None = None, axis_names: str | None = None) -> ExportReport:
    import torch

    from host_tools.rnn.train import load_run

    if quantize not in QUANTIZE:
        raise ConfigError(f"--quantize {quantize!r} is unknown; choose one of {', '.join(QUANTIZE)}")
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a bundle file name such as {out}/rnn.bundle")
    if version < 1:
        raise ConfigError(f"--version {version} must be at least 1")
    names = parse_axis_names(axis_names) if axis_names is not None else None
    torch.set_num_threads(1)
    model, info, checkpoint = load_run(run, step)
    float_model = onnx_bytes(model)
    spec = rnn_spec(info, "none", names)
    figures = None
    written = []
    error = float("nan")
    if quantize in ("none", "both"):
        error = _write_checked(out, spec, float_model, info, int(checkpoint["step"]), version, model)
        written.append(str(out))
    if quantize in ("int8", "both"):
        int8 = quantize_int8(float_model)
        figures = int8_figures(float_model, int8, spec, model.arch.harmonics)
        if quantize == "int8" and not figures["kept"]:
            raise ConfigError(f"int8 does not pay here: control error {figures['control_error']} (limit "
                              f"{INT8_MAX_ERROR}), {figures['speedup_256_frames']}x the float speed (needs "
                              f"{INT8_MIN_SPEEDUP}x); export with --quantize none")
        if figures["kept"]:
            target = out if quantize == "int8" else int8_path(out)
            int8_spec = rnn_spec(info, "int8", names)
            _write_checked(target, int8_spec, int8, info, int(checkpoint["step"]), version, None)
            written.append(str(target))
            if quantize == "int8":  # the float check ran on the float graph before quantising
                error = torch_error(float_model, spec, model)
    return ExportReport(path=out, size_bytes=Path(written[0]).stat().st_size, max_abs_error=round(error, 8),
                        int8=figures, written=written)
