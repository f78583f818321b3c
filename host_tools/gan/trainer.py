"""The WGAN-GP + auxiliary-pitch-classifier training loop (host training layer; imports torch).

Per step the critic sees one batch of real notes and as many generated ones at the same pitches
(loss: fake - real scores, gradient penalty on random interpolates, a small drift term keeping real
scores near 0, and pitch cross-entropy on the real notes), then the generator is updated to raise its
notes' scores and make the critic's pitch classifier name the conditioning pitch (AC-GAN, as GANSynth).

Determinism, so that a resumed run equals an uninterrupted one tensor for tensor: the data order is a
function of (seed, step) (training_data.py), the noise of each step comes from a generator seeded by
(seed, rank, step), and the models (the generator's moving average included), both optimisers and the
global RNG states go into every checkpoint.
Ctrl-C sets a flag: the current step finishes, a checkpoint is written and the run stops cleanly.
"""

from __future__ import annotations

import copy
import json
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from device.errors import ConfigError
from host_tools.gan.audition import write_audition, write_loss_plot
from host_tools.gan.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint, set_rng_state
from host_tools.gan.config import GanConfig, architecture_hash, architecture_summary
from host_tools.gan.distributed import Distribution, start_distribution
from host_tools.gan.low_band import silence_low_band
from host_tools.gan.networks import build_critic, build_generator
from host_tools.gan.representation import NoteCodec
from host_tools.gan.run_dir import RunLayout, read_run_config
from host_tools.gan.training_data import BatchSchedule, CroppedNotes, batches, open_notes
from host_tools.gan.training_health import TrainingHealth, losses_finite


class _StopFlag:
    """Set by SIGINT; the loop checks it between steps."""

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signum: int, frame: Any) -> None:
        if self.raised:
            raise KeyboardInterrupt  # a second Ctrl-C means now
        self.raised = True


@contextmanager
def _sigint_sets(flag: _StopFlag) -> Any:
    try:
        previous = signal.signal(signal.SIGINT, flag)
    except ValueError:  # not the main thread: no handler, Ctrl-C then interrupts as usual
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _prepare_run_dir(layout: RunLayout, cfg: GanConfig, resume: bool) -> None:
    """Refuse to mix runs: a fresh run needs an unused directory, a resumed one the same architecture."""
    has_run = layout.config.is_file() or bool(list_checkpoints(layout.checkpoints))
    if has_run and not resume:
        raise ConfigError(
            f"{layout.root} already holds a training run; "
            "pass --resume to continue it or choose another --out"
        )
    if layout.config.is_file():
        saved = read_run_config(layout.root)
        if architecture_hash(saved) != architecture_hash(cfg):
            raise ConfigError(
                f"{layout.root} was trained as {architecture_summary(saved)}, but the config asks for "
                f"{architecture_summary(cfg)}; resume without --config (the run's own config is used) "
                "or train into a new --out directory"
            )


def _step_noise(cfg: GanConfig, rank: int, step: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.train.seed * 1_000_003 + rank * 7_919 + step)
    return generator


def _gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                      labels: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """WGAN-GP on random interpolates of what the critic reads (`critic.prepare`: the representation,
    or the ddsp critic's log spectrograms), one mixing weight per note across all of its inputs."""
    real_in, fake_in = critic.prepare(real), critic.prepare(fake)
    shape = (real.shape[0],) + (1,) * (real_in[0].dim() - 1)
    eps = torch.rand(shape, generator=noise, device=real.device)
    mix = tuple((eps * r + (1 - eps) * f.detach()).requires_grad_(True)
                for r, f in zip(real_in, fake_in, strict=True))
    score, _ = critic.score(mix, labels)
    grads = torch.autograd.grad(score.sum(), mix, create_graph=True)
    norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(dim=1) for g in grads) + 1e-12)
    return (norm - 1.0).pow(2).mean()


