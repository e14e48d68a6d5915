"""Sizes and places as the window words them.

Sizes in one unit system everywhere: binary units (KiB, MiB, GiB), worded as the
``vault`` command line words them, so a size read in the window matches the CLI's
(``tests/gui/test_units.py`` holds the two to the same text). Places under the home
folder as people say them: ``~/Vault``.
"""

from __future__ import annotations

from pathlib import Path

UNITS = ("B", "KiB", "MiB", "GiB")


def human_size(size: int | float) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``, ``3.2 GiB`` (GiB is the largest unit)."""
    value = float(size)
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def home_relative(path: Path) -> str:
    """``~/Vault`` rather than ``/home/ann/Vault``: shorter, and how people say it."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)
