"""Files named by a launch: a double-click in the file manager, "Lock/Unlock with
Dataset Vault", or a second launch handing its request over (``launch.py`` decides
which of these to call).

A part of ``MainWindow``: a locked file opens its vault and offers Unlock to… or
Preview; a plain file is offered for locking into the open vault; ``--unlock`` files
are selected and Unlock to… asks for the folder. Every question is non-blocking.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.file_actions import FileActions
from vault_app.gui.outside_file import OutsideFiles
from vault_app.gui.window_part import Button


class OpenTargets(OutsideFiles, FileActions):
    """What a launch asks of the window (a part of ``MainWindow``)."""

    def open_target(self, target: Path) -> None:
        """What a double-click in the file manager (or a second launch) asks for."""
        self.raise_()
        self.activateWindow()
        target = target.expanduser().absolute()
        if target.is_dir():
            self.open_vault_at(target)
            return
        if not target.exists():
            show_error(self, FileNotFoundError(2, "No such file", str(target)),
                       action=f"open {target.name}")
            return
        if target.name.endswith(LOCKED_SUFFIX):
            if not self._open_vault_of(target):
                return
            self.offer_unlock(target)
        else:
            self.offer_lock(target)

    def _open_vault_of(self, locked: Path) -> bool:
        """Open the vault ``locked`` is in, unless it is open already (or in none)."""
        from vault_app.core.vault import Vault

        root = Vault.find(locked.parent)
        if root is None or (self.vault is not None and self.vault.path == root):
            return True
        return self.open_vault_at(root)

    def offer_unlock(self, locked: Path) -> QMessageBox | None:
        if self.vault is None or self.model.row_of(locked) is None:
            self.offer_outside(locked)   # not a file of the open vault: see outside_file
            return None
        self.select_path(locked)
        entry = self.model.entry(self.model.row_of(locked) or 0)
        box = QMessageBox(QMessageBox.Icon.Question, "Open locked file",
                          f"{entry.name} is locked. What would you like to do?",
                          Button.Cancel, self)
        box.setObjectName("offerUnlock")
        unlock = box.addButton("Unlock to…", QMessageBox.ButtonRole.AcceptRole)
        preview = box.addButton("Preview", QMessageBox.ButtonRole.ActionRole)
        box.setDefaultButton(preview)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(button: object) -> None:
            if button is unlock:
                self.act_unlock.trigger()
            elif button is preview:
                self.act_preview.trigger()

        box.buttonClicked.connect(chosen)
        box.open()
        return box

    def offer_lock(self, plain: Path | list[Path]) -> QMessageBox | None:
        vault = self._need_vault()
        if vault is None:
            return None
        paths = [plain] if isinstance(plain, Path) else list(plain)
        if len(paths) == 1:
            return self._confirm("Lock this file?",
                                 f"Lock {paths[0].name} into the vault {vault.path.name}?",
                                 "Lock", lambda: self.lock_files(paths),
                                 info="It is encrypted for you and the recovery key; the "
                                      "plain file is removed once the locked copy is "
                                      "verified.")
        names = ", ".join(p.name for p in paths[:5]) + (", …" if len(paths) > 5 else "")
        return self._confirm("Lock these files?",
                             f"Lock {len(paths)} files into the vault {vault.path.name}?",
                             "Lock", lambda: self.lock_files(paths),
                             info=f"{names}. They are encrypted for you and the recovery "
                                  "key; each plain file is removed once its locked copy is "
                                  "verified.")

    def unlock_paths(self, paths: list[Path]) -> None:
        """Unlock these locked files (``vault-app --unlock FILE...``): open their vault,
        select them and ask for the folder, as Unlock to… does."""
        if not self._open_vault_of(paths[0]):
            return
        found = self.select_paths(paths) if self.vault is not None else []
        locked = [p for p in found if p.name.endswith(LOCKED_SUFFIX)]
        left = len(paths) - len(locked)
        if left:
            self.statusBar().showMessage(
                f"{left} file(s) are not locked files of the open vault and were left "
                "alone.", 10000)
        if locked:
            self.select_paths(locked)
            self.unlock_action()
