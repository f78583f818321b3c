"""`latent gan export`: a run's generator as a small model directory every later tool reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from device.cli import main
from device.errors import ConfigError
from host_tools.errors import CheckpointError
from host_tools.gan.export import export_model
from host_tools.gan.run_dir import generate_audio, load_generator
from host_tools.gan.trainer import GanTrainer

from .micro import micro_ddsp_config


@pytest.fixture(scope="module")
def ddsp_run(micro_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("export") / "run"
    GanTrainer(micro_data, micro_ddsp_config(), run, resume=False, progress=False).run(2)
    return run


def test_an_exported_model_generates_exactly_what_the_run_does(ddsp_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    assert main(["gan", "export", "--run", str(ddsp_run), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "data.json", "generator.json", "generator.safetensors", "space"]
    assert json.loads((out / "generator.json").read_text())["step"] == 2
    assert "level" in json.loads((out / "data.json").read_text())
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    from_run = generate_audio(*load_generator(ddsp_run), z, [60, 62])
    generator, cfg = load_generator(out)
    assert (generate_audio(generator, cfg, z, [60, 62]) == from_run).all()
    # exporting again replaces the model directory, nothing else
    assert main(["gan", "export", "--run", str(ddsp_run), "--out", str(out)]) == 0


def test_a_damaged_export_is_refused_by_name(ddsp_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    main(["gan", "export", "--run", str(ddsp_run), "--out", str(out)])
    weights = out / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="damaged"):
        load_generator(out)


def test_export_refuses_to_replace_a_directory_that_is_not_a_model(ddsp_run: Path, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not an exported model"):
        export_model(ddsp_run, tmp_path / "mine")
    assert main(["gan", "export", "--run", str(ddsp_run), "--out", str(tmp_path / "mine")]) != 0
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"
