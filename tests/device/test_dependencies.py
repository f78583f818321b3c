"""The device extra is honest: it lists exactly what device/ imports (directly or through the
packages it lists), so a Pi installs nothing it does not run and misses nothing it needs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    device = {_name(r) for r in project["optional-dependencies"]["device"]}
    return core, device


def _imported_top_levels() -> set[str]:
    """Top-level names of every module device/ imports, at module level or inside functions."""
    found: set[str] = set()
    for path in (REPO / "device").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"device", "__future__"}


def _closure(names: set[str]) -> set[str]:
    """The distributions `names` install, with everything they require (extras not followed)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def _distributions_of(modules: set[str]) -> dict[str, set[str]]:
    providers = metadata.packages_distributions()
    return {m: {d.lower().replace("_", "-") for d in providers.get(m, [])} for m in modules}


def test_everything_device_imports_is_installed_by_the_device_extra() -> None:
    core, device = _declared()
    installed = _closure(core | device)
    missing = {module: dists for module, dists in _distributions_of(_imported_top_levels()).items()
               if not dists & installed}
    assert not missing, f"device/ imports these, but the device extra does not install them: {missing}"


def test_every_package_of_the_device_extra_is_imported_by_device() -> None:
    _, device = _declared()
    used = set().union(*_distributions_of(_imported_top_levels()).values())
    unused = device - used
    assert not unused, f"the device extra lists packages device/ never imports: {sorted(unused)}"


def test_torch_and_tqdm_are_not_device_dependencies() -> None:
    core, device = _declared()
    assert not {"torch", "tqdm", "onnx"} & (core | device)
    # The rnn engine runs its model with onnxruntime alone; the onnx package (graph tools) stays host-side.
    assert "onnxruntime" in device
