"""`latent bank compile` on a micro GAN run: a bundle the device reader and engine accept, resume
after an interruption, and clear errors for bad input before anything is generated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import load_segment_bank
from device.cli import main
from device.errors import ConfigError
from host_tools.bank.compile import compile_bank, level_segments, plan_compile
from host_tools.space.bookmarks import add_bookmark
from host_tools.space.directions import load_directions

from ..space.runs import make_micro_run, make_pca_run


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def pca_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pca_run(tmp_path_factory.mktemp("compile") / "run", 4)


def _request(run: Path, out: Path, **changes):
    options = dict(out=out, pitches=[60, 62], pca_axes="0,1", value_range="-2,2", steps=2,
                   seconds=0.1, offset=0.05, batch=3)
    return plan_compile(run, **{**options, **changes})


def test_compile_writes_a_bank_the_device_reads_and_plays(pca_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bank.bundle"
    assert main(["bank", "compile", "--run", str(pca_run), "--pca-axes", "0,1", "--range", "-1.5,2",
                 "--steps", "2", "--pitches", "60,62", "--seconds", "0.1", "--offset", "0.05",
                 "--codec", "mulaw8", "--batch", "3", "--out", str(out), "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out.split("\nwrote ")[0])
    assert report["segments"] == 8 and report["batches_generated"] == 3
    assert report["bytes"] == out.stat().st_size
    assert len(report["engine_check"]) == 3 and all(c["rms"] > 0 for c in report["engine_check"])
    bank = load_segment_bank(out)
    try:
        described = [(a.name, a.min, a.max, a.steps) for a in bank.axes]
        assert described == [("pc0", -1.5, 2.0, 2), ("pc1", -1.5, 2.0, 2)]
        assert "standard deviations" in bank.axes[0].description
        assert list(bank.pitches) == [60, 62] and bank.codec == "mulaw8"
        assert bank.sample_rate == 16000 and bank.segment_frames == 1600
        config = bank.bundle.manifest["config"]
        assert config["run"] == str(pca_run.resolve()) and config["checkpoint"]["step"] == 1
        assert config["grid"]["kind"] == "pca" and config["grid"]["components"] == [0, 1]
        np.testing.assert_allclose(config["grid"]["directions"], load_directions(pca_run).directions[:2])
        assert bank.bundle.manifest["provenance"]["tool"] == "latent bank compile"
        assert np.ptp(bank.segment((0, 0), 0)) > 0
    finally:
        bank.bundle.close()
    assert not out.with_name("bank.bundle.partial").exists()


def test_window_keeps_the_chosen_part_of_each_note(pca_run: Path, tmp_path: Path) -> None:
    from host_tools.gan.run_dir import generate_audio, load_generator

    out = tmp_path / "window.bundle"
    request = _request(pca_run, out)
    compile_bank(request, progress=False)
    generator, cfg = load_generator(pca_run)
    import torch

    z = torch.from_numpy(request.grid.latents[1, 0][None].astype(np.float32))
    whole = generate_audio(generator, cfg, z, [62])[0]
    bank = load_segment_bank(out)
    try:
        got = bank.segment((1, 0), 1)
        want = level_segments(whole[None, 800:2400], cfg.audio.sample_rate)[0]  # one gain
        np.testing.assert_allclose(got, want, atol=2.0 / 32767 * np.abs(want).max())
    finally:
        bank.bundle.close()


def test_an_interrupted_compile_resumes_without_regenerating(pca_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed.bundle"
    seen: list[int] = []

    def crash_after_first(index: int) -> None:
        seen.append(index)
        raise Interrupted

    with pytest.raises(Interrupted):
        compile_bank(_request(pca_run, out), progress=False, after_batch=crash_after_first)
    assert not out.exists() and seen == [0]
    partial = out.with_name("resumed.bundle.partial")
    assert json.loads((partial / "manifest.json").read_text())["done"] == [0]
    cached = np.load(partial / "batch_00000.npy")

    later: list[int] = []
    report = compile_bank(_request(pca_run, out), progress=False, after_batch=later.append)
    assert later == [1, 2] and report.batches_reused == 1 and report.batches_generated == 2
    bank = load_segment_bank(out)
    try:
        first = np.stack([bank.segment((0, 0), 0), bank.segment((0, 0), 1), bank.segment((0, 1), 0)])
        want = level_segments(cached, 16000)
        np.testing.assert_allclose(first, want, atol=2.0 / 32767 * np.abs(want).max())
    finally:
        bank.bundle.close()
    assert not partial.exists()


def test_a_changed_job_does_not_reuse_the_cache(pca_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "changed.bundle"
    def crash(index: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        compile_bank(_request(pca_run, out), progress=False, after_batch=crash)
    report = compile_bank(_request(pca_run, out, value_range="-1,1"), progress=False)
    assert report.batches_reused == 0 and report.batches_generated == 3


def test_corners_compile_spans_the_four_bookmarks(pca_run: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for name in "abcd":
        add_bookmark(pca_run, f"corner_{name}", {"source": "z", "z": rng.normal(size=8)})
    request = _request(pca_run, tmp_path / "corners.bundle", pca_axes=None,
                       corners=["corner_a", "corner_b", "corner_c", "corner_d"], steps=3)
    np.testing.assert_allclose(request.grid.latents[2, 0], json.loads(
        (pca_run / "space" / "bookmarks.json").read_text())["corner_b"]["z"])
    compile_bank(request, progress=False)
    bank = load_segment_bank(request.out)
    try:
        assert [(a.name, a.min, a.max, a.steps) for a in bank.axes] == [("corner_u", 0.0, 1.0, 3),
                                                                         ("corner_v", 0.0, 1.0, 3)]
        assert bank.bundle.manifest["config"]["grid"]["names"][0] == "corner_a"
    finally:
        bank.bundle.close()


BAD_INPUT = [
    (dict(pca_axes="0,4"), "component 4 does not exist; the run's PCA stores components 0..3"),
    (dict(pca_axes="0,x"), "--axes '0,x' is not a comma-separated list"),
    (dict(value_range="-2,two"), "--range '-2,two' is not a comma-separated list of numbers"),
    (dict(value_range="2,-2"), "two increasing numbers"),
    (dict(pca_axes=None, corners=["a", "b", "c", "nowhere"]), "unknown bookmark 'a'"),
    (dict(pca_axes=None, corners=["a", "b"]), "four bookmark names"),
    (dict(pitches=[60, 70]), "pitch 70 was not trained; this run knows 60..62"),
    (dict(seconds=1.0), "does not fit the run's 0.250 s notes"),
    (dict(codec="mp3"), "--codec 'mp3' is unknown"),
    (dict(steps=1), "--steps 1 is too few"),
    (dict(corners=["a", "b", "c", "d"]), "either --pca-axes"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_INPUT)
def test_bad_input_is_refused_before_generation(pca_run: Path, tmp_path: Path, changes, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        _request(pca_run, tmp_path / "bad.bundle", **changes)
    assert not list(tmp_path.iterdir())


def test_a_run_without_pca_is_refused_by_the_cli(tmp_path: Path, capsys) -> None:
    run = make_micro_run(tmp_path / "bare")
    out = tmp_path / "none.bundle"
    assert main(["bank", "compile", "--run", str(run), "--pca-axes", "0,1", "--pitches", "60-61",
                 "--out", str(out)]) == 1
    assert "no latent directions yet" in capsys.readouterr().err
    assert not out.exists() and not out.with_name("none.bundle.partial").exists()


def test_every_segment_is_levelled_and_none_reaches_full_scale() -> None:
    rate = 16000
    t = np.arange(rate // 2) / rate
    loud = 8.0 * np.sin(2 * np.pi * 220 * t)               # 18 dB over full scale
    quiet = 0.001 * np.sin(2 * np.pi * 220 * t)
    spiky = 0.01 * np.sin(2 * np.pi * 220 * t)
    spiky[100] = 0.9                                       # one spike: the ceiling, not the loudness, rules
    out = level_segments(np.stack([loud, quiet, spiky, np.zeros_like(t)]).astype(np.float32), rate)
    from host_tools.bank.compile import CEILING_DBFS, LEVEL_DB
    from host_tools.bank.loudness import k_weighted_rms, to_db

    levels = to_db(k_weighted_rms(out[:2], rate))
    np.testing.assert_allclose(levels, LEVEL_DB, atol=0.01)
    assert np.max(np.abs(out)) <= 10 ** (CEILING_DBFS / 20) + 1e-6
    assert np.max(np.abs(out[2])) == pytest.approx(10 ** (CEILING_DBFS / 20), rel=1e-5)
    np.testing.assert_allclose(out[0] / out[0].max(), loud / loud.max(), atol=1e-6)  # a gain, no clipping
    assert not out[3].any()


def test_axes_are_named_by_what_they_move(pca_run: Path, tmp_path: Path) -> None:
    from host_tools.bank.compile_cli import parse_axis_names

    names = parse_axis_names("brightness=darker to brighter, noise")
    assert names == [("brightness", "darker to brighter"), ("noise", "")]
    request = _request(pca_run, tmp_path / "named.bundle", axis_names=names)
    assert [a.name for a in request.grid.axes] == ["brightness", "noise"]
    assert request.grid.axes[0].description.startswith("darker to brighter; GANSpace direction 0")
    with pytest.raises(ConfigError, match="names 1 axes"):
        _request(pca_run, tmp_path / "x.bundle", axis_names=[("one", "")])
    with pytest.raises(ConfigError, match="lower-case word"):
        parse_axis_names("Bright Ness")
