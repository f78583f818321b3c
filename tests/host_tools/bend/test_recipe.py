"""Bend recipes are read strictly, and a recipe naming an unknown layer, cluster, channel or transform
is refused in one line before any note is generated (no output written, no generation started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.cli import main
from device.errors import ConfigError
from host_tools.bank.compile import plan_compile
from host_tools.bend.recipe import load_bend, parse_bend
from host_tools.space import render

from .runs import write_recipe


def test_a_full_recipe_round_trips() -> None:
    recipe = parse_bend({"bend": {"layer": "first", "transform": "rotate", "cluster": 1,
                                  "amount": [0.0, 0.8], "axis_name": "twist", "params": {"degrees": 45}}})
    assert (recipe.layer, recipe.transform, recipe.cluster) == ("first", "rotate", 1)
    assert recipe.amount == (0.0, 0.8)
    assert recipe.params == {"degrees": 45.0}
    assert parse_bend({"bend": recipe.to_config()}) == recipe
    assert parse_bend({"bend": {"layer": "first", "transform": "scale"}}).params == {"factor": 3.0}


@pytest.mark.parametrize(("bend", "words"), [
    ({"layer": "first", "transform": "melt"}, "bend.transform"),
    ({"layer": "first", "transform": "scale", "colour": 1}, "unknown key"),
    ({"layer": "first", "transform": "scale", "params": {"degrees": 3}}, "bend.params.degrees"),
    ({"layer": "first", "transform": "rotate", "params": {"degrees": 400}}, "out of range"),
    ({"layer": "first", "transform": "scale", "amount": [0.0, 1.5]}, "bend.amount"),
    ({"layer": "first", "transform": "scale", "amount": [0.5, 0.5]}, "high must be above low"),
    ({"layer": "first", "transform": "scale", "cluster": 1, "channels": [1]}, "not both"),
    ({"layer": "first", "transform": "scale", "axis_name": "Bend Me"}, "lower-case"),
    ({"transform": "scale"}, "bend.layer"),
])
def test_bad_recipes_are_refused_naming_the_key(bend: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_bend({"bend": bend}, "my.toml")


def test_a_missing_recipe_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_bend(tmp_path / "nope.toml")


@pytest.fixture
def no_generation(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts notes rendered: a refused recipe must render none."""
    calls: list[int] = []
    original = render.render_latents

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(render, "render_latents", counting)
    import host_tools.bend.render as bent
    original_bent = bent.render_bent
    monkeypatch.setattr(bent, "render_bent", lambda *a, **k: calls.append(1) or original_bent(*a, **k))
    return calls


@pytest.mark.parametrize(("body", "words"), [
    ('layer = "blocks.9"\ntransform = "scale"\n', "not a layer of this generator"),
    ('layer = "dense"\ntransform = "scale"\n', "not a bendable layer"),
    ('layer = "first"\ntransform = "scale"\ncluster = 7\n', "cluster 7 does not exist"),
    ('layer = "blocks.0"\ntransform = "scale"\ncluster = 0\n', "no clustering of layer"),
    ('layer = "first"\ntransform = "scale"\nchannels = [3, 99]\n', "channel 99"),
    ('layer = "first"\ntransform = "rotate"\nchannels = [3]\n', "rotate"),
])
def test_unknown_layer_cluster_or_channel_is_refused_before_generation(
        clustered_run: Path, tmp_path: Path, no_generation: list[int], body: str, words: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(tmp_path / "bad.toml", "[bend]\n" + body)
    out = tmp_path / "bank.bundle"
    with pytest.raises(ConfigError, match=words):
        plan_compile(clustered_run, out=out, pitches=[60], pca_axes="0", steps=2, bend=recipe)
    grid_out = tmp_path / "grid"
    capsys.readouterr()
    assert main(["space", "grid", "--run", str(clustered_run), "--axes", "0", "--steps", "2", "--pitch", "60",
                 "--bend", str(recipe), "--out", str(grid_out), "--quiet"]) != 0
    error = capsys.readouterr().err
    assert words in error and len(error.strip().splitlines()) == 1
    assert not grid_out.exists() and not out.exists() and not out.with_name("bank.bundle.partial").exists()
    assert no_generation == []
