"""Tiny RNN bundles for the device tests, made with torch here and exported the way the host does.

The model keeps the bundle contract (device/bundle/rnn_format.py): a GRU over (x, y, pitch, loudness)
frames, then the synthesiser's controls: an amplitude, a harmonic distribution masked above Nyquist by
the graph itself (from its pitch input) and noise magnitudes. `variant` builds the broken models the
reader and the store must refuse or roll back: "nan" (NaN controls), "silent" (all zero),
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
        hidden, state_out = self.gru(cond, state)
        out = self.head(hidden)
        spec = self.spec
        amp_logit = out[..., :1]
        logits = out[..., 1:1 + spec.harmonics]
        noise_logit = out[..., 1 + spec.harmonics:]
        loudness = cond[..., 3:4]
        # Level follows loudness as the contract's dB scale says: 0 -> -60 dB, 1 -> 0 dB.
        level = torch.pow(10.0, (loudness - 1.0) * 3.0)
        amplitude = 0.3 * torch.sigmoid(amp_logit) * level
        f0 = 440.0 * torch.pow(2.0, (cond[..., 2:3] * 24.0 + 60.0 - 69.0) / 12.0)
        audible = (self.k * f0 < spec.nyquist_hz).float()
        weights = torch.exp(logits - logits.max(dim=-1, keepdim=True).values) * audible
        distribution = weights / weights.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        noise = 0.02 * torch.sigmoid(noise_logit) * level
        controls = torch.cat([amplitude, distribution, noise], dim=-1)
        if self.variant == "silent":
            controls = controls * 0.0
        elif self.variant == "nan":
            controls = controls * torch.sqrt(loudness - 2.0)  # sqrt of a negative: NaN everywhere
        elif self.variant == "nan-centre":
            # Finite for the reader's probe (which never reaches the centre), NaN at the centre of
            # the surface, where the instrument starts: what only the store's trial can catch.
            radius = cond[..., 0:1] ** 2 + cond[..., 1:2] ** 2
            controls = controls + 0.0 * torch.sqrt(radius - 0.01)
        return controls, state_out


def spec(**changes: object) -> RnnSpec:
    fields: dict[str, object] = dict(hidden=HIDDEN, layers=LAYERS, axes=(RnnAxis("pc0", -2.0, 2.0),
                                     RnnAxis("pc1", -2.0, 2.0)), pitch_lo=36.0, pitch_hi=84.0)
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
                          output_names=["controls", "state_out"],
                          dynamic_axes={names[0]: {1: "T"}, "controls": {1: "T"}})
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
