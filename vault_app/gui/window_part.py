"""What the parts of the main window share: its state, the selection, small dialogs.

``MainWindow`` (``main_window.py``) builds the widgets, actions and menus; what the
actions do lives in parts, one module per concern, mixed into it: ``file_actions.py``
(lock, unlock, share...), ``open_targets.py`` (files named by a launch) and
``dnd.py`` (drag and drop). Each part is a ``WindowPart``: to the type checker a
``QMainWindow`` with the attributes below, at run time a plain class (the window is the
one ``QMainWindow``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

if TYPE_CHECKING:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLineEdit

    from vault_app.core.vault import Vault
    from vault_app.gui.dnd import FileTableView, Staging
    from vault_app.gui.file_model import Entry, FileFilterProxy, FileTableModel
    from vault_app.gui.lock_choice import LockBatch
    from vault_app.gui.notice import NoticeBar
    from vault_app.gui.tasks import Tasks
    from vault_app.gui.vault_state import MetaWatch

    _Qt = QMainWindow
else:
    _Qt = object

Button = QMessageBox.StandardButton


class WindowPart(_Qt):
    """The window's state (built by ``MainWindow.__init__``) and helpers every part uses."""

    vault: Vault | None
    tasks: Tasks
    model: FileTableModel
    proxy: FileFilterProxy
    view: FileTableView
    staging: Staging
    filter_edit: QLineEdit
    act_unlock: QAction
    act_preview: QAction
    #: How "Reveal in File Manager" opens a folder when no file manager answers on D-Bus.
    url_opener: Callable[[QUrl], object]
    #: Opens the vault in (or above) a folder; False (an error shown) if there is none.
    open_vault_at: Callable[[Path], bool]
    #: Unlock copies of these rows into a folder, asking before replacing (file_actions).
    unlock_to: Callable[[list[Entry], Path], None]
    #: What a locked file named by a launch or a drop offers (``open_targets.py``).
    open_target: Callable[[Path], None]
    #: The message strip above the list (``notice.py``).
    notice: NoticeBar
    #: The locks queued since the change lane was last idle (``lock_choice.py``).
    lock_batch: LockBatch | None
    #: Says when the vault's own records (``.vault/``) changed on disk (``vault_state.py``).
    meta_watch: MetaWatch

    # -- selection --------------------------------------------------------------------------
    def selected_entries(self) -> list[Entry]:
        rows = sorted({self.proxy.mapToSource(i).row()
                       for i in self.view.selectionModel().selectedRows()})
        return [self.model.entry(r) for r in rows]

    def select_path(self, path: Path) -> bool:
        return bool(self.select_paths([path]))

    def select_paths(self, paths: list[Path]) -> list[Path]:
        """Select the rows of ``paths`` (the first becomes current); returns those found."""
        found = [(p, r) for p in paths if (r := self.model.row_of(p)) is not None]
        if not found:
            return []
        if any(not self.proxy.mapFromSource(self.model.index(r, 0)).isValid()
               for _p, r in found):
            self.filter_edit.clear()   # a filter hides some: show them all
        rows = QItemSelectionModel.SelectionFlag.Rows
        selection = self.view.selectionModel()
        for i, (_p, r) in enumerate(found):
            index = self.proxy.mapFromSource(self.model.index(r, 0))
            how = (QItemSelectionModel.SelectionFlag.ClearAndSelect if i == 0
                   else QItemSelectionModel.SelectionFlag.Select)
            if i == 0:
                selection.setCurrentIndex(index, how | rows)
                self.view.scrollTo(index)
            else:
                selection.select(index, how | rows)
        return [p for p, _r in found]

    def _need_vault(self) -> Vault | None:
        if self.vault is None:
            self.statusBar().showMessage("Open a vault first.", 5000)
        return self.vault

    def _one_locked(self) -> Entry | None:
        entries = self.selected_entries()
        if len(entries) == 1 and entries[0].locked and self._need_vault():
            return entries[0]
        return None

    # -- little dialogs (non-blocking: they call back, nothing waits) ------------------------
    def _ask_files(self, title: str, done: Callable[[list[Path]], None]) -> QFileDialog:
        dlg = QFileDialog(self, title)
        dlg.setObjectName("chooseFiles")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dlg.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.filesSelected.connect(lambda files: done([Path(f) for f in files]))
        dlg.open()
        return dlg

    def _ask_folder(self, title: str, done: Callable[[Path], object],
                    start: Path | None = None) -> QFileDialog:
        dlg = QFileDialog(self, title, str(start or Path.home()))
        dlg.setObjectName("chooseFolder")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.fileSelected.connect(lambda f: done(Path(f)))
        dlg.open()
        return dlg

    def _confirm(self, title: str, text: str, ok: str, done: Callable[[], None],
                 info: str = "", icon: QMessageBox.Icon = QMessageBox.Icon.Question
                 ) -> QMessageBox:
        box = QMessageBox(icon, title, text, Button.Cancel, self)
        box.setObjectName("confirm")
        box.setTextFormat(Qt.TextFormat.PlainText)
        if info:
            box.setInformativeText(info)
        yes = box.addButton(ok, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(yes)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: done() if b is yes else None)
        box.open()
        return box
