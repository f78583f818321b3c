"""`latent rnn eval`: how close the RNN sings to the GAN it learned from (host tools, analysis).

- log-mel distance (host_tools.gan.evaluation.log_mel_distance, the one `latent gan eval` and `latent
  space smoothness` use) between the RNN's audio and the GAN's levelled audio, at the grid points (which
  it trained on) and at the held-out cell centres (which it never saw), each note driven by the GAN
  note's own loudness curve and rendered through HarmonicNoiseSynth's parts (render.py). With --bank,
  the baseline at the same points: the bank's segment at a grid point (the GAN's audio up to the bank's
  codec), and at a centre the bilinear cross-fade of the four neighbouring segments (equal weights),
  what the granular engine's blend gives there. All are compared on the bank's window (its offset and
  length; without a bank, the held part the levelling uses), onset-aligned.
- pitch accuracy: the share of held-out notes whose YIN pitch is within 50 cents (pitch_hits), RNN and
  GAN, on the same window.
- 60 s of continuous play at the middle pitch and constant loudness 0.9, the model stepped in
  256-frame chunks with its state carried: held at the centre (drift: the last 5 s against the first
  5 s) and on a slow wander over the surface (whose level moves with the GAN's level there); per path
  the level per second (dBFS), the quietest and loudest second, the peak, silence and clipping. With
  --bundle the same paths also play through the device's path (the exported bundle in
  device.engine.rnn.RnnEngine at 48 kHz).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from device.errors import ConfigError
from host_tools.rnn.dataset import LEVEL_WINDOW_S, RnnDataset, open_dataset

_BATCH = 64
_PLAY_SECONDS = 60.0
_SILENT_DBFS = -60.0


def render_batch(model: Any, cond: np.ndarray, midi: float, sample_rate: int, frame_hop: int) -> np.ndarray:
    """(n, samples) audio of the model over cond (n, T, 4), all at one pitch, from zero states."""
    import torch

    from host_tools.gan.harmonic_synth import HarmonicNoiseSynth, midi_to_hz

    harmonics = model.arch.harmonics
    samples = (cond.shape[1] - 1) * frame_hop
    synth = HarmonicNoiseSynth(sample_rate, samples, harmonics, model.arch.noise_bands).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(cond), _BATCH):
            part = torch.from_numpy(np.ascontiguousarray(cond[start:start + _BATCH]))
            controls, _ = model(part, model.zero_state(len(part)))
            c = controls.transpose(1, 2)
            f0 = midi_to_hz(torch.full((len(part),), float(midi)))
            audio = synth.render(*synth.split(c), f0)
            out.append(audio.numpy())
    return np.concatenate(out).astype(np.float32)


def _bank_window(bank: Any, data: RnnDataset) -> tuple[int, int]:
    """Check the bank covers the dataset's surface; its window in samples."""
    steps = int(data.meta["steps"])
    if [a.steps for a in bank.axes] != [steps, steps]:
        shape = "x".join(str(a.steps) for a in bank.axes)
        raise ConfigError(f"--bank {bank.bundle.path} has a {shape} grid; "
                          f"the dataset's is {steps}x{steps}: compile the bank from the same surface")
    if bank.sample_rate != int(data.meta["sample_rate"]):
        raise ConfigError(f"--bank {bank.bundle.path} is at {bank.sample_rate} Hz, the dataset at "
                          f"{data.meta['sample_rate']} Hz")
    window = bank.bundle.manifest.get("config", {}).get("window", {})
    first = round(float(window.get("offset_seconds", 0.0)) * bank.sample_rate)
    return first, first + int(bank.segment_frames)


def _distance(a: np.ndarray, b_mel: np.ndarray, rate: int) -> np.ndarray:
    """Log-mel distance of notes `a` to notes whose log-mel is `b_mel`."""
    from host_tools.gan.evaluation import log_mel_db, log_mel_distance

    return log_mel_distance(log_mel_db(a, rate), b_mel)


PATHS = {"held": "x = y = 0 (the centre), the whole time",
         "wander": "x = sin(2 pi t / 23 s), y = sin(2 pi t / 37 s + 1)"}


