"""The PyTorch-eager side of `latent bench rnn` (host tools; entry point `latent.bench_references`, `rnn`).

The device bench reports how much faster its ONNX path is than the same model stepped in eager
PyTorch. This builds that model from the bundle's manifest (the architecture `latent rnn export`
stores in its config; a bundle made elsewhere gets input_width = hidden) with random weights, since
speed does not depend on them, and steps the whole model (its output stage included: the
exp-sigmoids, harmonic mask and softmax that the device runs compiled after onnxruntime's call) one
frame per call on one thread, as a frame-by-frame eager implementation would run on the device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def architecture_from_bundle(bundle_path: Path) -> Any:
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import rnn_model
    from host_tools.rnn.model import Architecture

    with open_bundle(bundle_path, verify=False) as bundle:
        spec, _ = rnn_model(bundle)
        stored = bundle.manifest.get("config", {}).get("architecture", {})
    width = stored.get("input_width") if isinstance(stored, dict) else None
    return Architecture(input_width=int(width) if isinstance(width, int) else spec.hidden,
                        hidden=spec.hidden, layers=spec.layers, harmonics=spec.harmonics,
                        noise_bands=spec.noise_bands, nyquist_hz=spec.nyquist_hz,
                        amplitude_max=1.0, noise_max=1.0)


class EagerStepper:
    """The whole model on one thread, stepped one frame per `step()` call; `close()` gives torch its
    thread count back. The bench times `step()` in rounds interleaved with its own step, so both
    figures come from the same moments of a machine whose speed drifts."""

    def __init__(self, bundle_path: Path) -> None:
        import torch

        from host_tools.rnn.model import ControlRnn

        self._torch = torch
        arch = architecture_from_bundle(Path(bundle_path))
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self._model = ControlRnn(arch).eval()
        self._cond = torch.zeros(1, 1, 4)
        self._cond[..., 3] = 0.9
        self._state = self._model.zero_state(1)
        self.description = (f"PyTorch {torch.__version__} eager, GRU {arch.layers}x{arch.hidden} + MLP "
                            f"{arch.input_width} + head + output stage, one frame per call, 1 thread")

    def step(self) -> None:
        with self._torch.inference_mode():
            _, self._state = self._model(self._cond, self._state)

    def close(self) -> None:
        self._torch.set_num_threads(self._threads)


def stepper(bundle_path: Path) -> EagerStepper:
    """The `latent.bench_references` entry point `rnn`."""
    return EagerStepper(bundle_path)
