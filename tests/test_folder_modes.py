"""Modes of what the app creates in a vault follow the vault folder, not the umask."""

from __future__ import annotations

import stat

import pytest

from vault_app.core.folder_modes import Modes


@pytest.mark.parametrize(("folder", "file", "sub"), [
    (0o2770 | stat.S_IFDIR, 0o660, 0o2770),   # a team vault (vault init --group)
    (0o0770 | stat.S_IFDIR, 0o660, 0o0770),
    (0o0750 | stat.S_IFDIR, 0o640, 0o0750),   # read-only group
    (0o0755 | stat.S_IFDIR, 0o644, 0o0755),   # a personal vault made at umask 022
    (0o0700 | stat.S_IFDIR, 0o600, 0o0700),   # a private vault (umask 077)
    (0o2700 | stat.S_IFDIR, 0o600, 0o2700),
])
def test_modes_follow_the_folder(folder: int, file: int, sub: int) -> None:
    modes = Modes.of_folder(folder)
    assert (modes.file, modes.folder) == (file, sub)


def test_files_are_never_executable_and_owner_always_has_rw() -> None:
    for mode in range(0o1000):
        modes = Modes.of_folder(mode | stat.S_IFDIR)
        assert modes.file & 0o111 == 0
        assert modes.file & 0o600 == 0o600
        assert modes.folder & 0o700 == 0o700
