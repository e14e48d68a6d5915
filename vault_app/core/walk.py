"""The one walk of a vault folder: which entries are its locked files.

Behind ``Vault.scan`` (and so every listing and ``vault verify``) and the window's first
paint, which needs names and sizes before any header is read. Links to folders are not
followed, hidden entries (``.vault``, temp files) are skipped, and a subfolder that holds
its own ``.vault`` is another vault, not part of this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from vault_app.core.layout import LOCKED_SUFFIX, META


def walk_vault(root: Path | str, *, plain_top_level: bool = False,
               folders: list[str] | None = None,
               nested: list[str] | None = None) -> Iterator[tuple[os.DirEntry[str], bool]]:
    """The one walk of a vault folder: ``(entry, locked)`` for every ``*.age`` regular file
    below ``root`` (hidden names and symlinked folders skipped), plus, with
    ``plain_top_level``, the plain regular files directly in ``root``. ``folders``, if
    given, receives every folder walked. Entries that vanish meanwhile are skipped.
    A subfolder holding its own ``.vault`` is another vault (refused: possibly planted)
    and is not walked; ``nested``, if given, receives it.
    """
    top = str(root)
    stack = [top]
    while stack:
        folder = stack.pop()
        if folders is not None:
            folders.append(folder)
        try:
            listing = os.scandir(folder)
        except OSError:
            continue
        with listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if os.path.lexists(os.path.join(entry.path, META)):
                            if nested is not None:  # a vault inside: not walked
                                nested.append(entry.path)
                            continue
                        stack.append(entry.path)
                    elif entry.name.endswith(LOCKED_SUFFIX):
                        if entry.is_file():
                            yield entry, True
                    elif (plain_top_level and folder == top
                          and entry.is_file(follow_symlinks=False)):
                        yield entry, False
                except OSError:
                    continue


def scan(root: Path) -> list[Path]:
    """Every ``*.age`` file under the vault (hidden folders skipped); no header reads."""
    return sorted(Path(entry.path) for entry, locked in walk_vault(root) if locked)
