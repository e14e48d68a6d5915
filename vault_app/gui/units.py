"""Sizes in one unit system everywhere: binary units (KiB, MiB, GiB), worded as the
``vault`` command line words them, so a size read in the window matches the CLI's
(``tests/gui/test_units.py`` holds the two to the same text)."""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB")


def human_size(size: int | float) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``, ``3.2 GiB`` (GiB is the largest unit)."""
    value = float(size)
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
