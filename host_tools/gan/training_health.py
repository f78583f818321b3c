"""Loud failures during GAN training: watch the logged losses and a few generated notes, and say in
words when the run has gone wrong (host training layer; numpy only, so it is tested without torch).

A GAN that has failed keeps producing loss numbers, so a person can spend hours of training on a run
that died at step 300. The trainer hands every logged step's losses and, at the same steps, a handful
of notes of the moving-average generator beside the batch's real notes to `TrainingHealth`, which
returns (and prints, and appends to RUN/health.jsonl) a warning when:

- critic_runaway: |Wasserstein estimate| stays far above its early level for many logged steps (the
  critic wins outright and the generator gets no useful gradient; README: lr 0.002 ran away to 65);
- gradient_penalty: the gradient penalty stays far above its early level (the critic's Lipschitz
  constraint has broken down);
- collapse: the generated notes of one batch are nearly identical while the real ones are not;
- level: the generated notes' RMS level is more than 12 dB from the real notes' for many checks.

Non-finite losses are not a warning: `diverged` raises TrainingDiverged naming the step, before that
step's checkpoint could be written, so the newest checkpoint is still a good one to resume from.

Early levels are the medians of the first `baseline_checks` observations of this session (a resumed run
forms them anew), and no warning is given before they exist: the first steps of a GAN are chaotic. Each
kind is repeated at most once per `repeat_steps` steps, so a run that stays broken does not flood stderr.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from device.errors import InstrumentError

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig

HEALTH_FILE = "health.jsonl"  # in the run directory, one JSON line per warning

RUNAWAY_FACTOR = 10.0  # |W| this many times its early level ...
RUNAWAY_FLOOR = 20.0  # ... and above this (a near-zero early W is no yardstick; healthy W stays lower)
PENALTY_FACTOR = 10.0  # gradient penalty this many times its early level ...
PENALTY_FLOOR = 1.0  # ... and at least this (|grad| off 1 by 1 on average: the constraint is gone)
COLLAPSE_RATIO = 0.1  # generated notes' median pairwise distance below this share of the real ones'
LEVEL_GAP_DB = 12.0  # generated vs real RMS level
_SILENT_DB = -120.0


class TrainingDiverged(InstrumentError, ArithmeticError):
    """The losses became NaN or infinite: the run cannot continue from its current weights."""


@dataclass(frozen=True)
class HealthWarning:
    step: int
    kind: str  # critic_runaway, gradient_penalty, collapse, level (non_finite: only in health.jsonl)
    message: str
    figures: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "kind": self.kind, "message": self.message, **self.figures}


def losses_finite(losses: Mapping[str, float]) -> bool:
    return all(math.isfinite(value) for value in losses.values())


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else _SILENT_DB


def rms_dbfs(audio: np.ndarray) -> float:
    """Median over notes (rows) of each note's RMS level in dB relative to full scale."""
    rms = np.sqrt(np.mean(np.square(np.asarray(audio, dtype=np.float64)), axis=1))
    return float(np.median([_db(float(r)) for r in rms]))


def note_features(audio: np.ndarray, bands: int = 32, segments: int = 16) -> np.ndarray:
    """Per note: band levels of its whole-note spectrum and its level envelope, both in dB.

    Phase-blind, so two renderings of the same sound are close and notes of other pitch, timbre or
    envelope are far; a plain waveform distance would call any two notes far apart."""
    audio = np.asarray(audio, dtype=np.float64)
    power = np.square(np.abs(np.fft.rfft(audio * np.hanning(audio.shape[1]), axis=1)))
    edges = np.unique(np.geomspace(2, power.shape[1], bands + 1).astype(int))
    band_power = np.add.reduceat(power, edges[:-1], axis=1)
    usable = audio.shape[1] // segments * segments
    envelope = np.mean(np.square(audio[:, :usable]).reshape(len(audio), segments, -1), axis=2)
    return np.concatenate([10 * np.log10(band_power + 1e-12), 10 * np.log10(envelope + 1e-12)], axis=1)


def median_pairwise_distance(features: np.ndarray) -> float:
    """Median RMS difference (dB) between the feature rows of every pair of notes."""
    count = len(features)
    if count < 2:
        return 0.0
    diff = features[:, None, :] - features[None, :, :]
    distances = np.sqrt(np.mean(np.square(diff), axis=2))
    return float(np.median(distances[np.triu_indices(count, k=1)]))