class GanTrainer:
    def __init__(self, data_dir: str | Path, cfg: GanConfig, out: str | Path, resume: bool,
                 progress: bool = True) -> None:
        # Everything that can be wrong is checked before the first step.
        self.cfg, self.layout, self.progress = cfg, RunLayout(Path(out)), progress
        torch.set_num_threads(cfg.train.threads)
        self.notes = CroppedNotes(open_notes(data_dir, cfg), cfg)
        self.dist: Distribution = start_distribution()
        _prepare_run_dir(self.layout, cfg, resume)
        self.dist.barrier()  # every rank has looked at RUN before rank 0 writes into it
        self.schedule = BatchSchedule(self.notes, cfg.train.batch_size, cfg.train.seed,
                                      self.dist.world_size, self.dist.rank)
        found = (
            load_checkpoint(self.layout.checkpoints, cfg, map_location=self.dist.device) if resume else None
        )

        torch.manual_seed(cfg.train.seed + self.dist.rank)
        device = self.dist.device
        self.codec = NoteCodec(cfg)
        self.generator = build_generator(cfg).to(device)
        self.critic = build_critic(cfg).to(device)
        # PGGAN's moving average of the generator: smooths out the step-to-step oscillation of a small GAN
        # (measured on tiny: the raw generator's pitch accuracy swung 0.5 -> 0.03 -> 0.11 over 600 steps).
        self.generator_ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        betas = cfg.train.betas
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.train.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=cfg.train.lr, betas=betas)
        self.step, self.wall = 0, 0.0
        if found is not None:
            tensors, meta = found
            self.generator.load_state_dict(tensors["generator"])
            self.generator_ema.load_state_dict(tensors["generator_ema"])
            self.critic.load_state_dict(tensors["critic"])
            self.opt_g.load_state_dict(tensors["opt_g"])
            self.opt_d.load_state_dict(tensors["opt_d"])
            set_rng_state(tensors["rng"], meta["rng"])
            self.step, self.wall = meta["step"], meta.get("wall_seconds", 0.0)
        self.g_train, self.d_train = self.generator, self.critic
        if self.dist.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.generator, device_ids=ids)
            self.d_train = DistributedDataParallel(self.critic, device_ids=ids)
        if self.dist.is_writer:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            temp = self.layout.config.with_name(".config.json.tmp")
            temp.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
            temp.replace(self.layout.config)
            from host_tools.gan.levelling import notes_level

            # "level": what generated notes are levelled to before anyone hears them (levelling.py).
            record = {"data_dir": str(Path(data_dir).resolve()), "notes": len(self.notes),
                      "level": notes_level(self.notes, cfg.data.preload)}
            selection = self.notes.dataset.selection  # notes given, used, and why the rest are not
            print(selection.summary(), file=sys.stderr)
            record["selection"] = selection.as_dict()
            self.layout.data_record.write_text(json.dumps(record) + "\n", encoding="utf-8")

    def train_step(self, audio: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        cfg_t, device = self.cfg.train, self.dist.device
        noise = _step_noise(self.cfg, self.dist.rank, self.step, device)
        real = self.codec.encode(audio.to(device))
        if self.generator.spectral:  # the critic compares like with like in the band G keeps silent
            real = silence_low_band(real, self.generator.silent_bins)
        labels = labels.to(device)
        batch = real.shape[0]
        latent_dim = self.cfg.model.latent_dim

        self.critic.requires_grad_(True)
        with torch.no_grad():
            fake = self.generator(torch.randn(batch, latent_dim, generator=noise, device=device), labels)
        scores, logits = self.d_train(torch.cat([real, fake]), torch.cat([labels, labels]))
        real_score, fake_score = scores[:batch], scores[batch:]
        penalty = _gradient_penalty(self.critic, real, fake, labels, noise)
        aux_real = F.cross_entropy(logits[:batch], labels)
        d_loss = (fake_score.mean() - real_score.mean() + cfg_t.gp_weight * penalty
                  + cfg_t.drift_weight * real_score.pow(2).mean() + cfg_t.aux_weight * aux_real)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        self.critic.requires_grad_(False)
        fake = self.g_train(torch.randn(batch, latent_dim, generator=noise, device=device), labels)
        score, logits = self.critic(fake, labels)
        aux_fake = F.cross_entropy(logits, labels)
        g_loss = -score.mean() + cfg_t.aux_weight * aux_fake
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self._update_average()
        return {
            "d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "wasserstein": (real_score.mean() - fake_score.mean()).item(),
            "gradient_penalty": penalty.item(), "aux_real": aux_real.item(), "aux_fake": aux_fake.item(),
        }

    @torch.no_grad()
    def _update_average(self) -> None:
        decay = self.cfg.train.ema_decay
        pairs = zip(self.generator_ema.parameters(), self.generator.parameters(), strict=True)
        for averaged, current in pairs:
            averaged.lerp_(current, 1.0 - decay)

    def _save(self) -> None:
        tensors = {
            "generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
            "generator_ema": self.generator_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
        }
        save_checkpoint(self.layout.checkpoints, self.step, self.cfg, tensors,
                        {"wall_seconds": round(self.wall, 3)}, self.cfg.train.keep_checkpoints)

    def _audition(self) -> None:
        write_audition(self.layout.samples / f"step_{self.step:08d}.wav", self.generator_ema, self.cfg)
        if self.layout.metrics.is_file():
            write_loss_plot(self.layout.metrics, self.layout.loss_png)

    def _health_notes(self, audio: torch.Tensor, labels: torch.Tensor, count: int = 6) -> tuple[Any, Any]:
        """(a few notes of the moving-average generator at the batch's first pitches, those real notes)
        as numpy audio, for TrainingHealth. Its z comes from a private generator seeded by the step, so
        the run's own random streams, and with them bit-for-bit resume, are untouched."""
        from host_tools.gan.config import pitch_list
        from host_tools.gan.run_dir import generate_audio

        count = min(count, len(labels))
        classes = pitch_list(self.cfg)
        z = torch.randn(count, self.cfg.model.latent_dim,
                        generator=torch.Generator().manual_seed(self.step))
        generated = generate_audio(self.generator_ema, self.cfg, z, [classes[int(i)] for i in labels[:count]])
        return generated, audio[:count].numpy()

    def run(self, steps: int | None = None) -> dict[str, Any]:
        """Train until `steps` (default train.steps) or Ctrl-C; returns a summary."""
        from tqdm import tqdm

        cfg_t = self.cfg.train
        total = cfg_t.steps if steps is None else steps
        writer = self.dist.is_writer
        flag = _StopFlag()
        losses: dict[str, float] = {}
        start_step = self.step
        bar = tqdm(total=total, initial=self.step, disable=not (writer and self.progress),
                   unit="step", dynamic_ncols=True)
        data = batches(self.notes, self.schedule, self.step, self.cfg.data.preload,
                       self.cfg.data.num_workers)
        health = TrainingHealth(self.cfg, self.layout.root, record=writer,
                                emit=(lambda line: bar.write(line, file=sys.stderr)) if writer else None)
        interrupted = False
        try:
            with _sigint_sets(flag):
                while self.step < total:
                    began = time.perf_counter()
                    audio, labels = next(data)
                    losses = self.train_step(audio, labels)
                    self.step += 1
                    if self.dist.any_rank(not losses_finite(losses)):
                        health.diverged(self.step, losses)  # raises before NaN weights are saved
                    self.wall += time.perf_counter() - began
                    bar.update(1)
                    if writer and (self.step % cfg_t.log_every == 0 or self.step == total):
                        bar.set_postfix({k: f"{losses[k]:.3g}" for k in ("d_loss", "g_loss", "aux_fake")})
                        with open(self.layout.metrics, "a", encoding="utf-8") as handle:
                            handle.write(json.dumps({"step": self.step, **losses,
                                                     "wall_seconds": round(self.wall, 3)}) + "\n")
                        health.observe_losses(self.step, losses)
                        health.observe_audio(self.step, *self._health_notes(audio, labels))
                    interrupted = self.dist.any_rank(flag.raised)
                    if writer and (self.step % cfg_t.checkpoint_every == 0 or interrupted
                                   or self.step == total):
                        self._save()
                    if writer and (self.step % cfg_t.sample_every == 0 or self.step == total):
                        self._audition()
                    if interrupted:
                        break
        finally:
            bar.close()
            self.dist.close()
        return {"step": self.step, "steps_this_session": self.step - start_step, "target": total,
                "interrupted": interrupted, "wall_seconds": round(self.wall, 1), "losses": losses,
                "run": str(self.layout.root), "health": health.as_list()}
