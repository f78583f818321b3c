"""Loud failures during training: TrainingHealth on made-up loss sequences and notes, and in a run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from host_tools.gan.checkpoint import list_checkpoints
from host_tools.gan.run_dir import RunLayout
from host_tools.gan.trainer import GanTrainer
from host_tools.gan.training_health import HEALTH_FILE, TrainingDiverged, TrainingHealth

from .micro import micro_config

RATE = 16000


def _monitor(tmp_path: Path, lines: list[str], **options: int) -> TrainingHealth:
    cfg = micro_config(**{"train.lr": 0.0005, "train.log_every": 10})
    return TrainingHealth(cfg, tmp_path, emit=lines.append, **options)


def _losses(wasserstein: float, penalty: float) -> dict[str, float]:
    return {"d_loss": penalty * 10 - wasserstein, "g_loss": 1.0, "wasserstein": wasserstein,
            "gradient_penalty": penalty, "aux_real": 1.0, "aux_fake": 1.0}


def _notes(pitches: list[int], level: float = 0.3, seconds: float = 0.5) -> np.ndarray:
    """Decaying harmonic notes of differing pitch and brightness, like a real batch."""
    t = np.arange(int(seconds * RATE)) / RATE
    notes = []
    for i, pitch in enumerate(pitches):
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
        rolloff = 0.2 + 0.15 * i
        tone = sum(rolloff**k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(8))
        notes.append(level * tone / np.max(np.abs(tone)) * np.exp(-(1 + i) * t))
    return np.asarray(notes, dtype=np.float32)


BATCH = [60, 62, 64, 65, 67, 69]


def test_a_healthy_run_gives_no_warning(tmp_path: Path) -> None:
    lines: list[str] = []
    health = _monitor(tmp_path, lines)
    rng = np.random.default_rng(0)
    for check in range(100):
        step = 10 * (check + 1)
        # W rises from ~0 to a plateau of a few units while the penalty settles: a normal WGAN-GP.
        wasserstein = min(3.0, 0.05 + 0.05 * check) * (1 + 0.3 * rng.standard_normal())
        assert health.observe_losses(step, _losses(wasserstein, 0.7 * math.exp(-check / 30) + 0.05)) == []
        generated = _notes(BATCH, level=0.2) + 0.01 * rng.standard_normal((6, RATE // 2)).astype(np.float32)
        assert health.observe_audio(step, generated, _notes(BATCH[::-1])) == []
    assert lines == [] and health.as_list() == [] and not (tmp_path / HEALTH_FILE).exists()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_losses_stop_the_run_naming_the_step(tmp_path: Path, bad: float) -> None:
    health = _monitor(tmp_path, [])
    health.observe_losses(10, _losses(1.0, 0.5))
    with pytest.raises(TrainingDiverged, match=r"training diverged at step 20: d_loss = (nan|inf) \(not "
                                              r"finite\).*no checkpoint was written yet.*--resume --set "
                                              r"train\.lr=0\.00025"):
        health.observe_losses(20, {**_losses(1.0, 0.5), "d_loss": bad})
    record = json.loads((tmp_path / HEALTH_FILE).read_text())
    assert record["step"] == 20 and record["kind"] == "non_finite"


def test_a_runaway_critic_and_an_exploding_penalty_warn_once_per_stretch(tmp_path: Path) -> None:
    lines: list[str] = []
    health = _monitor(tmp_path, lines, repeat_steps=300)
    found = []
    for check in range(10):  # the early level: |W| about 2, penalty about 0.3
        found += health.observe_losses(10 * (check + 1), _losses(2.0 + 0.1 * check, 0.3))
    for check in range(30):  # then the critic wins outright: W climbs past 60, the penalty past 20
        found += health.observe_losses(110 + 10 * check, _losses(30.0 + 3 * check, 20.0 + check))
    kinds = [(w.kind, w.step) for w in found]
    # Eight bad logged steps in a row (110..180) make a warning; the same kind waits 300 steps to repeat.
    assert kinds == [("critic_runaway", 180), ("gradient_penalty", 180)]
    assert len(lines) == 2 and lines[0].startswith("warning: step 180: the critic is running away: "
                                                   "|Wasserstein estimate| 51 against 2.45 early")
    assert "--set train.lr=0.00025" in lines[0]
    saved = [json.loads(line) for line in (tmp_path / HEALTH_FILE).read_text().splitlines()]
    assert [(r["kind"], r["step"], r["early"]) for r in saved] == [
        ("critic_runaway", 180, 2.45), ("gradient_penalty", 180, 0.3)]
    assert health.as_list() == [w.as_dict() for w in found]


def test_nearly_identical_generated_notes_warn_of_collapse(tmp_path: Path) -> None:
    lines: list[str] = []
    health = _monitor(tmp_path, lines)
    rng = np.random.default_rng(1)
    one = _notes([62])
    found = []
    for check in range(20):
        generated = np.repeat(one, 6, axis=0) + 1e-4 * rng.standard_normal((6, RATE // 2)).astype(np.float32)
        found += health.observe_audio(10 * (check + 1), generated, _notes(BATCH))
    assert [(w.kind, w.step) for w in found] == [("collapse", 180)]  # 10 warm-up checks, then 8 bad
    assert found[0].figures["spread_generated_db"] < 0.1 * found[0].figures["spread_real_db"]
    assert "the generator has collapsed" in lines[0]


def test_a_20_db_level_gap_warns(tmp_path: Path) -> None:
    lines: list[str] = []
    health = _monitor(tmp_path, lines)
    found = []
    for check in range(20):
        found += health.observe_audio(10 * (check + 1), 0.1 * _notes(BATCH[::-1]), _notes(BATCH))
    assert [(w.kind, w.step) for w in found] == [("level", 180)]
    assert "the generated notes are 20.0 dB quieter than the training notes" in lines[0]


def test_a_diverging_run_stops_before_saving_and_names_the_last_checkpoint(
    micro_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_step = GanTrainer.train_step

    def step_that_diverges(self: GanTrainer, audio, labels) -> dict[str, float]:
        losses = real_step(self, audio, labels)
        return {**losses, "g_loss": math.nan} if self.step == 2 else losses  # the 3rd step

    monkeypatch.setattr(GanTrainer, "train_step", step_that_diverges)
    run = tmp_path / "run"
    trainer = GanTrainer(micro_data, micro_config(), run, resume=False, progress=False)
    with pytest.raises(TrainingDiverged, match=r"at step 3: g_loss = nan.*newest checkpoint \(step 2\)"):
        trainer.run(4)
    assert [p.name for p in list_checkpoints(RunLayout(run).checkpoints)] == ["step_00000002.json"]
    assert json.loads((run / HEALTH_FILE).read_text())["kind"] == "non_finite"
