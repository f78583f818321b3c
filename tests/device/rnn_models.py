"""Tiny RNN bundles for the device tests, made with torch here and exported the way the host does.

The model keeps the bundle contract (device/bundle/rnn_format.py): a GRU over (x, y, pitch, loudness)
frames, then a head's raw outputs (amplitude logit, harmonic logits, noise logits), which the device's
output stage makes into controls with the spec's constants (`controls` here is that stage in torch, as
host_tools/rnn/model.py has it). `variant` builds the broken models the
reader and the store must refuse or roll back: "nan" (NaN outputs), "silent" (logits so low that
amplitude and noise sit at exp_sigmoid's floor of 1e-7),
"nan-centre" (finite for the reader's probe, NaN at the centre of the surface), "names"
(wrong input names). Exports are cached per variant for the session (torch's exporter takes ~1 s).
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from pathlib import Path

import torch

from device.bundle.reader import open_bundle
from device.bundle.rnn_format import RnnAxis, RnnSpec, rnn_model, write_rnn_bundle
from device.engine.rnn import RnnEngine

HIDDEN, LAYERS, HARMONICS, NOISE_BANDS = 16, 1, 64, 65


class TinyControlRnn(torch.nn.Module):
    def __init__(self, spec: RnnSpec, variant: str) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.spec, self.variant = spec, variant
        self.gru = torch.nn.GRU(4, spec.hidden, spec.layers, batch_first=True)
        self.head = torch.nn.Linear(spec.hidden, spec.control_width)
        self.register_buffer("k", torch.arange(1, spec.harmonics + 1, dtype=torch.float32))

    def forward(self, cond: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The graph: raw head outputs and the state."""
        hidden, state_out = self.gru(cond, state)
        raw = self.head(hidden)
        harmonics = self.spec.harmonics
        loudness = cond[..., 3:4]
        # Level follows loudness as the contract's dB scale says, 0 -> -60 dB, 1 -> 0 dB: below its
        # knee exp_sigmoid(x) is max * 10 ** x, so 3 * (loudness - 1) on the logits is that level.
        shift = torch.zeros(self.spec.control_width)
        shift[0] = 1.0
        shift[1 + harmonics:] = 1.0
        raw = raw + shift * 3.0 * (loudness - 1.0)
        if self.variant == "silent":
            raw = raw * 0.0 - 1e4 * shift
        elif self.variant == "nan":
            raw = raw * torch.sqrt(loudness - 2.0)  # sqrt of a negative: NaN everywhere
        elif self.variant == "nan-centre":
            # Finite for the reader's probe (which never reaches the centre), NaN at the centre of
            # the surface, where the instrument starts: what only the store's trial can catch.
            radius = cond[..., 0:1] ** 2 + cond[..., 1:2] ** 2
            raw = raw + 0.0 * torch.sqrt(radius - 0.01)
        return raw, state_out

    def controls(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The output stage in torch (as host_tools/rnn/model.py's), with the spec's constants."""
        spec = self.spec

        def exp_sigmoid(x: torch.Tensor, max_value: float) -> torch.Tensor:
            return max_value * torch.sigmoid(x).pow(math.log(spec.exp_sigmoid_exponent)) + \
                spec.exp_sigmoid_threshold

        f0 = 440.0 * torch.pow(2.0, (cond[..., 2:3] * 24.0 + 60.0 - 69.0) / 12.0)
        audible = self.k * f0 < spec.nyquist_hz
        logits = raw[..., 1:1 + spec.harmonics].masked_fill(~audible, float("-inf"))
        return torch.cat([exp_sigmoid(raw[..., :1], spec.amplitude_max), torch.softmax(logits, dim=-1),
                          exp_sigmoid(raw[..., 1 + spec.harmonics:], spec.noise_max)], dim=-1)


def spec(**changes: object) -> RnnSpec:
    fields: dict[str, object] = dict(hidden=HIDDEN, layers=LAYERS, axes=(RnnAxis("pc0", -2.0, 2.0),
                                     RnnAxis("pc1", -2.0, 2.0)), pitch_lo=36.0, pitch_hi=84.0,
                                     amplitude_max=0.3, noise_max=0.02)
    fields.update(changes)
    return RnnSpec(**fields)  # type: ignore[arg-type]


@functools.cache
def onnx_bytes(variant: str = "ok", hidden: int = HIDDEN, layers: int = LAYERS) -> bytes:
    torch.set_num_threads(1)
    model = TinyControlRnn(spec(hidden=hidden, layers=layers), variant).eval()
    cond = torch.zeros(1, 5, 4)
    state = torch.zeros(layers, 1, hidden)
    names = ["conditions", "state"] if variant == "names" else ["cond", "state"]
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the tracer's notes on GRU batch sizes: batch is always 1 here
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (cond, state), buffer, dynamo=False, opset_version=17,
                          input_names=names,
                          output_names=["raw", "state_out"],
                          dynamic_axes={names[0]: {1: "T"}, "raw": {1: "T"}})
    return buffer.getvalue()


def write(path: Path, variant: str = "ok", *, name: str = "tiny-rnn", **spec_changes: object) -> Path:
    """An rnn bundle at `path` holding the `variant` model; `spec_changes` alter the manifest only."""
    rnn_spec = spec(**spec_changes)
    model = onnx_bytes(variant, HIDDEN, LAYERS)
    return write_rnn_bundle(path, spec=rnn_spec, onnx_model=model, name=name, version=1,
                            description="a tiny untrained GRU for tests", config={"config": "test"},
                            provenance={"tool": "tests/device/rnn_models.py"})


def midi_hz(midi: float) -> float:
    return 440.0 * math.pow(2.0, (midi - 69.0) / 12.0)


def engine(path: Path, variant: str = "ok", *, sample_rate: int = 48000, seed: int = 0,
           threaded: bool = False, **engine_options: object) -> RnnEngine:
    """A warmed-up RnnEngine on a fresh bundle at `path` whose axes are named axis0 and axis1 (as the
    granular tests' banks), closed with the bundle by `close()`."""
    write(path, variant, axes=(RnnAxis("axis0", -2.0, 2.0), RnnAxis("axis1", -2.0, 2.0)))
    bundle = open_bundle(path)
    rnn_spec, model = rnn_model(bundle)
    made = RnnEngine(rnn_spec, model, sample_rate=sample_rate, seed=seed, threaded=threaded, bundle=bundle,
                     **engine_options)  # type: ignore[arg-type]
    made.warm_up()
    return made
