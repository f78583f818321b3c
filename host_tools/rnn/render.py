"""Controls to audio, and the conditioning paths the RNN is auditioned and measured on (host tools).

`render_controls` plays the contract's controls (amplitude, harmonic distribution, noise magnitudes at
frame_hop) through the GAN's own synthesiser (HarmonicNoiseSynth.render, eval
noise), so the RNN's audio and the GAN's differ only by the controls. `play` steps a model over a
conditioning path in chunks, carrying its state, as the device engine does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from host_tools.rnn.model import pitch_input

CHUNK_FRAMES = 256


def render_controls(controls: np.ndarray, midi: float, *, sample_rate: int, frame_hop: int,
                    harmonics: int, samples: int | None = None) -> np.ndarray:
    """float32 audio of controls (T, 1 + harmonics + noise_bands) at one pitch, (T - 1) * frame_hop samples
    long or `samples` (a note's length, so its eval noise is the same realisation as the GAN's)."""
    import torch

    from host_tools.gan.harmonic_synth import HarmonicNoiseSynth, midi_to_hz

    frames, width = controls.shape
    samples = (frames - 1) * frame_hop if samples is None else samples
    synth = HarmonicNoiseSynth(sample_rate, samples, harmonics, width - 1 - harmonics).eval()
    c = torch.from_numpy(np.ascontiguousarray(controls.T, dtype=np.float32))[None]
    f0 = midi_to_hz(torch.tensor([float(midi)]))
    with torch.no_grad():
        audio = synth.render(*synth.split(c), f0)
    return audio[0].numpy().astype(np.float32)


def condition(x: np.ndarray, y: np.ndarray, midi: float | np.ndarray, loudness: float | np.ndarray
              ) -> np.ndarray:
    """(T, 4) float32 conditioning from per-frame x, y (in -1..1), MIDI pitch and loudness (0..1)."""
    x = np.asarray(x, dtype=np.float32)
    frames = x.shape[0]
    columns = [x, np.asarray(y, dtype=np.float32),
               np.broadcast_to(pitch_input(np.asarray(midi, dtype=np.float32)), (frames,)),
               np.broadcast_to(np.asarray(loudness, dtype=np.float32), (frames,))]
    return np.stack(columns, axis=1).astype(np.float32)


def play(model: Any, cond: np.ndarray) -> np.ndarray:
    """(T, C) controls of a model stepped over cond (T, 4) in chunks, state carried from zeros."""
    import torch

    state = model.zero_state(1)
    out = []
    with torch.no_grad():
        for start in range(0, len(cond), CHUNK_FRAMES):
            chunk = torch.from_numpy(np.ascontiguousarray(cond[start:start + CHUNK_FRAMES]))[None]
            controls, state = model(chunk, state)
            out.append(controls[0].numpy())
    return np.concatenate(out)


def audition_paths(frame_hop: int, sample_rate: int, midi: float = 60.0, loudness: float = 0.9
                   ) -> dict[str, np.ndarray]:
    """The three auditions: a slow sweep (8 s: x -1 -> 1, y 1 -> -1 -> 1), a fast one (4 s: x and y
    circling at 2 and 3 Hz) and a held note of 10 s at the centre, all at one pitch and loudness."""
    per_second = sample_rate / frame_hop

    def frames(seconds: float) -> np.ndarray:
        return np.arange(round(seconds * per_second) + 1) / per_second

    slow, fast, held = frames(8.0), frames(4.0), frames(10.0)
    return {
        "sweep_slow": condition(-1.0 + 2.0 * slow / slow[-1], np.cos(2 * np.pi * slow / slow[-1]), midi,
                                loudness),
        "sweep_fast": condition(np.sin(2 * np.pi * 2.0 * fast), np.cos(2 * np.pi * 3.0 * fast), midi,
                                loudness),
        "held_10s": condition(np.zeros_like(held), np.zeros_like(held), midi, loudness),
    }


def levels_over_time(audio: np.ndarray, sample_rate: int, seconds: float = 1.0) -> list[float]:
    """RMS level in dBFS of each `seconds`-long window."""
    size = round(seconds * sample_rate)
    count = len(audio) // size
    windows = np.asarray(audio[: count * size], dtype=np.float64).reshape(count, size)
    return [round(float(20 * np.log10(max(np.sqrt(np.mean(w**2)), 1e-12))), 2) for w in windows]
