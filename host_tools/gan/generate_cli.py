"""`latent gan generate`: one note from a trained GAN run, for auditioning (host app layer, CLI).

The note is levelled like the run's training notes (host_tools/gan/levelling.py): the generator's
raw output can be many times full scale, which a PCM WAV would store clipped.

    latent gan generate --run RUN --pitch 60 --seed 3 --out note.wav
    latent gan generate --run RUN --pitch C4 --z z.npy --out note.wav   # z: latent_dim floats (.npy)

(`latent generate` is the old spelling, still accepted.)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(actions: argparse._SubParsersAction, name: str = "generate", listed: bool = True) -> None:
    """Add `generate` to `latent gan`'s actions (or, unlisted, the old top-level `latent generate`)."""
    from device.cli_options import examples
    from device.cli_options import listed as shown_if

    parser = actions.add_parser(
        name, **shown_if("generate one note from a trained GAN run", listed),
        description="Generate one note from a trained GAN run (or an exported model directory), "
                    "levelled like its training notes, as a 16-bit WAV.",
        **examples("latent gan generate --run models/gan-medium --pitch C4 --seed 3 --out note.wav"))
    parser.add_argument("--run", required=True,
                        help="training run or exported model directory (latent gan train --out)")
    parser.add_argument("--pitch", required=True,
                        help="one pitch the run was trained on: a MIDI number (60) or a note name (C4)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--z", help=".npy file holding one latent vector (latent_dim floats)")
    source.add_argument("--seed", type=int, default=0, help="draw z from N(0, 1) with this seed (default 0)")
    parser.add_argument("--out", required=True, help="WAV file to write")
    parser.set_defaults(func=_generate)


def load_latent(path: str, latent_dim: int) -> object:
    import numpy as np
    import torch

    from device.errors import ConfigError

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(f"--z {path}: not a readable .npy file ({err}); save one with numpy.save") from None
    if z.size != latent_dim or not np.issubdtype(z.dtype, np.floating) or not np.all(np.isfinite(z)):
        raise ConfigError(
            f"--z {path} holds {z.size} {z.dtype} values; this run needs {latent_dim} finite floats"
        )
    return torch.from_numpy(z.astype(np.float32).reshape(1, latent_dim))


def _generate(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile
    import torch

    from device.pitch_syntax import parse_pitch
    from host_tools.bank.loudness import to_db
    from host_tools.gan.levelling import active_rms, level_notes, run_level, wav_ready
    from host_tools.gan.run_dir import generate_audio, load_generator

    pitch = parse_pitch(args.pitch)  # before loading the model: a typo fails at once
    torch.set_num_threads(2)
    generator, cfg = load_generator(args.run)
    latent_dim = cfg.model.latent_dim
    if args.z:
        z = load_latent(args.z, latent_dim)
    else:
        z = torch.randn(1, latent_dim, generator=torch.Generator().manual_seed(args.seed))
    raw = generate_audio(generator, cfg, z, [pitch])[0]
    level = run_level(args.run)
    audio = level_notes(raw, level)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(out), wav_ready(audio), cfg.audio.sample_rate, subtype="PCM_16")
    rms_db = float(to_db(active_rms(audio)[0]))
    if level is None:
        levelled = "no level recorded in the run (trained before levelling): peak safety only"
    elif rms_db < level["rms_dbfs"] - 0.05:
        levelled = f"held at -1 dBFS peak, under the training notes' RMS {level['rms_dbfs']:.1f} dBFS"
    else:
        levelled = f"levelled to the training notes' RMS {level['rms_dbfs']:.1f} dBFS"
    print(f"{out}: {len(audio) / cfg.audio.sample_rate:g} s at {cfg.audio.sample_rate} Hz, "
          f"pitch {pitch}, RMS {rms_db:.1f} dBFS, peak {float(np.max(np.abs(audio))):.3f} "
          f"(raw peak {float(np.max(np.abs(raw))):.3f}; {levelled})")
    return 0
