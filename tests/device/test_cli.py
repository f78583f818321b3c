"""`latent` as one grammar: every command's help has a working example and the shared option names,
`--json` prints only JSON, old spellings still work, errors are one line (a traceback only with
--debug), and host commands on an install without the host tools say what to install."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from device import cli
from device.cli import EXIT_BUG, EXIT_HOST_TOOLS_MISSING, HOST_TOOLS_HINT, build_parser, main
from device.cli_options import EXAMPLES_HEADING

REPO = Path(__file__).resolve().parents[2]
HOST_COMMANDS = ("bank", "data", "flash", "gan", "keys", "space")
OLD_SPELLINGS = ("train", "generate", "eval")
RETIRED_OPTIONS = {"--rate", "--no-progress", "--progress", "--samplerate", "--sr"}


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser, bool]]:
    """Every parser below `parser`: (command words, parser, listed in its parent's help)."""
    for action in _subparsers(parser):
        listed = {choice.dest for choice in action._choices_actions}
        for name, child in action.choices.items():
            yield (*path, name), child, name in listed
            yield from ((p, c, shown and name in listed) for p, c, shown in _walk(child, (*path, name)))


def _examples(parser: argparse.ArgumentParser) -> list[str]:
    epilog = parser.epilog or ""
    return [line.strip() for line in epilog.splitlines()[1:] if line.strip().startswith("latent")]


ROOT = build_parser()
PARSERS = list(_walk(ROOT))


def test_the_walk_finds_every_command() -> None:
    names = {path for path, _, _ in PARSERS}
    for expected in [("play",), ("bundle", "info"), ("models", "list"), ("install",), ("serve",),
                     ("map", "check"), ("bench", "engine"), ("bank", "compile"), ("bank", "additive"),
                     ("data", "render"), ("flash",), ("keys", "new"), ("space", "grid"),
                     ("gan", "train"), ("gan", "generate"), ("gan", "eval"), ("gan", "export"),
                     ("train", "gan"), ("train", "export"), ("generate",), ("eval",)]:
        assert expected in names
    assert len(PARSERS) > 40


@pytest.mark.parametrize("path", [p for p, _, _ in PARSERS], ids=" ".join)
def test_every_help_ends_with_examples_that_parse(path: tuple[str, ...]) -> None:
    parser = dict((p, c) for p, c, _ in PARSERS)[path]
    assert (parser.epilog or "").startswith((EXAMPLES_HEADING, "examples:")), \
        f"latent {' '.join(path)} --help has no example"
    assert EXAMPLES_HEADING[:-1] in parser.format_help()
    examples = _examples(parser)
    assert examples
    for example in examples:
        argv = shlex.split(example.split(" > ")[0])
        assert argv[0] == "latent"
        words = [w for w in argv[1:] if w != "--debug"]
        if path[0] not in OLD_SPELLINGS:
            # An example shows this command itself (an old spelling may show its new one).
            assert tuple(words[: len(path)]) == path, example
        args = ROOT.parse_args(argv[1:])  # real invocations: they parse, and reach a command
        assert callable(args.func), example


@pytest.mark.parametrize("path", [p for p, _, _ in PARSERS], ids=" ".join)
def test_every_command_uses_the_shared_option_names(path: tuple[str, ...]) -> None:
    parser = dict((p, c) for p, c, _ in PARSERS)[path]
    shown = [a for a in parser._actions if a.help != argparse.SUPPRESS]
    for action in shown:
        options = set(action.option_strings)
        assert not options & RETIRED_OPTIONS, f"latent {' '.join(path)} shows {options & RETIRED_OPTIONS}"
        text = (action.help or "").lower()
        if re.search(r"progress (bar|line)", text) and action.option_strings:
            assert options == {"--quiet"}, f"latent {' '.join(path)}: {options} switches progress"
        if "sample rate" in text and action.option_strings:
            assert options == {"--sample-rate"}, f"latent {' '.join(path)}: {options} sets a sample rate"
        if action.dest == "json":
            assert options == {"--json"}
    help_text = parser.format_help()
    for retired in RETIRED_OPTIONS:
        assert not re.search(rf"(?<![\w-]){re.escape(retired)}(?![\w-])", help_text), retired


def test_old_option_spellings_are_hidden_aliases_of_the_shared_ones() -> None:
    play = ROOT.parse_args(["play", "--rate", "44100"])
    assert play.sample_rate == 44100 and ROOT.parse_args(["play"]).sample_rate == 48000
    render = ROOT.parse_args(["data", "render", "--programs", "0", "--out", "x", "--rate", "22050"])
    assert render.sample_rate == 22050
    compiled = ["bank", "compile", "--run", "r", "--pca-axes", "0", "--pitches", "60", "--out", "o"]
    assert ROOT.parse_args([*compiled, "--no-progress"]).quiet
    assert ROOT.parse_args([*compiled, "--quiet"]).quiet and not ROOT.parse_args(compiled).quiet
    assert ROOT.parse_args(["flash", "b.bundle", "--to", "ssh://pi@x", "--no-progress"]).quiet


def test_top_level_help_lists_the_new_nesting_not_the_old_spellings() -> None:
    listed = set(re.findall(r"^    (\w+)\s", ROOT.format_help(), re.MULTILINE))
    assert set(HOST_COMMANDS) <= listed
    assert not listed & set(OLD_SPELLINGS)
    gan_help = dict((p, c) for p, c, _ in PARSERS)[("gan",)].format_help()
    assert {"train", "generate", "eval", "export"} <= set(re.findall(r"^    (\w+)\s", gan_help, re.MULTILINE))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["train", "gan", "--data", "d", "--out", "r"], ["gan", "train", "--data", "d", "--out", "r"]),
        (["train", "export", "--run", "r", "--out", "m"], ["gan", "export", "--run", "r", "--out", "m"]),
        (["generate", "--run", "r", "--pitch", "C4", "--out", "n.wav"],
         ["gan", "generate", "--run", "r", "--pitch", "C4", "--out", "n.wav"]),
        (["eval", "--run", "r", "--per-pitch", "2"], ["gan", "eval", "--run", "r", "--per-pitch", "2"]),
    ],
)
def test_old_command_spellings_run_the_same_command(old: list[str], new: list[str]) -> None:
    was, now = ROOT.parse_args(old), ROOT.parse_args(new)
    assert was.func is now.func
    keep = {k: v for k, v in vars(now).items() if k not in ("command", "action", "model")}
    assert keep == {k: v for k, v in vars(was).items() if k not in ("command", "action", "model")}


