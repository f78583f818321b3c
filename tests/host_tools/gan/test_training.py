"""Training on the micro data set: a run's files, bit-for-bit resume, DDP path, generation."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from host_tools.gan.checkpoint import list_checkpoints
from host_tools.gan.config import note_samples
from host_tools.gan.levelling import CEILING
from host_tools.gan.run_dir import RunLayout, generate_audio, load_generator
from host_tools.gan.trainer import GanTrainer

from .micro import micro_config


def _train(data: Path, out: Path, steps: int, resume: bool = False) -> dict:
    return GanTrainer(data, micro_config(), out, resume=resume, progress=False).run(steps)


def _newest_tensors(run: Path) -> dict:
    newest = list_checkpoints(RunLayout(run).checkpoints)[-1]
    return torch.load(newest.with_suffix(".pt"), weights_only=True)


def _flatten(tree: object, prefix: str = "") -> dict[str, object]:
    if isinstance(tree, dict):
        out: dict[str, object] = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}{key}/"))
        return out
    if isinstance(tree, (list, tuple)):
        return _flatten(dict(enumerate(tree)), prefix)
    return {prefix: tree}


def _assert_identical(a: dict, b: dict) -> None:
    flat_a, flat_b = _flatten(a), _flatten(b)
    assert flat_a.keys() == flat_b.keys()
    tensors = 0
    for key, value in flat_a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, flat_b[key]), key
            tensors += 1
        else:
            assert value == flat_b[key], key
    assert tensors > 20


def test_a_run_writes_its_layout_and_resumes_bit_for_bit(micro_data: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    summary = _train(micro_data, straight, 4)
    assert summary["step"] == 4 and not summary["interrupted"]

    layout = RunLayout(straight)
    assert json.loads(layout.config.read_text()) == micro_config().to_dict()
    saved = [p.name for p in list_checkpoints(layout.checkpoints)]
    assert saved == ["step_00000002.json", "step_00000004.json"]
    rows = [json.loads(line) for line in layout.metrics.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)
    assert layout.loss_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    audio, rate = soundfile.read(layout.samples / "step_00000004.wav")
    assert rate == 16000 and len(audio) > 2 * note_samples(micro_config())  # 1 z x 2 pitches + gaps
    # Auditions are levelled like the training notes (recorded in data.json) and never reach full scale.
    assert json.loads(layout.data_record.read_text())["level"]["notes"] == 6
    assert np.max(np.abs(audio)) <= CEILING + 1 / 32768

    _train(micro_data, split, 2)
    assert _train(micro_data, split, 4, resume=True)["steps_this_session"] == 2
    _assert_identical(_newest_tensors(straight), _newest_tensors(split))


def test_load_generator_makes_notes_of_the_configured_shape_and_features(
    micro_data: Path, tmp_path: Path
) -> None:
    _train(micro_data, tmp_path / "run", 2)
    generator, cfg = load_generator(tmp_path / "run")
    assert cfg == micro_config() and not generator.training
    z = torch.randn(3, 8)
    audio = generate_audio(generator, cfg, z, [60, 61, 62])
    assert audio.shape == (3, 4000) and audio.dtype == np.float32 and np.all(np.isfinite(audio))
    assert np.max(np.abs(audio)) > 0
    out, features = generator(z, torch.tensor([0, 1, 2]), return_features=True)
    assert features.shape == (3, 8, 16, 16)  # first conv block: channels[0] x start size
    assert torch.equal(generator.from_features(features, torch.tensor([0, 1, 2])), out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_torchrun_path_with_one_process_trains_as_the_plain_run(
    micro_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _train(micro_data, tmp_path / "plain", 2)
    for key, value in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    trainer = GanTrainer(micro_data, micro_config(), tmp_path / "ddp", resume=False, progress=False)
    assert trainer.dist.distributed and type(trainer.d_train).__name__ == "DistributedDataParallel"
    trainer.run(2)
    assert not torch.distributed.is_initialized()
    _assert_identical(_newest_tensors(tmp_path / "plain"), _newest_tensors(tmp_path / "ddp"))


def _ddp_worker(rank: int, data: str, out: str, port: int) -> None:
    import os

    os.environ.update({"WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    GanTrainer(data, micro_config(), out, resume=False, progress=False).run(2)


def test_two_gloo_processes_train_one_run_written_by_rank_zero(micro_data: Path, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    run = tmp_path / "ddp2"
    mp.spawn(_ddp_worker, args=(str(micro_data), str(run), _free_port()), nprocs=2, join=True)
    layout = RunLayout(run)
    assert [json.loads(line)["step"] for line in layout.metrics.read_text().splitlines()] == [1, 2]
    assert [p.name for p in list_checkpoints(layout.checkpoints)] == ["step_00000002.json"]
    generator, _ = load_generator(run)
    assert all(torch.isfinite(p).all() for p in generator.parameters())


def test_streaming_from_disk_trains_exactly_as_preloading(micro_data: Path, tmp_path: Path) -> None:
    _train(micro_data, tmp_path / "preloaded", 4)
    streamed = micro_config(data__preload=False)
    GanTrainer(micro_data, streamed, tmp_path / "streamed", resume=False, progress=False).run(4)
    _assert_identical(_newest_tensors(tmp_path / "preloaded"), _newest_tensors(tmp_path / "streamed"))
