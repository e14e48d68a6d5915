"""Thunar (Xfce) context-menu items "Lock/Unlock with Dataset Vault".

Thunar's own custom actions live in each user's ``uca.xml`` (a system-wide default is
the thunar package's file, not ours to change); its extension point for a package is
thunarx-python, which loads modules from /usr/share/thunarx-python/extensions. As in
the Nautilus extension: "Unlock" when every selected item is a locked (*.age) file,
"Lock" when none is, nothing for a mix or for folders and remote files; one
``vault-app --lock|--unlock FILE...`` for the whole selection (a running window takes
the request). It never touches file contents itself.
"""

from __future__ import annotations

import shutil
import subprocess

import gi

gi.require_version("Thunarx", "3.0")
from gi.repository import GObject, Thunarx  # noqa: E402

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
    exe = shutil.which("vault-app") or "/usr/bin/vault-app"
    subprocess.Popen([exe, f"--{verb}", "--", *paths], start_new_session=True)


class DatasetVaultThunarMenu(GObject.GObject, Thunarx.MenuProvider):
    def get_file_menu_items(self, _window: object, files: list) -> list:
        paths = _local_paths(files)
        if not paths:
            return []
        locked = [_is_locked(item) for item in files]
        if all(locked):
            verb, label = "unlock", "Unlock with Dataset Vault"
        elif not any(locked):
            verb, label = "lock", "Lock with Dataset Vault"
        else:
            return []  # locked and plain files together: neither action fits them all
        item = Thunarx.MenuItem(name=f"DatasetVault::{verb}", label=label,
                                tooltip=label, icon="dataset-vault")
        item.connect("activate", lambda *_: _launch(verb, paths))
        return [item]
