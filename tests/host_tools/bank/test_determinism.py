"""Building twice from one recipe gives byte-identical payloads; the seed is what varies them."""

from __future__ import annotations

import json
from pathlib import Path

from device.bundle.format import HEADER, HEADER_SIZE
from host_tools.bank.build import build_additive_bundle
from host_tools.bank.recipe import AdditiveRecipe, parse_recipe

from .conftest import SMALL_RECIPE


def _split(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    manifest_len = HEADER.unpack_from(data, 0)[2]
    manifest = json.loads(data[HEADER_SIZE:HEADER_SIZE + manifest_len])
    first = min(entry["offset"] for entry in manifest["payloads"].values())
    return manifest, data[first:]


def test_two_builds_have_identical_payloads(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    first, first_payload = _split(build_additive_bundle(small_recipe, tmp_path / "a.bundle").path)
    second, second_payload = _split(build_additive_bundle(small_recipe, tmp_path / "b.bundle").path)
    assert first_payload == second_payload
    assert first["payloads"] == second["payloads"]
    first.pop("created")
    second.pop("created")
    assert first == second


def test_another_seed_gives_other_payloads(tmp_path: Path, small_recipe: AdditiveRecipe) -> None:
    reseeded = parse_recipe({**SMALL_RECIPE, "seed": small_recipe.seed + 1})
    first, _ = _split(build_additive_bundle(small_recipe, tmp_path / "a.bundle").path)
    other, _ = _split(build_additive_bundle(reseeded, tmp_path / "b.bundle").path)
    assert first["payloads"]["segments"]["sha256"] != other["payloads"]["segments"]["sha256"]


def test_a_pitch_sounds_the_same_whatever_other_pitches_the_bank_holds(tmp_path: Path) -> None:
    from device.bundle.reader import load_segment_bank

    wide = load_segment_bank(build_additive_bundle(
        parse_recipe({**SMALL_RECIPE, "pitches": {"low": 36, "high": 84, "step": 24}}), tmp_path / "w.bundle"
    ).path)
    narrow = load_segment_bank(build_additive_bundle(
        parse_recipe({**SMALL_RECIPE, "pitches": {"low": 60, "high": 60, "step": 1}}), tmp_path / "n.bundle"
    ).path)
    assert (wide.segments[:, :, 1] == narrow.segments[:, :, 0]).all()