def test_an_old_spelling_still_runs_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["generate", "--run", str(tmp_path / "no-run"), "--pitch", "60",
                 "--out", str(tmp_path / "x.wav")])
    assert code == 1 and "not a training run" in capsys.readouterr().err


def _latent(*argv: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    script = f"{prelude}\nimport sys\nfrom device.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def _only_json(done: subprocess.CompletedProcess[str]) -> object:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # the whole of stdout is one JSON document


def test_json_prints_only_json_on_stdout(tmp_path: Path) -> None:
    from device.store.store import ModelStore

    store = tmp_path / "store"
    ModelStore(store)
    listing = _only_json(_latent("models", "list", "--json", "--store", str(store)))
    assert listing == {"generation": 0, "bundles": []}
    info = _only_json(_latent("bundle", "info", "models/additive-timbre.bundle", "--json"))
    assert isinstance(info, dict) and info["kind"] == "segment-bank"
    compared = _only_json(_latent("space", "compare", "--bundle", "models/additive-timbre.bundle",
                                  "--reference", "models/additive-timbre.bundle", "--json"))
    assert isinstance(compared, dict) and compared["log_mel_error_db"] == 0.0
    done = _latent("models", "log", "--json", "--store", str(store))
    assert done.returncode == 0 and done.stdout == ""  # JSON lines: none recorded, so no lines


def test_an_expected_error_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    done = _latent("bundle", "verify", str(tmp_path / "missing.bundle"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("latent bundle: error: ") and len(done.stderr.splitlines()) == 1
    shown = _latent("--debug", "bundle", "verify", str(tmp_path / "missing.bundle"))
    assert shown.returncode == 1 and "Traceback (most recent call last)" in shown.stderr
    assert shown.stderr.splitlines()[-1] == done.stderr.strip()


def test_an_os_error_about_a_named_file_is_an_expected_error(tmp_path: Path) -> None:
    prelude = ("import device.bundle.cli as c\n"
               "def boom(args):\n"
               "    raise FileNotFoundError(2, 'No such file or directory', args.file)\n"
               "c._verify = boom\n")
    done = _latent("bundle", "verify", "nowhere.bundle", prelude=prelude)
    assert done.returncode == 1
    assert done.stderr == "latent bundle: error: nowhere.bundle: No such file or directory\n"


def test_an_unexpected_exception_is_one_line_naming_it_and_debug_shows_the_traceback() -> None:
    prelude = ("import device.bundle.cli as c\n"
               "def boom(args):\n"
               "    raise KeyError('manifest')\n"
               "c._verify = boom\n")
    done = _latent("bundle", "verify", "x.bundle", prelude=prelude)
    assert done.returncode == EXIT_BUG and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("latent bundle: unexpected KeyError: 'manifest'")
    assert "rerun with `latent --debug ...`" in lines[0]
    shown = _latent("--debug", "bundle", "verify", "x.bundle", prelude=prelude)
    assert shown.returncode == EXIT_BUG and "Traceback (most recent call last)" in shown.stderr
    assert "in boom" in shown.stderr and "KeyError: 'manifest'" in shown.stderr


def test_a_keyboard_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import device.bundle.cli as bundle_cli

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_cli, "_verify", interrupted)
    assert main(["bundle", "verify", "x"]) == 130
    assert capsys.readouterr().err == "latent bundle: interrupted\n"


# A Pi without the host extra: torch cannot be imported (None in sys.modules makes it so).
NO_TORCH = "import sys\nsys.modules['torch'] = None\n"


def test_without_the_host_tools_help_still_lists_every_host_command() -> None:
    done = _latent("--help", prelude=NO_TORCH)
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^    (\w+)\s", done.stdout, re.MULTILINE))
    assert {"play", "bundle", "models", *HOST_COMMANDS} <= listed
    assert not listed & set(OLD_SPELLINGS)
    assert "needs the host tools" in done.stdout


@pytest.mark.parametrize("argv", [["gan", "train", "--data", "d", "--out", "r"],
                                  ["bank", "compile", "--help"], ["data"],
                                  ["flash", "x.bundle", "--to", "ssh://pi@x"], ["keys", "new", "me"],
                                  ["--debug", "space", "pca", "--run", "r"], ["train", "gan"], ["generate"]])
def test_a_host_command_without_the_host_tools_is_one_line(argv: list[str]) -> None:
    done = _latent(*argv, prelude=NO_TORCH)
    command = next(word for word in argv if not word.startswith("-"))
    assert done.returncode == EXIT_HOST_TOOLS_MISSING and done.stdout == ""
    if "--debug" in argv:  # the import error behind it, for whoever debugs the install
        assert "Traceback" in done.stderr and "torch" in done.stderr
        assert done.stderr.splitlines()[-1] == f"latent {command}: {HOST_TOOLS_HINT}"
    else:
        assert done.stderr == f"latent {command}: {HOST_TOOLS_HINT}\n"
    assert HOST_TOOLS_HINT == "this command needs the host tools: pip install 'latent-instrument[host]'"


def test_without_the_host_tools_device_commands_still_run() -> None:
    done = _latent("bundle", "verify", "models/additive-timbre.bundle", prelude=NO_TORCH)
    assert done.returncode == 0 and ": OK (" in done.stdout


def test_a_missing_module_is_found_by_entry_point_name_without_importing_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    fake = [EntryPoint("ghost", "host_tools.no_such_module", cli.HOST_COMMANDS_GROUP)]
    monkeypatch.setattr(cli, "_entry_points", lambda group: fake if group == cli.HOST_COMMANDS_GROUP else [])
    missing: dict[str, BaseException] = {}
    parser = build_parser(missing)
    assert set(missing) == {"ghost"} and isinstance(missing["ghost"], ModuleNotFoundError)
    assert "ghost" in parser.format_help()
    assert main(["ghost", "--anything"]) == EXIT_HOST_TOOLS_MISSING
