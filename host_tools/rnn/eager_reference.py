"""The PyTorch-eager side of `latent bench rnn` (host tools; entry point `latent.bench_references`, `rnn`).

The device bench reports how much faster its ONNX path is than the same model stepped in eager
PyTorch. This builds that model from the bundle's manifest (the architecture `latent rnn export`
stores in its config; a bundle made elsewhere gets input_width = hidden) with random weights, since
speed does not depend on them, and steps the whole model (its output stage included: the
exp-sigmoids, harmonic mask and softmax that the device runs compiled after onnxruntime's call) one
frame per call on one thread, as a frame-by-frame eager implementation would run on the device.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np


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


def measure(bundle_path: Path, frames: int, warmup: int) -> dict[str, Any]:
    """Median and 90th-percentile microseconds of one eager single-frame step (after `warmup` steps)."""
    import torch

    from host_tools.rnn.model import ControlRnn

    arch = architecture_from_bundle(Path(bundle_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = ControlRnn(arch).eval()
        cond = torch.zeros(1, 1, 4)
        cond[..., 3] = 0.9
        state = model.zero_state(1)
        times = []
        with torch.inference_mode():
            for index in range(warmup + frames):
                began = time.perf_counter()
                _, state = model(cond, state)
                if index >= warmup:
                    times.append(time.perf_counter() - began)
    finally:
        torch.set_num_threads(threads)
    us = np.asarray(times) * 1e6
    return {"step_us_median": round(float(np.median(us)), 2),
            "step_us_p90": round(float(np.percentile(us, 90)), 2),
            "model": f"PyTorch {torch.__version__} eager, GRU {arch.layers}x{arch.hidden} + MLP "
                     f"{arch.input_width} + head, one frame per call, 1 thread"}
