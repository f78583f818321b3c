"""Crash table: an install cut off at every file-system step (power cut, renamed-but-empty files,
killed process) and at many byte offsets of the transfer always restarts on a complete bundle."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from device.bundle.reader import open_bundle
from device.store.incoming import TransferOffer
from device.store.powercut import MODES, PowerCut, PowerCutFs
from device.store.store import InstallOptions, ModelStore

from .bundles import TEST_POLICY, make_bundle, make_key, new_store, sha256_of, sign

Scenario = Callable[[ModelStore], None]


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """A store with bundle A active, and bundle B (signed) ready to go in."""
    private, public = make_key(tmp_path)
    a = make_bundle(tmp_path / "a.bundle", version=1, seed=1)
    b = make_bundle(tmp_path / "b.bundle", version=2, seed=2, frames=900)
    template = tmp_path / "template"
    store = new_store(template, public)
    store.install_file(a, sign(a, private))
    store.report_trial_ok()
    return {"tmp": tmp_path, "template": template, "a": a, "b": b, "sig_b": sign(b, private),
            "sha_a": sha256_of(a), "sha_b": sha256_of(b)}


def _transfer_in_pieces(bundle: Path, signature: dict, piece: int) -> Scenario:
    data = bundle.read_bytes()

    def run(store: ModelStore) -> None:
        incoming = store.offer(TransferOffer("b.bundle", len(data), sha256_of(bundle), signature))
        while not incoming.complete:
            incoming.write(incoming.offset, data[incoming.offset:incoming.offset + piece])
        store.install_incoming(incoming)
    return run


def _check_restarts_clean(root: Path, allowed: set[str]) -> str:
    """Reopen the store as the service would, and check that it plays a complete bundle."""
    store = ModelStore(root, policy=TEST_POLICY)
    active = store.pointer.active
    assert active in allowed, f"active is {active}, expected one of {allowed}"
    path = store.active_path()
    assert path is not None
    assert sha256_of(path) == active, "the active file's bytes do not hash to its name"
    with open_bundle(path, verify=True):
        pass
    assert store.pointer.previous is None or store.pointer.previous in allowed
    leftovers = [p.name for p in root.rglob("*") if ".tmp-" in p.name]
    assert not leftovers, f"temporaries survived recovery: {leftovers}"
    return active


def _count_steps(world: dict, scenario: Scenario) -> list[str]:
    live = world["tmp"] / "count"
    shutil.copytree(world["template"], live)
    fs = PowerCutFs(live)
    scenario(ModelStore(live, policy=TEST_POLICY, fs=fs))
    return fs.steps


def _cut_table(world: dict, scenario: Scenario, final: str, resume: Scenario | None = None) -> int:
    steps = _count_steps(world, scenario)
    allowed = {world["sha_a"], world["sha_b"]}
    failures = []
    for cut in range(len(steps) + 1):
        live = world["tmp"] / f"cut{cut}"
        shutil.copytree(world["template"], live)
        fs = PowerCutFs(live, cut_before=cut)
        try:
            scenario(ModelStore(live, policy=TEST_POLICY, fs=fs))
            assert cut == len(steps), "the scenario finished before its cut point"
        except PowerCut:
            assert cut < len(steps)
        for mode in MODES:
            image = world["tmp"] / f"cut{cut}-{mode}"
            fs.materialize(image, mode)
            where = f"cut before step {cut} ({steps[cut] if cut < len(steps) else 'after the end'}), {mode}"
            try:
                active = _check_restarts_clean(image, allowed)
                if cut == len(steps):
                    assert active == world[final], "the finished scenario's outcome did not survive"
                if resume is not None:
                    resume(ModelStore(image, policy=TEST_POLICY))
                    assert _check_restarts_clean(image, allowed) == world["sha_b"], "resume failed"
            except AssertionError as bad:
                failures.append(f"{where}: {bad}")
            shutil.rmtree(image)
        shutil.rmtree(live)
    assert not failures, "\n".join(failures)
    return len(steps)


def test_install_survives_a_cut_at_every_step(world: dict) -> None:
    install = _transfer_in_pieces(world["b"], world["sig_b"], piece=1000)
    steps = _cut_table(world, install, "sha_b", resume=install)
    # one cut point per write of the transfer at least: this is the "many byte offsets" part
    assert steps > os.path.getsize(world["b"]) // 1000


def test_resume_after_a_power_cut_keeps_only_synced_bytes(world: dict) -> None:
    data = world["b"].read_bytes()
    live = world["tmp"] / "live"
    shutil.copytree(world["template"], live)
    fs = PowerCutFs(live)
    store = ModelStore(live, policy=TEST_POLICY, fs=fs)
    incoming = store.offer(TransferOffer("b.bundle", len(data), world["sha_b"], world["sig_b"]))
    for offset in range(0, 9000, 1000):
        incoming.write(offset, data[offset:offset + 1000])
    fs.materialize(world["tmp"] / "after", "power")
    resumed = ModelStore(world["tmp"] / "after", policy=TEST_POLICY).offer(
        TransferOffer("b.bundle", len(data), world["sha_b"], world["sig_b"]))
    # synced once 4096 bytes are pending: after the 5th write; the next 4000 bytes were never synced
    assert resumed.offset == 5000
    assert resumed.prefix_sha256() == hashlib.sha256(data[:5000]).hexdigest()


def test_activate_rollback_and_remove_survive_a_cut_at_every_step(world: dict) -> None:
    def juggle(store: ModelStore) -> None:
        store.install_file(world["b"], world["sig_b"], InstallOptions(activate=False))
        store.activate("pads@2")
        store.rollback()
        store.rollback()
        store.remove(world["sha_a"][:12])

    _cut_table(world, juggle, "sha_b")


def test_failed_trial_survives_a_cut_at_every_step(world: dict) -> None:
    def fail_trial(store: ModelStore) -> None:
        store.install_file(world["b"], world["sig_b"])
        store.note_service_start()
        store.report_trial_failed("silent for the first 3 s")

    _cut_table(world, fail_trial, "sha_a")


def test_install_killed_at_every_step_in_a_child_process(world: dict) -> None:
    """A real SIGKILL at each step: what the kernel already has survives, the process does not."""
    install = _transfer_in_pieces(world["b"], world["sig_b"], piece=3000)
    steps = _count_steps(world, install)
    allowed = {world["sha_a"], world["sha_b"]}
    for cut in range(len(steps) + 1):
        live = world["tmp"] / f"kill{cut}"
        shutil.copytree(world["template"], live)
        pid = os.fork()
        if pid == 0:  # child: run the install and die by SIGKILL at the cut point
            try:
                fs = PowerCutFs(live, cut_before=cut, on_cut=lambda why: os.kill(os.getpid(), signal.SIGKILL))
                install(ModelStore(live, policy=TEST_POLICY, fs=fs))
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if cut < len(steps):
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, steps[cut]
        active = _check_restarts_clean(live, allowed)
        if cut == len(steps):
            assert active == world["sha_b"]
        install(ModelStore(live, policy=TEST_POLICY))
        assert _check_restarts_clean(live, allowed) == world["sha_b"]