def _write_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class TrainingHealth:
    """Watches one training session; `warnings` holds what it found, `as_list()` its JSON form."""

    def __init__(self, cfg: GanConfig, run_dir: Path | None = None,
                 emit: Callable[[str], None] | None = _write_stderr, *, record: bool = True,
                 baseline_checks: int = 10, patience: int = 8, repeat_steps: int | None = None) -> None:
        """`run_dir`: the run (health.jsonl goes there when `record`; its checkpoints are named when the
        run diverges); `emit`: how a warning line reaches the person (None: silent; both off on the
        ranks that do not write). `patience` consecutive bad observations make a warning; the same
        kind is repeated at most every `repeat_steps` steps (default: 50 logged steps)."""
        self.lr = float(cfg.train.lr)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.path = self.run_dir / HEALTH_FILE if self.run_dir is not None and record else None
        self._samples = self.run_dir / "samples" if self.run_dir is not None else "RUN/samples"
        self.emit = emit
        self.baseline_checks, self.patience = baseline_checks, patience
        self.repeat_steps = repeat_steps if repeat_steps is not None else 50 * cfg.train.log_every
        self.warnings: list[HealthWarning] = []
        self._early: dict[str, list[float]] = {"wasserstein": [], "gradient_penalty": []}
        self._audio_checks = 0
        self._streak: dict[str, int] = {}
        self._since: dict[str, int] = {}
        self._last_warned: dict[str, int] = {}

    # --- what the trainer calls -------------------------------------------------------------------

    def diverged(self, step: int, losses: Mapping[str, float]) -> NoReturn:
        """Record and raise TrainingDiverged: the losses of `step` (or another rank's) are not finite."""
        bad = ", ".join(f"{k} = {v}" for k, v in losses.items() if not math.isfinite(v))
        newest = self._newest_checkpoint()
        where = (f"the newest checkpoint (step {newest}) predates it" if newest is not None
                 else "no checkpoint was written yet")
        message = (
            f"training diverged at step {step}: {bad or 'the losses on another process'} (not finite). "
            f"The current weights are broken; {where}. Resume with a lower learning rate: add "
            f"--resume --set train.lr={self.lr / 2:g} to the same `latent gan train` command "
            f"(train.lr is {self.lr:g})"
        )
        self._record(HealthWarning(step, "non_finite", message), announce=False)
        raise TrainingDiverged(message)

    def _rising(self, check: str, loss: str, step: int, value: float, factor: float,
                floor: float) -> tuple[float, float] | None:
        """(early value, limit) when `value` has stayed above max(factor x its early value, floor)
        for `patience` logged steps; None otherwise (or while the early value is being learnt)."""
        early = self._baseline(loss, value)
        if early is None:
            return None
        limit = max(factor * early, floor)
        return (early, limit) if self._persists(check, step, value > limit) else None

    def observe_losses(self, step: int, losses: Mapping[str, float]) -> list[HealthWarning]:
        """A logged step's losses (train_step's dict); returns the warnings it gave rise to."""
        if not losses_finite(losses):
            self.diverged(step, losses)
        found: list[HealthWarning] = []
        wasserstein = abs(float(losses["wasserstein"]))
        penalty = float(losses["gradient_penalty"])
        runaway = self._rising("critic_runaway", "wasserstein", step, wasserstein, RUNAWAY_FACTOR,
                               RUNAWAY_FLOOR)
        if runaway is not None:
            early, limit = runaway
            found.append(self._warn(
                "critic_runaway", step,
                f"the critic is running away: |Wasserstein estimate| {wasserstein:.3g} against "
                f"{early:.3g} early in the session, above {limit:.3g} for the last {self.patience} "
                f"logged steps (since step {self._since['critic_runaway']}); the generator gets no "
                f"useful gradient. Listen to {self._samples}; if the notes are noise, resume from a "
                f"checkpoint before it with a lower learning rate (--set train.lr={self.lr / 2:g})",
                {"wasserstein": wasserstein, "early": early}))
        exploding = self._rising("gradient_penalty", "gradient_penalty", step, penalty, PENALTY_FACTOR,
                                 PENALTY_FLOOR)
        if exploding is not None:
            early, limit = exploding
            found.append(self._warn(
                "gradient_penalty", step,
                f"the gradient penalty is exploding: {penalty:.3g} against {early:.3g} early in "
                f"the session, above {limit:.3g} for the last {self.patience} logged steps (since step "
                f"{self._since['gradient_penalty']}); the critic is no longer held to slope 1. Lower "
                f"train.lr (--set train.lr={self.lr / 2:g}) and resume from a checkpoint before it",
                {"gradient_penalty": penalty, "early": early}))
        return found

    def observe_audio(self, step: int, generated: np.ndarray, real: np.ndarray) -> list[HealthWarning]:
        """A few generated notes (notes, samples) beside real ones of the same batch; the warnings found."""
        generated, real = np.asarray(generated), np.asarray(real)
        found: list[HealthWarning] = []
        self._audio_checks += 1
        if self._audio_checks <= self.baseline_checks:  # an untrained generator is no cause for alarm
            return found
        spread_gen = median_pairwise_distance(note_features(generated))
        spread_real = median_pairwise_distance(note_features(real))
        collapsed = len(generated) >= 2 and spread_real > 0 and spread_gen < COLLAPSE_RATIO * spread_real
        if self._persists("collapse", step, collapsed):
            found.append(self._warn(
                "collapse", step,
                f"the generator has collapsed: its notes differ by {spread_gen:.2g} dB (median over pairs) "
                f"where the real notes of the batch differ by {spread_real:.2g} dB, for the last "
                f"{self.patience} checks (since step {self._since['collapse']}); it makes one sound "
                f"whatever z is. Resume from a checkpoint before it with a lower learning rate "
                f"(--set train.lr={self.lr / 2:g})",
                {"spread_generated_db": spread_gen, "spread_real_db": spread_real}))
        level_gen, level_real = rms_dbfs(generated), rms_dbfs(real)
        gap = level_gen - level_real
        if self._persists("level", step, abs(gap) > LEVEL_GAP_DB):
            found.append(self._warn(
                "level", step,
                f"the generated notes are {abs(gap):.1f} dB {'louder' if gap > 0 else 'quieter'} than "
                f"the training notes ({level_gen:.1f} vs {level_real:.1f} dBFS RMS) for the last "
                f"{self.patience} checks (since step {self._since['level']}); the generator is not "
                "learning the data's loudness (the WAVs of auditions and `latent gan generate` are levelled, "
                "its raw output is not). If it persists, lower train.lr or check that the training "
                "notes are not mostly silence",
                {"level_generated_db": level_gen, "level_real_db": level_real}))
        return found

    def as_list(self) -> list[dict[str, Any]]:
        """The session's warnings as JSON-ready dicts (the training summary's "health")."""
        return [w.as_dict() for w in self.warnings]

    # --- bookkeeping ------------------------------------------------------------------------------

    def _baseline(self, name: str, value: float) -> float | None:
        """The early level of `name` once baseline_checks observations are in; before that, None."""
        early = self._early[name]
        if len(early) < self.baseline_checks:
            early.append(value)
            return None
        return float(np.median(early))

    def _persists(self, kind: str, step: int, bad: bool) -> bool:
        """True when `kind` has been bad for `patience` observations and was not warned of lately."""
        if not bad:
            self._streak[kind] = 0
            return False
        self._streak[kind] = self._streak.get(kind, 0) + 1
        if self._streak[kind] == 1:
            self._since[kind] = step
        last = self._last_warned.get(kind)
        return self._streak[kind] >= self.patience and (last is None or step - last >= self.repeat_steps)

    def _warn(self, kind: str, step: int, message: str, figures: dict[str, float]) -> HealthWarning:
        warning = HealthWarning(step, kind, message, {k: round(v, 4) for k, v in figures.items()})
        self._last_warned[kind] = step
        self._record(warning, announce=True)
        return warning

    def _record(self, warning: HealthWarning, announce: bool) -> None:
        self.warnings.append(warning)
        if announce and self.emit is not None:
            self.emit(f"warning: step {warning.step}: {warning.message}")
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(warning.as_dict()) + "\n")

    def _newest_checkpoint(self) -> int | None:
        if self.run_dir is None:
            return None
        from host_tools.gan.checkpoint import list_checkpoints

        found = list_checkpoints(self.run_dir / "checkpoints")
        return int(found[-1].stem.split("_")[1]) if found else None
