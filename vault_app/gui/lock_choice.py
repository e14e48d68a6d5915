"""Locking a file from outside the vault: move it in, or copy it in and keep the original?

Dropping a file on the window used to move it into the vault without a word: the file
vanished from the person's folder. Now the first lock asks (``ask_lock_choice``: Move or
Copy, "Remember my choice"), the answer can be changed under Settings, and when the
locks are done ``lock_summary`` says where the files went and what became of the
originals, for the notice above the list (with "Show in file manager").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.units import home_relative


def _what(paths: Sequence[Path]) -> str:
    return paths[0].name if len(paths) == 1 else f"{len(paths)} files"


def ask_lock_choice(parent: QWidget, paths: Sequence[Path], vault_name: str,
                    done: Callable[[bool], None], *, remember: bool = True) -> QMessageBox:
    """Ask Move or Copy (non-blocking); ``done(keep)`` runs on the answer, nothing on
    Cancel. With "Remember my choice" ticked, the answer becomes the setting."""
    folders = sorted({home_relative(p.parent) for p in paths})
    where = folders[0] if len(folders) == 1 else "their folders"
    box = QMessageBox(QMessageBox.Icon.Question, "Lock into the vault",
                      f"Lock {_what(paths)} into {vault_name}?",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("lockChoice")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(
        f"Move: the locked copy goes into the vault, and the original is removed from "
        f"{where} once the locked copy is verified.\n"
        f"Copy: the locked copy goes into the vault, and the original stays in {where}, "
        "not encrypted.")
    move = box.addButton("Move into vault", QMessageBox.ButtonRole.AcceptRole)
    move.setObjectName("lockMove")
    copy = box.addButton("Copy into vault", QMessageBox.ButtonRole.AcceptRole)
    copy.setObjectName("lockCopy")
    box.setDefaultButton(move)
    check = QCheckBox("Remember my choice (change it under Settings)")
    check.setObjectName("lockRemember")
    if remember:
        box.setCheckBox(check)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def answered(button: object) -> None:
        if button not in (move, copy):
            return
        keep = button is copy
        if remember and check.isChecked():
            settings = Settings()
            settings.lock_mode = "copy" if keep else "move"
            settings.sync()
        done(keep)

    box.buttonClicked.connect(answered)
    box.open()
    return box


def lock_summary(sources: Sequence[Path], locked: Sequence[Path], vault_name: str,
                 keep: bool, failed: int = 0, stopped: bool = False) -> str:
    """One notice for a batch of locks: where they went, and where the originals are."""
    if not locked:
        return ("Stopped: nothing was locked, and every file is as it was." if stopped
                else "Nothing was locked.")
    folders = sorted({home_relative(p.parent) for p in sources})
    origin = folders[0] if len(folders) == 1 else "their folders"
    if len(locked) == 1:
        text = (f"Locked {sources[0].name} into {vault_name}: "
                f"{home_relative(locked[0])}.")
        text += (f" The original stays in {origin}, not encrypted." if keep else
                 f" The original was moved out of {origin}.")
    else:
        text = (f"Locked {len(locked)} files into {vault_name} "
                f"({home_relative(locked[0].parent)}).")
        text += (f" The originals stay in {origin}, not encrypted." if keep else
                 f" The originals were moved out of {origin}.")
    left = len(sources) - len(locked)
    if stopped and left:
        text += f" Stopped before the other {left}: they are as they were."
    elif failed:
        text += f" {failed} could not be locked (see the message)."
    return text


class LockBatch:
    """The locks queued together (until the change lane is next idle), for one notice."""

    def __init__(self, vault_name: str, keep: bool) -> None:
        self.vault_name = vault_name
        self.keep = keep
        self.sources: list[Path] = []
        self.locked: list[Path] = []
        self.failed = 0
        self.stopped = False

    def summary(self) -> str:
        return lock_summary(self.sources, self.locked, self.vault_name, self.keep,
                            self.failed, self.stopped)
