"""The rnn model's output stage, compiled: raw head outputs -> the synth's controls (engine layer; numba).

An rnn bundle's graph ends at its head's raw outputs (device/bundle/rnn_format.py, `outputs =
"raw-head"`): one amplitude logit, `harmonics` harmonic logits, `noise_bands` noise logits. This
module makes them what the harmonic-plus-noise synth renders, exactly as the host model's own output
stage does (host_tools/rnn/model.py, ControlRnn.output_stage):
- amplitude and noise magnitudes: DDSP's exp_sigmoid, max * sigmoid(x) ** ln(exponent) + threshold;
- the harmonic distribution: a softmax over the harmonics k with k * f0 < nyquist_hz only (the rest
  exactly 0), f0 taken from the model's own pitch input in float32 as the graph computed it.
It lives here, not in the ONNX graph, because onnxruntime spent 10 of the 25 us of a one-frame step
on these 17 small nodes, and this loop does the same in about 3 (docs/MEASUREMENTS.md, rnn).
`store_frame` runs the stage straight into the synth's frame ring: nothing is allocated per frame.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from device.engine.harmonic_synth import R_AMP, R_F0, R_GEN

# Columns of the stage constants array (float64), made once per model by `stage_constants`.
C_NYQUIST = 0
C_AMPLITUDE_MAX = 1
C_NOISE_MAX = 2
C_LOG_EXPONENT = 3  # ln of exp_sigmoid's exponent
C_THRESHOLD = 4
C_LEN = 5

PITCH_CENTRE, PITCH_SPAN = 60.0, 24.0  # the model's pitch input is (midi - 60) / 24 (the contract)


def stage_constants(nyquist_hz: float, amplitude_max: float, noise_max: float, exponent: float,
                    threshold: float) -> np.ndarray:
    """The constants `output_stage` reads, as one float64 array (one argument, checked once)."""
    constants = np.zeros(C_LEN, dtype=np.float64)
    constants[C_NYQUIST] = nyquist_hz
    constants[C_AMPLITUDE_MAX] = amplitude_max
    constants[C_NOISE_MAX] = noise_max
    constants[C_LOG_EXPONENT] = math.log(exponent)
    constants[C_THRESHOLD] = threshold
    return constants


@njit(cache=True, fastmath=False)
def _exp_sigmoid(x, max_value, log_exponent, threshold):
    # sigmoid(x) ** p as exp(-p * log1p(exp(-x))): no overflow for any finite x, NaN stays NaN.
    soft = math.log1p(math.exp(-x)) if x >= 0.0 else -x + math.log1p(math.exp(x))
    return max_value * math.exp(-log_exponent * soft) + threshold


@njit(cache=True, fastmath=False)
def output_stage(raw, pitch_input, constants, harmonics, out, at):
    """Controls from one frame's raw head outputs into out[at : at + raw.size]: amplitude, harmonic
    distribution (sums to 1 over the audible harmonics; all 0 where none is audible), noise magnitudes.
    `pitch_input` is the model's normalised pitch input for the frame, (midi - 60) / 24."""
    log_exponent = constants[C_LOG_EXPONENT]
    threshold = constants[C_THRESHOLD]
    out[at] = _exp_sigmoid(float(raw[0]), constants[C_AMPLITUDE_MAX], log_exponent, threshold)
    # f0 and the mask in float32, as the graph computes them, so a harmonic at the edge falls alike.
    midi = np.float32(pitch_input) * np.float32(PITCH_SPAN) + np.float32(PITCH_CENTRE)
    f0 = np.float32(440.0 * math.pow(2.0, float(midi - np.float32(69.0)) / 12.0))
    nyquist = np.float32(constants[C_NYQUIST])
    top = np.float32(-np.inf)
    audible = 0
    for k in range(harmonics):
        if np.float32(k + 1) * f0 < nyquist:
            audible = k + 1
            value = np.float32(raw[1 + k])
            # A NaN logit spreads, as in a softmax: once the top is NaN it stays NaN.
            if (value > top or math.isnan(value)) and not math.isnan(top):
                top = value
    total = 0.0
    for k in range(audible):
        # The difference in float32 as torch's softmax takes it: its rounding (up to 2e-6 of a
        # share 20 nepers down) is then the same on both sides.
        weight = math.exp(float(np.float32(raw[1 + k]) - top))
        out[at + 1 + k] = weight
        total += weight
    scale = 1.0 / total if audible > 0 else 0.0
    for k in range(audible):
        out[at + 1 + k] *= scale
    for k in range(audible, harmonics):
        out[at + 1 + k] = 0.0
    noise_max = constants[C_NOISE_MAX]
    for i in range(1 + harmonics, raw.shape[0]):
        out[at + i] = _exp_sigmoid(float(raw[i]), noise_max, log_exponent, threshold)


@njit(cache=True, fastmath=False)
def store_frame(ring, sync, harmonics, generation, f0, gain, raw, pitch_input, constants, state,
                state_out):
    """One frame into the synth's ring: the output stage on the model's raw outputs, amplitude and
    noise times `gain`, the GRU state carried over. Returns False, with the state reset to zero, when
    anything came out NaN or infinite (the frame is still stored, NaN and all: the limiter silences
    and reports it, so the store's trial hears of a bad model)."""
    finite = True
    for i in range(state_out.size):
        if not math.isfinite(state_out.flat[i]):
            finite = False
    for i in range(raw.shape[0]):
        if not math.isfinite(raw[i]):
            finite = False
    for i in range(state.size):
        state.flat[i] = state_out.flat[i] if finite else 0.0
    row = sync[0] % ring.shape[0]
    ring[row, R_GEN] = generation
    ring[row, R_F0] = f0
    frame = ring[row]
    output_stage(raw, pitch_input, constants, harmonics, frame, R_AMP)
    frame[R_AMP] *= gain
    for i in range(R_AMP + 1 + harmonics, R_AMP + raw.shape[0]):
        frame[i] *= gain
    sync[0] += 1  # published last: the kernel never sees a half-written row
    return finite
