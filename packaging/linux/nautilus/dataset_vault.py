"""GNOME Files (Nautilus) context-menu items "Lock/Unlock with Dataset Vault".

Nautilus has no declarative, system-wide action files; its extension point is
python3-nautilus, which loads modules from /usr/share/nautilus-python/extensions.
This module only adds a menu item that starts the installed ``vault-app`` on the
selected local files: "Unlock" when all are locked *.age files, "Lock" when none is,
nothing for a mix (neither fits every file); it never touches file contents itself. Works with the
Nautilus 4.0 API (GNOME 43+) and the older 3.0 API.
"""

from __future__ import annotations

import shutil
import subprocess

import gi

try:
    gi.require_version("Nautilus", "4.0")
except ValueError:  # GNOME 42 and older
    gi.require_version("Nautilus", "3.0")
from gi.repository import GObject, Nautilus

AGE_MIME = "application/x-age-encrypted"


def _local_paths(files: list) -> list[str]:
    paths = []
    for item in files:
        location = item.get_location()
        path = location.get_path() if location is not None else None
        if path is None or item.is_directory():
            return []  # remote files or folders: offer nothing rather than half an action
        paths.append(path)
    return paths


def _is_locked(item: object) -> bool:
    return (item.get_mime_type() == AGE_MIME  # type: ignore[attr-defined]
            or item.get_name().lower().endswith(".age"))  # type: ignore[attr-defined]


def _launch(verb: str, paths: list[str]) -> None:
    """One ``vault-app --lock|--unlock FILE...`` for the whole selection (a running
    window takes the request: single instance)."""
    exe = shutil.which("vault-app") or "/usr/bin/vault-app"
    subprocess.Popen([exe, f"--{verb}", "--", *paths], start_new_session=True)


class DatasetVaultMenu(GObject.GObject, Nautilus.MenuProvider):
    def get_file_items(self, *args: object) -> list:
        files = list(args[-1])  # 4.0: (files,), 3.0: (window, files)
        paths = _local_paths(files)
        if not paths:
            return []
        locked = [_is_locked(item) for item in files]
        if all(locked):
            item = Nautilus.MenuItem(name="DatasetVault::unlock",
                                     label="Unlock with Dataset Vault", icon="dataset-vault")
            item.connect("activate", lambda *_: _launch("unlock", paths))
        elif not any(locked):
            item = Nautilus.MenuItem(name="DatasetVault::lock",
                                     label="Lock with Dataset Vault", icon="dataset-vault")
            item.connect("activate", lambda *_: _launch("lock", paths))
        else:
            return []  # locked and plain files together: neither action fits them all
        return [item]
