"""One unit system: the window words a size exactly as the command line does."""

from __future__ import annotations

from vault_app.cli.vault_commands import _human_size as cli_size
from vault_app.gui.dialogs.progress import format_speed
from vault_app.gui.units import human_size


def test_the_window_and_the_cli_word_sizes_alike() -> None:
    for n in (0, 1, 1023, 1024, 1536, 10 * 1024 - 1, 5 << 20, (1 << 30) - 1, 7 << 30, 1 << 42):
        assert human_size(n) == cli_size(n), n
    assert human_size(1536) == "1.5 KiB"
    assert human_size(3 << 20) == "3.0 MiB"


def test_speeds_use_the_same_units() -> None:
    assert format_speed(120 << 20) == "120.0 MiB/s"
