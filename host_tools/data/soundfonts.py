"""Finding a General MIDI soundfont at the paths Linux distributions install them to (host data layer).

`find_soundfont()` returns the best one installed (FluidR3_GM's larger sample set before TimGM6mb's),
or raises DatasetError that says which packages provide one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from host_tools.errors import DatasetError

SOUNDFONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/local/share/soundfonts"),
)
# Best first. default-GM.* are Debian's alternatives links to whichever GM font is installed.
SOUNDFONT_NAMES: tuple[str, ...] = (
    "FluidR3_GM.sf2",
    "FluidR3_GM.sf3",
    "MuseScore_General.sf2",
    "MuseScore_General.sf3",
    "TimGM6mb.sf2",
    "default-GM.sf2",
    "default-GM.sf3",
    "default.sf2",
)

INSTALL_HINT = (
    "install one: Debian/Ubuntu `apt-get install fluidsynth` brings TimGM6mb (timgm6mb-soundfont, 6 MB) "
    "and `apt-get install fluid-soundfont-gm` adds FluidR3_GM (148 MB, better); Fedora "
    "`dnf install fluid-soundfont-gm`; Arch `pacman -S soundfont-fluid`; or pass --soundfont PATH to any "
    "General MIDI .sf2 file"
)


def soundfont_candidates(
    names: Sequence[str] = SOUNDFONT_NAMES, dirs: Iterable[Path] = SOUNDFONT_DIRS
) -> list[Path]:
    """Every installed soundfont among `names` (in that order of preference), without duplicates."""
    found: list[Path] = []
    seen: set[Path] = set()
    for name in names:
        for directory in dirs:
            path = directory / name
            if path.is_file():
                real = path.resolve()
                if real not in seen:
                    seen.add(real)
                    found.append(path)
    return found


def find_soundfont(names: Sequence[str] = SOUNDFONT_NAMES, dirs: Iterable[Path] = SOUNDFONT_DIRS) -> Path:
    """The most preferred installed soundfont, or DatasetError naming where we looked and what to install."""
    dirs = tuple(dirs)
    found = soundfont_candidates(names, dirs)
    if not found:
        raise DatasetError(
            f"no General MIDI soundfont found (looked for {', '.join(names)} in "
            f"{', '.join(str(d) for d in dirs)}); {INSTALL_HINT}"
        )
    return found[0]


def resolve_soundfont(choice: str | Path | None) -> Path:
    """A soundfont the user named (checked to exist), or the best installed one for None / "auto"."""
    if choice is None or str(choice) == "auto":
        return find_soundfont()
    path = Path(choice).expanduser()
    if not path.is_file():
        raise DatasetError(f"soundfont {path} does not exist; {INSTALL_HINT}")
    return path