def _path(name: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y in -1..1 at times t of one of PATHS."""
    if name == "held":
        return np.zeros_like(t), np.zeros_like(t)
    return np.sin(2 * np.pi * t / 23.0), np.sin(2 * np.pi * t / 37.0 + 1.0)


def _level_figures(audio: np.ndarray, rate: int) -> dict[str, Any]:
    from host_tools.rnn.render import levels_over_time

    levels = levels_over_time(audio, rate)
    peak = float(np.max(np.abs(audio)))
    return {
        "level_dbfs_per_second": levels,
        "drift_db": round(float(np.mean(levels[-5:]) - np.mean(levels[:5])), 2),
        "quietest_second_dbfs": min(levels), "loudest_second_dbfs": max(levels), "peak": round(peak, 4),
        "finite": bool(np.all(np.isfinite(audio))), "silent": bool(min(levels) < _SILENT_DBFS),
        "clipped": bool(peak >= 1.0),
    }


def continuous_play(model: Any, data: RnnDataset, seconds: float = _PLAY_SECONDS, loudness: float = 0.9
                    ) -> dict[str, Any]:
    """Each of PATHS played by the model on the host (256-frame chunks, state carried)."""
    from host_tools.rnn.render import condition, play, render_controls

    rate, hop = int(data.meta["sample_rate"]), int(data.meta["frame_hop"])
    midi = float(np.median(data.meta["pitches"]))
    t = np.arange(round(seconds * rate / hop) + 1) * hop / rate
    report: dict[str, Any] = {"seconds": seconds, "pitch": midi, "loudness": loudness, "sample_rate": rate}
    for name, what in PATHS.items():
        x, y = _path(name, t)
        audio = render_controls(play(model, condition(x, y, midi, loudness)), midi, sample_rate=rate,
                                frame_hop=hop, harmonics=model.arch.harmonics)
        report[name] = {"path": what, **_level_figures(audio, rate)}
    return report


def device_play(bundle: str | os.PathLike[str], seconds: float = _PLAY_SECONDS, sample_rate: int = 48000,
                pitch: float = 60.0, loudness: float = 0.9) -> dict[str, Any]:
    """The same paths played through the device's own path: the exported bundle in the rnn engine
    (onnxruntime + the numba synthesiser, synchronous mode), the point moved every 40 ms."""
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import rnn_model
    from device.engine.rnn import RnnEngine

    with open_bundle(bundle) as opened:
        spec, model = rnn_model(opened)
    report: dict[str, Any] = {"bundle": str(bundle), "seconds": seconds, "pitch": pitch, "loudness": loudness,
                              "sample_rate": sample_rate}
    block = sample_rate // 25
    for name, what in PATHS.items():
        engine = RnnEngine(spec, model, sample_rate=sample_rate)
        try:
            engine.set_pitch(pitch)
            engine.set_params(gain=float(10.0 ** ((loudness - 1.0) * 3.0)))  # loudness 0.9 = -6 dB
            out = np.empty(round(seconds * sample_rate) // block * block, dtype=np.float32)
            for start in range(0, len(out), block):
                x, y = _path(name, np.array([start / sample_rate]))
                engine.set_point((0.5 + 0.5 * float(x[0]), 0.5 + 0.5 * float(y[0])))
                engine.render_into(out[start:start + block])
            faults = engine.model_faults
        finally:
            engine.close()
        report[name] = {"path": what, **_level_figures(out, sample_rate), "model_faults": int(faults)}
    return report


def evaluate(run: str | os.PathLike[str], data_dir: str | os.PathLike[str], *,
             bank: str | os.PathLike[str] | None = None, pitches: list[int] | None = None,
             play_seconds: float = _PLAY_SECONDS, device_bundle: str | os.PathLike[str] | None = None
             ) -> dict[str, Any]:
    import torch

    from device.bundle.reader import load_segment_bank
    from host_tools.gan.evaluation import log_mel_db, pitch_hits
    from host_tools.rnn.train import load_run, notes_and_conditions

    torch.set_num_threads(1)
    model, _, checkpoint = load_run(run)
    data = open_dataset(data_dir)
    rate, hop = int(data.meta["sample_rate"]), int(data.meta["frame_hop"])
    known = [int(p) for p in data.meta["pitches"]]
    chosen = known[::2] if pitches is None else pitches
    missing = [p for p in chosen if p not in known]
    if missing:
        raise ConfigError(f"--pitches: {missing[0]} is not in the dataset ({known[0]}..{known[-1]}: "
                          f"{','.join(map(str, known))})")
    opened = load_segment_bank(bank) if bank is not None else None
    try:
        if opened is not None:
            first, end = _bank_window(opened, data)
            missing = [p for p in chosen if p not in opened.pitches]
            if missing:
                raise ConfigError(f"--bank {bank} has no pitch {missing[0]}; evaluate --pitches it holds")
        else:
            first, end = (round(s * rate) for s in LEVEL_WINDOW_S)
            end = min(end, int(data.meta["samples"]))
        steps = int(data.meta["steps"])
        figures: dict[str, dict[str, list[float]]] = {"grid": {"rnn": []}, "heldout": {"rnn": []}}
        if opened is not None:
            figures["grid"]["bank_crossfade"], figures["heldout"]["bank_crossfade"] = [], []
        hits: dict[str, list[bool]] = {"rnn": [], "gan": []}
        for held_out, key in ((False, "grid"), (True, "heldout")):
            cond, _ = notes_and_conditions(data, held_out)
            gx = steps - 1 if held_out else steps
            cond = cond.reshape(gx, gx, len(known), *cond.shape[1:])
            gan = data.array(f"{'heldout' if held_out else 'grid'}_audio")
            for pitch in chosen:
                p = known.index(pitch)
                rnn = render_batch(model, cond[:, :, p].reshape(-1, *cond.shape[3:]), pitch, rate, hop)
                want = np.asarray(gan[:, :, p], dtype=np.float32).reshape(-1, gan.shape[-1])
                want_mel = log_mel_db(want[:, first:end], rate)
                figures[key]["rnn"].extend(_distance(rnn[:, first:end], want_mel, rate))
                if opened is not None:
                    bp = opened.pitches.index(pitch)
                    cells = [[opened.segment((i, j), bp) for j in range(steps)] for i in range(steps)]
                    segs = np.array(cells, dtype=np.float32)           # (steps, steps, frames)
                    if held_out:
                        segs = 0.25 * (segs[:-1, :-1] + segs[1:, :-1] + segs[:-1, 1:] + segs[1:, 1:])
                    figures[key]["bank_crossfade"].extend(
                        _distance(segs.reshape(-1, segs.shape[-1]), want_mel, rate))
                if held_out:
                    hits["rnn"].extend(pitch_hits(rnn[:, first:end], [pitch] * len(rnn), rate)[0])
                    hits["gan"].extend(pitch_hits(want[:, first:end], [pitch] * len(want), rate)[0])
    finally:
        if opened is not None:
            opened.bundle.close()
    log_mel = {key: {name: round(float(np.mean(values)), 3) for name, values in parts.items()}
               for key, parts in figures.items()}
    for key in log_mel:
        log_mel[key]["notes"] = len(figures[key]["rnn"])
    from host_tools.space.measures import METRIC

    report = {
        "run": str(run), "step": int(checkpoint["step"]), "data": str(data_dir),
        "bank": None if bank is None else str(bank), "pitches": chosen,
        "renderer": "HarmonicNoiseSynth (host_tools/gan/harmonic_synth.py)",
        "window_seconds": [first / rate, end / rate], "metric": METRIC,
        "log_mel_db": log_mel,
        "pitch_accuracy": {"rnn": round(float(np.mean(hits["rnn"])), 4),
                           "gan": round(float(np.mean(hits["gan"])), 4),
                           "what": "share of held-out notes within 50 cents (YIN), on the window"},
        "continuous_play": continuous_play(model, data, play_seconds),
    }
    if device_bundle is not None:
        report["continuous_play_device"] = device_play(device_bundle, play_seconds,
                                                       pitch=float(np.median(data.meta["pitches"])))
    return report
