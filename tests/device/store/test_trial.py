"""Trial and rollback: a new bundle that fails to load, sounds silent or NaN, or crash-loops the
service is replaced by the previous one, and the failure is logged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import load_segment_bank
from device.errors import StoreError
from device.store.monitor import TrialMonitor
from device.store.policy import DevicePolicy, TrialPolicy
from device.store.store import ModelStore
from device.store.trial import FAILED, PASSED, PENDING, AudioProbe

from .bundles import make_bundle, make_key, new_store, sign

RATE = 16000
POLICY = DevicePolicy(reserve_bytes=0, trial=TrialPolicy(probe_seconds=0.5, crash_window_s=60, max_crashes=2))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kit(tmp_path: Path) -> dict:
    private, public = make_key(tmp_path)
    clock = Clock()
    store = new_store(tmp_path / "store", public, policy=POLICY, clock=clock)
    bundles = {v: make_bundle(tmp_path / f"v{v}.bundle", version=v, seed=v) for v in (1, 2)}
    store.install_file(bundles[1], sign(bundles[1], private))
    store.report_trial_ok()
    store.install_file(bundles[2], sign(bundles[2], private))
    return {"store": store, "clock": clock, "v1": store.find("pads@1"), "v2": store.find("pads@2")}


def _tone(frames: int) -> np.ndarray:
    return (0.3 * np.sin(np.arange(frames) * 0.05)).astype(np.float32)


def test_probe_verdicts() -> None:
    policy = TrialPolicy(probe_seconds=0.1)
    loud, silent, nan = (AudioProbe(RATE, policy) for _ in range(3))
    for _ in range(24):  # 24 blocks of 64 frames = 0.096 s: not yet judged
        assert loud.observe(_tone(64)) == PENDING
        assert silent.observe(np.zeros(64, np.float32)) == PENDING
    assert loud.observe(_tone(64)) == PASSED
    assert silent.observe(np.full(64, 1e-6, np.float32)) == FAILED and "silent" in silent.reason
    block = _tone(64)
    block[7] = np.nan
    assert nan.observe(block) == FAILED and "NaN" in nan.reason
    stereo = AudioProbe(RATE, policy)
    inf = np.zeros((64, 2), np.float32)
    inf[3, 1] = np.inf
    assert stereo.observe(inf) == FAILED


def test_sound_passes_the_trial(kit: dict) -> None:
    store: ModelStore = kit["store"]
    monitor = TrialMonitor(store, sample_rate=RATE)
    _, path = monitor.load_active(load_segment_bank)
    assert path == kit["v2"].path and store.on_trial
    while store.on_trial:
        assert not monitor.observe(_tone(256))
    assert store.active().version == 2 and store.failures() == []
    assert ModelStore(store.layout.root, policy=POLICY).on_trial is False  # durable


@pytest.mark.parametrize("block, reason", [
    (np.zeros(256, np.float32), "stayed silent for the first 0.5 s"),
    (np.full(256, np.nan, np.float32), "NaN or infinite samples"),
])
def test_silence_or_nan_rolls_back(kit: dict, block: np.ndarray, reason: str) -> None:
    store: ModelStore = kit["store"]
    monitor = TrialMonitor(store, sample_rate=RATE)
    monitor.load_active(load_segment_bank)
    generation = store.generation
    rolled = False
    for _ in range(100):
        rolled = monitor.observe(block)
        if rolled:
            break
    assert rolled and store.active().version == 1 and store.generation == generation + 1
    assert store.pointer.previous is None  # the failed bundle is not offered for rollback again
    entry = store.failures()[-1]
    assert reason in entry["reason"] and entry["name"] == "pads v2"
    assert entry["action"] == f"rolled back to {kit['v1'].label()}"
    _, path = monitor.load_active(load_segment_bank)
    assert path == kit["v1"].path
    assert not monitor.observe(block)  # the restored bundle is not on trial


def test_a_bundle_that_fails_to_load_is_rolled_back_and_the_previous_one_loaded(kit: dict) -> None:
    store: ModelStore = kit["store"]
    loaded = []

    def engine(path: Path) -> str:
        loaded.append(path)
        if path == kit["v2"].path:
            raise ValueError("segment bank has 3 axes, engine supports 2")
        return "engine"

    result, path = TrialMonitor(store, sample_rate=RATE).load_active(engine)
    assert (result, path) == ("engine", kit["v1"].path) and loaded == [kit["v2"].path, kit["v1"].path]
    assert "failed to load the bundle: segment bank has 3 axes" in store.failures()[-1]["reason"]


def test_a_load_failure_with_nothing_to_fall_back_to_is_an_error(tmp_path: Path) -> None:
    private, public = make_key(tmp_path)
    store = new_store(tmp_path / "store", public, policy=POLICY)
    only = make_bundle(tmp_path / "only.bundle")
    store.install_file(only, sign(only, private))

    def broken(path: Path) -> None:
        raise RuntimeError("no audio device")

    with pytest.raises(StoreError, match="nothing to roll back to: no audio device"):
        TrialMonitor(store, sample_rate=RATE).load_active(broken)
    assert store.active_path() is not None and "cannot roll back" in store.failures()[-1]["action"]


def test_crash_loop_within_the_window_rolls_back(kit: dict) -> None:
    store: ModelStore = kit["store"]
    clock: Clock = kit["clock"]
    assert not store.note_service_start()
    clock.now += 20
    assert not store.note_service_start()
    clock.now += 20
    assert store.note_service_start()  # third start within 60 s: two crashes too many
    assert store.active().version == 1
    assert "started 3 times within 60 s" in store.failures()[-1]["reason"]


def test_starts_spread_beyond_the_window_do_not_count(kit: dict) -> None:
    store: ModelStore = kit["store"]
    clock: Clock = kit["clock"]
    for _ in range(5):
        assert not store.note_service_start()
        clock.now += 45
    assert store.active().version == 2 and store.on_trial
    store.report_trial_ok()
    for _ in range(5):
        assert not store.note_service_start()  # off trial, starts are not counted at all
    assert store.failures() == []
