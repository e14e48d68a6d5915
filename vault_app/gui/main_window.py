"""The main window: the vault's files, their details, and every action on them.

All long work goes through the TaskRunner (one queue, off the UI thread); every dialog
is opened non-blocking (``open()``), so the event loop keeps running and tests answer
dialogs the way a person would.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QEventLoop,
    QFileSystemWatcher,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.errors import VaultError
from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.gui import icons
from vault_app.gui.details_pane import DetailsPane
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.dnd import (
    DRAG_OUT_LIMIT,
    FileTableView,
    Staging,
    expand,
    file_urls_mime,
    local_paths,
)
from vault_app.gui.file_model import (
    Column,
    Entry,
    FileFilterProxy,
    FileTableModel,
    human_size,
)
from vault_app.gui.reveal import reveal
from vault_app.gui.worker import TaskRunner

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData, QPoint

    from vault_app.core.audit import AuditRecord
    from vault_app.core.keystore import Keystore
    from vault_app.core.vault import FileInfo, FileVerdict, Vault

log = logging.getLogger(__name__)
Button = QMessageBox.StandardButton


def history_of(root: Path, path: Path) -> list[AuditRecord] | None:
    """The file's records in the vault's audit log (worker thread; None if unreadable)."""
    from vault_app.core.audit import AuditLog

    try:
        return AuditLog(root).history(path.relative_to(root).as_posix())
    except (ValueError, OSError, VaultError):
        return None


class EmptyState(QWidget):
    """What an empty vault shows: what to do next, in words and two buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Empty vault")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        art = QLabel()
        self.art = art
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(art)
        self.headline = QLabel("Drop files here to lock them")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.headline.setFont(font)
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.headline)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.detail)
        row = QWidget()
        buttons = QVBoxLayout(row)
        self.lock_button = QPushButton(icons.icon("lock"), "Lock files…")
        self.lock_button.setAccessibleName("Lock files")
        self.open_button = QPushButton(icons.icon("folder"), "Open another vault…")
        self.open_button.setAccessibleName("Open another vault")
        for b in (self.lock_button, self.open_button):
            b.setMinimumWidth(220)
            buttons.addWidget(b, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(row)
        layout.addStretch(3)
        self.refresh_icons()

    def refresh_icons(self) -> None:
        self.art.setPixmap(icons.icon("lock").pixmap(64, 64))
        self.lock_button.setIcon(icons.icon("lock"))
        self.open_button.setIcon(icons.icon("folder"))

    def set_vault(self, vault: Vault | None) -> None:
        if vault is None:
            self.headline.setText("No vault open")
            self.detail.setText("Open a vault folder to see its locked files.")
            self.lock_button.setEnabled(False)
        else:
            self.headline.setText("Drop files here to lock them")
            self.detail.setText(
                f"This vault ({vault.path}) has no files yet. Files you drop or add are "
                "encrypted for you and the vault's recovery key; the plain copy is removed "
                "once the locked one is verified.")
            self.lock_button.setEnabled(True)


class MainWindow(QMainWindow):
    """Browse a vault; lock, unlock, preview, share, revoke, verify, reveal."""

    vault_changed = Signal(object)

    def __init__(self, vault: Vault | None = None, runner: TaskRunner | None = None,
                 parent: QWidget | None = None, *, keystore: Keystore | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dataset Vault")
        self.setWindowIcon(icons.icon("app"))
        self.setAcceptDrops(True)
        self.resize(1100, 680)
        self.runner = runner or TaskRunner(self)
        self.staging = Staging()
        #: How "Reveal in File Manager" opens the folder when no file manager can be
        #: asked over D-Bus to select the file (see reveal.py).
        self.url_opener: Callable[[QUrl], Any] = QDesktopServices.openUrl
        self.vault: Vault | None = None
        self._closing = False
        #: Keys opened once stay cached in it for every vault this window opens; by
        #: default the OS keyring, asking in a dialog for a key file's passphrase.
        self.keystore = keystore or (vault.keystore if vault is not None
                                     else self._default_keystore())

        self.model = FileTableModel(self)
        self.proxy = FileFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = self._make_view()
        self.details = DetailsPane()
        self.empty = EmptyState()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        split = self.splitter = QSplitter()
        split.addWidget(self.stack)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([780, 320])
        self.setCentralWidget(split)

        self._make_actions()
        self._make_toolbar()
        self._make_menus()
        self._make_status_bar()
        self.empty.lock_button.clicked.connect(self.act_lock.trigger)
        self.empty.open_button.clicked.connect(self.act_open_vault.trigger)

        self._visible_timer = QTimer(self, singleShot=True, interval=30)
        self._visible_timer.timeout.connect(self._load_visible)
        # (not timer.start directly: valueChanged(int) would pick start(msec))
        self.view.verticalScrollBar().valueChanged.connect(self._schedule_visible)
        self.proxy.layoutChanged.connect(self._schedule_visible)
        self.proxy.modelReset.connect(self._schedule_visible)
        self.proxy.rowsInserted.connect(self._schedule_visible)
        self.model.modelReset.connect(self._update_stack)
        self.model.rowsInserted.connect(self._update_stack)
        self.model.rowsRemoved.connect(self._update_stack)
        self.model.details_loaded.connect(self._on_details_loaded)
        # files changed by someone else (the CLI, a sync client): patch the list in place
        self.watcher = QFileSystemWatcher(self)
        self._rescan_timer = QTimer(self, singleShot=True, interval=400)
        self._rescan_timer.timeout.connect(self._rescan_if_quiet)
        self.watcher.directoryChanged.connect(lambda _p: self._rescan_timer.start())
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.set_vault(vault)
        self._restore_layout()

    def _default_keystore(self) -> Keystore:
        from vault_app.core.keystore import Keystore
        from vault_app.gui.dialogs.passphrase import PassphrasePrompt

        self.passphrase_prompt = PassphrasePrompt(self)
        return Keystore(passphrase=self.passphrase_prompt.ask)

    # -- window layout, remembered between runs ---------------------------------------------
    _LAYOUT_KEYS = ("window/geometry", "window/splitter", "window/header")

    def _restore_layout(self) -> None:
        store = Settings().store
        geometry, splitter, header = (store.value(k) for k in self._LAYOUT_KEYS)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        if isinstance(header, QByteArray):
            self.view.horizontalHeader().restoreState(header)

    def _save_layout(self) -> None:
        store = Settings().store
        for key, state in zip(self._LAYOUT_KEYS, (
                self.saveGeometry(), self.splitter.saveState(),
                self.view.horizontalHeader().saveState()), strict=True):
            store.setValue(key, state)
        store.sync()

    # -- construction -----------------------------------------------------------------------
    def _make_view(self) -> FileTableView:
        view = FileTableView()
        view.setAccessibleName("Files in the vault")
        view.setModel(self.proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.setShowGrid(False)
        view.setWordWrap(False)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(26)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(60)
        for col, width in ((Column.SIZE, 80), (Column.MODIFIED, 128), (Column.STATE, 110),
                           (Column.OWNER, 72), (Column.READERS, 120), (Column.SIGNATURE, 96)):
            view.setColumnWidth(col, width)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.doubleClicked.connect(self._on_double_click)
        view.files_dropped.connect(self.lock_files)
        view.drag_provider = self._prepare_drag_out
        return view

    def changeEvent(self, event: QEvent) -> None:
        """Light/dark switched: redraw the outline icons in the new ink."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_icon_names"):
            for act, name in self._icon_names.items():
                act.setIcon(icons.icon(name))
            self.empty.refresh_icons()
            if self.model.rowCount():
                self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(
                    self.model.rowCount() - 1, self.model.columnCount() - 1),
                    [Qt.ItemDataRole.DecorationRole])

    def _action(self, text: str, icon_name: str | None, slot: Callable[[], Any],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        act = QAction(text, self)
        if icon_name:
            act.setIcon(icons.icon(icon_name))
            self._icon_names[act] = icon_name
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setStatusTip(tip)
        act.setToolTip(f"{text.rstrip('…')} ({act.shortcut().toString()})"
                       if shortcut is not None else text.rstrip("…"))
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _make_actions(self) -> None:
        self._icon_names: dict[QAction, str] = {}
        a = self._action
        self.act_lock = a("Lock…", "lock", self.lock_action, "Ctrl+L",
                          "Encrypt files into the vault")
        self.act_unlock = a("Unlock to…", "unlock", self.unlock_action, "Ctrl+U",
                            "Decrypt a copy of the selected files into a folder you choose")
        self.act_unlock.setIconText("Unlock")
        self.act_preview = a("Preview", "preview", self.preview_action, "Ctrl+P",
                             "Show the first rows, decrypted in memory only")
        self.act_share = a("Share…", "share", self.share_action, "Ctrl+Shift+S",
                           "Choose who may read the selected file")
        self.act_revoke = a("Revoke…", "revoke", self.revoke_action, "Ctrl+Shift+R",
                            "Remove a reader; the file is re-encrypted with a fresh key")
        self.act_verify = a("Verify", "verify", self.verify_action, "Ctrl+Shift+V",
                            "Check signatures and integrity of the selected (or all) files")
        self.act_reveal = a("Reveal in File Manager", "reveal", self.reveal_action,
                            "Ctrl+Shift+O", "Show the selected file in its folder")
        self.act_open_vault = a("Open Vault…", "folder", self.open_vault_action,
                                QKeySequence.StandardKey.Open, "Open another vault folder")
        self.act_members = a("Members…", "members", self.members_action, "Ctrl+M",
                             "The vault's members and their keys")
        self.act_settings = a("Settings…", "settings", self.settings_action,
                              "Ctrl+,", "Default unlock folder, keep originals, theme")
        self.act_refresh = a("Refresh", "refresh", self.refresh, QKeySequence.StandardKey.Refresh,
                             "Scan the vault folder again")
        self.act_quit = a("Quit", None, self.close, QKeySequence.StandardKey.Quit)
        self.act_filter = a("Find", None, self._focus_filter, QKeySequence.StandardKey.Find)
        self.act_settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        # Enter on a row does what a double-click does (preview a locked file, lock a plain one)
        self.act_open_row = QAction("Open", self.view)
        self.act_open_row.setShortcuts([QKeySequence(Qt.Key.Key_Return),
                                        QKeySequence(Qt.Key.Key_Enter)])
        self.act_open_row.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.act_open_row.triggered.connect(
            lambda: self._on_double_click(self.view.currentIndex()))
        self.view.addAction(self.act_open_row)

    def _make_toolbar(self) -> None:
        bar = QToolBar("Main toolbar")
        bar.setObjectName("mainToolbar")
        bar.setAccessibleName("Main toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        for act in (self.act_lock, self.act_unlock, self.act_preview, None, self.act_share,
                    self.act_revoke, self.act_verify, None, self.act_members):
            if act is None:
                bar.addSeparator()
            else:
                bar.addAction(act)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        bar.addWidget(spacer)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name")
        self.filter_edit.setAccessibleName("Filter files by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(240)
        self.filter_edit.textChanged.connect(self._on_filter)
        bar.addWidget(self.filter_edit)
        self.addToolBar(bar)
        self.toolbar = bar

    def _make_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for act in (self.act_open_vault, self.act_lock, None, self.act_refresh, None,
                    self.act_quit):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        self.file_actions_menu = menu.addMenu("&Actions")
        for act in self._file_actions():
            self.file_actions_menu.addSeparator() if act is None else (
                self.file_actions_menu.addAction(act))
        vault_menu = menu.addMenu("&Vault")
        vault_menu.addAction(self.act_members)
        vault_menu.addAction(self.act_settings)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("About Dataset Vault", self._about)

    def _file_actions(self) -> list[QAction | None]:
        return [self.act_unlock, self.act_preview, None, self.act_share, self.act_revoke,
                self.act_verify, None, self.act_reveal]

    def _make_status_bar(self) -> None:
        from vault_app.gui.dialogs.progress import ProgressPanel

        bar = self.statusBar()
        self.count_label = QLabel()
        self.count_label.setAccessibleName("File count")
        bar.addWidget(self.count_label)
        self.progress_panel = ProgressPanel(self.runner)
        bar.addPermanentWidget(self.progress_panel)

    # -- vault ------------------------------------------------------------------------------
    def set_vault(self, vault: Vault | None) -> None:
        self.vault = vault
        if vault is not None:
            self.keystore = vault.keystore
        self.model.set_vault(vault)
        QTimer.singleShot(0, self._watch_folders)   # after the first paint
        self.empty.set_vault(vault)
        self.setWindowTitle(f"{vault.path.name} — Dataset Vault" if vault else "Dataset Vault")
        self._update_stack()
        self._on_selection()
        self.vault_changed.emit(vault)

    def open_vault_at(self, folder: Path) -> bool:
        from vault_app.core.vault import Vault

        try:
            root = Vault.find(folder) or folder
            vault = Vault.open(root, keystore=self.keystore)
        except Exception as exc:
            show_error(self, exc, action=f"open the vault {folder}")
            return False
        self.set_vault(vault)
        return True

    def refresh(self) -> None:
        self.model.refresh()
        self._watch_folders()

    def _rescan_if_quiet(self) -> None:
        """Rescan after outside changes, but not under our own queue (it updates rows)."""
        if self.runner.busy():
            self._rescan_timer.start()
        else:
            self.refresh()

    def _watch_folders(self, limit: int = 256) -> None:
        """Watch the folders the last scan walked (the vault and its non-hidden
        subfolders), at most ``limit``."""
        if self.watcher.directories():
            self.watcher.removePaths(self.watcher.directories())
        if self.vault is not None and self.model.folders:
            self.watcher.addPaths(self.model.folders[:limit])

    def _update_stack(self) -> None:
        n = self.model.rowCount()
        self.stack.setCurrentWidget(self.view if n else self.empty)
        locked = sum(1 for e in self.model.entries() if e.locked) if n < 50_000 else n
        plain = n - locked
        text = f"{locked} locked file{'s' if locked != 1 else ''}"
        if plain:
            text += f", {plain} not locked"
        self.count_label.setText(text if self.vault else "No vault open")
        self._visible_timer.start()

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

    def _on_selection(self, *_args: object) -> None:
        entries = self.selected_entries()
        locked = [e for e in entries if e.locked]
        one_locked = len(entries) == 1 and entries[0].locked
        has_vault = self.vault is not None
        self.act_lock.setEnabled(has_vault)
        self.act_unlock.setEnabled(bool(locked))
        self.act_preview.setEnabled(one_locked)
        self.act_share.setEnabled(one_locked)
        self.act_revoke.setEnabled(one_locked)
        self.act_verify.setEnabled(has_vault)
        self.act_reveal.setEnabled(bool(entries))
        self.act_members.setEnabled(has_vault)
        self.act_refresh.setEnabled(has_vault)
        if entries:
            self.model.request_rows(self.model.row_of(e.path) or 0 for e in entries)
        self._show_details(entries[0] if len(entries) == 1 else None)

    def _on_details_loaded(self, path: Path) -> None:
        entries = self.selected_entries()
        if len(entries) == 1 and entries[0].path == path:
            self._show_details(entries[0])

    def _show_details(self, entry: Entry | None) -> None:
        state = None
        if entry is not None:
            row = self.model.row_of(entry.path)
            if row is not None:
                state = self.model.data(self.model.index(row, Column.STATE),
                                        Qt.ItemDataRole.ToolTipRole)
        self.details.show_entry(entry, state)
        if entry is not None and entry.locked and self.vault is not None:
            path, root = entry.path, self.vault.path
            self.model.call_in_background(lambda: history_of(root, path),
                                          lambda records: self._show_history(path, records))

    def _show_history(self, path: Path, records: object) -> None:
        entries = self.selected_entries()
        if len(entries) == 1 and entries[0].path == path and isinstance(records, list):
            self.details.show_history(records)

    def _schedule_visible(self, *_args: object) -> None:
        self._visible_timer.start()

    def _load_visible(self) -> None:
        """Ask for the headers of the rows on screen (plus a few below)."""
        rows = self.proxy.rowCount()
        if not rows or not self.view.isVisible():
            return
        top = self.view.rowAt(0)
        bottom = self.view.rowAt(self.view.viewport().height() - 1)
        top = max(top, 0)
        bottom = rows - 1 if bottom < 0 else bottom
        self.model.request_rows(self.proxy.mapToSource(self.proxy.index(r, 0)).row()
                                for r in range(top, min(rows, bottom + 10)))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._visible_timer.start()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._visible_timer.start()

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._visible_timer.start()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _context_menu(self, pos: QPoint) -> None:
        menu = self.build_context_menu()
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("File actions")
        entries = self.selected_entries()
        if entries and not any(e.locked for e in entries):
            menu.addAction(self.act_lock)
            menu.addAction(self.act_reveal)
            return menu
        for act in self._file_actions():
            menu.addSeparator() if act is None else menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.act_lock)
        return menu

    def _on_double_click(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        entry = self.model.entry(self.proxy.mapToSource(index).row())
        (self.act_preview if entry.locked else self.act_lock).trigger()

    # -- little dialogs (non-blocking) ------------------------------------------------------
    def _ask_files(self, title: str, done: Callable[[list[Path]], None]) -> QFileDialog:
        dlg = QFileDialog(self, title)
        dlg.setObjectName("chooseFiles")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dlg.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.filesSelected.connect(lambda files: done([Path(f) for f in files]))
        dlg.open()
        return dlg

    def _ask_folder(self, title: str, done: Callable[[Path], None],
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

    def _fail(self, action: str) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            show_error(self, exc, action=action)
        return failed

    def _need_vault(self) -> Vault | None:
        if self.vault is None:
            self.statusBar().showMessage("Open a vault first.", 5000)
        return self.vault

    # -- actions ----------------------------------------------------------------------------
    def lock_action(self) -> None:
        if self._need_vault() is None:
            return
        plain = [e.path for e in self.selected_entries() if not e.locked]
        if plain:
            self.lock_files(plain)
        else:
            self._ask_files("Choose files to lock into the vault", self.lock_files)

    def lock_files(self, paths: list[Path]) -> None:
        """Queue one lock task per file (folders expand to their files)."""
        vault = self._need_vault()
        if vault is None:
            return
        files = expand(paths)
        skipped = [p for p in files if p.name.endswith(LOCKED_SUFFIX)
                   or vault.meta in p.parents]
        todo = [p for p in files if p not in skipped]
        if skipped:
            self.statusBar().showMessage(
                f"Skipped {len(skipped)} file(s) that are already locked or vault data.", 8000)
        for src in todo:
            try:
                size = src.stat().st_size
            except OSError as exc:
                show_error(self, exc, action=f"lock {src.name}")
                continue
            keep = Settings().keep_plaintext
            self.runner.run(functools.partial(vault.lock, src, keep=keep),
                            label=f"Locking {src.name}", total_bytes=size,
                            on_success=functools.partial(self._locked, src),
                            on_failure=self._fail(f"lock {src.name}"))

    def _locked(self, src: Path, info: FileInfo) -> None:
        if src.exists():   # kept, as the settings ask
            self.model.upsert(src)
        else:
            self.model.remove(src)
        self.model.upsert(info.path, info)
        self.statusBar().showMessage(f"Locked {src.name}.", 5000)

    def unlock_action(self) -> None:
        locked = [e for e in self.selected_entries() if e.locked]
        if locked and self._need_vault():
            self._ask_folder("Unlock a copy into which folder?",
                             lambda folder: self.unlock_to(locked, folder),
                             Settings().unlock_folder)

    def unlock_to(self, entries: list[Entry], folder: Path) -> None:
        clash = [e for e in entries if (folder / e.path.name[: -len(LOCKED_SUFFIX)]).exists()]
        if clash:
            names = ", ".join(e.path.name[: -len(LOCKED_SUFFIX)] for e in clash[:5])
            self._confirm("Replace existing files?",
                          f"{folder} already has {names}.", "Replace",
                          lambda: self._queue_unlock(entries, folder, overwrite=True),
                          icon=QMessageBox.Icon.Warning)
        else:
            self._queue_unlock(entries, folder, overwrite=False)

    def _queue_unlock(self, entries: list[Entry], folder: Path, *, overwrite: bool) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        for e in entries:
            self.runner.run(
                functools.partial(vault.unlock, e.path, folder, overwrite=overwrite),
                label=f"Unlocking {e.name}", total_bytes=e.size,
                on_success=lambda out: self.statusBar().showMessage(f"Unlocked to {out}.", 8000),
                on_failure=self._fail(f"unlock {e.name}"))

    def _one_locked(self) -> Entry | None:
        entries = self.selected_entries()
        if len(entries) == 1 and entries[0].locked and self._need_vault():
            return entries[0]
        return None

    def preview_action(self) -> None:
        from vault_app.gui.dialogs.preview import PreviewDialog

        entry = self._one_locked()
        if entry is None or self.vault is None:
            return
        try:
            dlg = PreviewDialog(self.vault, entry.path, self)
        except Exception as exc:
            show_error(self, exc, action=f"preview {entry.name}")
            return
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def share_action(self) -> None:
        from vault_app.gui.dialogs.share import ShareDialog

        entry = self._one_locked()
        if entry is None or self.vault is None:
            return
        try:
            dlg = ShareDialog(self.vault, entry.path, self.runner, self)
        except Exception as exc:
            show_error(self, exc, action=f"share {entry.name}")
            return
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.applied.connect(lambda info: self._reload(entry.path, info))
        dlg.open()

    def revoke_action(self) -> None:
        entry = self._one_locked()
        if entry is None or self.vault is None:
            return
        if entry.info is None:
            self.model.request_rows([self.model.row_of(entry.path) or 0])
            self.statusBar().showMessage("Still reading the file's access list; try again.",
                                         4000)
            return
        others = [u for u in entry.info.readers if u != self.vault.user]
        if not others:
            self.statusBar().showMessage(f"Nobody else can read {entry.name}.", 5000)
            return
        dlg = QInputDialog(self)
        dlg.setObjectName("chooseReader")
        dlg.setWindowTitle("Revoke access")
        dlg.setLabelText(f"Who should no longer read {entry.name}?")
        dlg.setComboBoxItems(others)
        dlg.setOkButtonText("Continue…")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.textValueSelected.connect(lambda user: self._confirm_revoke(entry, user))
        dlg.open()

    def _confirm_revoke(self, entry: Entry, user: str) -> None:
        self._confirm(
            "Revoke access?",
            f"{user} will no longer be able to read {entry.name}.", "Revoke and re-encrypt",
            lambda: self.revoke(entry, user),
            info="The file is re-encrypted with a fresh key that is not given to them. "
                 "Copies they already made or unlocked stay readable to them: no tool can "
                 "take those back.", icon=QMessageBox.Icon.Warning)

    def revoke(self, entry: Entry, user: str) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        self.runner.run(functools.partial(vault.revoke, entry.path, user),
                        label=f"Revoking {user} from {entry.name}", total_bytes=entry.size,
                        on_success=lambda info: self._reload(entry.path, info),
                        on_failure=self._fail(f"revoke {user}'s access"))

    def _reload(self, path: Path, info: FileInfo | None = None) -> None:
        self.model.upsert(path, info)

    def verify_action(self) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        chosen = [e.path for e in self.selected_entries() if e.locked]
        paths = chosen or [e.path for e in self.model.entries() if e.locked]
        if not paths:
            self.statusBar().showMessage("There are no locked files to verify.", 5000)
            return

        def work(progress: Callable[[int], None], cancel: Any) -> list[FileVerdict]:
            return vault.verify(paths)

        self.runner.run(work, label=f"Verifying {len(paths)} file(s)",
                        on_success=self._verified, on_failure=self._fail("verify files"))

    def _verified(self, results: list[FileVerdict]) -> None:
        bad = [r for r in results if not r.ok]
        for result in results:
            self.model.upsert(result.path)
        if not bad:
            box = QMessageBox(QMessageBox.Icon.Information, "All files verified",
                              f"{len(results)} file(s) checked: every signature is valid.",
                              Button.Ok, self)
        else:
            lines = "\n".join(f"{r.path.name}: {r.status.value} — {r.detail}" for r in bad[:20])
            box = QMessageBox(QMessageBox.Icon.Warning, "Some files did not verify",
                              f"{len(bad)} of {len(results)} file(s) need attention.",
                              Button.Ok, self)
            box.setDetailedText(lines)
            box.setInformativeText(lines if len(bad) <= 5 else
                                   "Show Details… lists them.")
        box.setObjectName("verifyResult")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def reveal_action(self) -> None:
        entries = self.selected_entries()
        if entries:
            reveal(entries[0].path, self.url_opener)

    def open_vault_action(self) -> None:
        start = self.vault.path.parent if self.vault else None
        self._ask_folder("Open a vault folder", self._open_chosen, start)

    def _open_chosen(self, folder: Path) -> None:
        self.open_vault_at(folder)

    def members_action(self) -> None:
        from vault_app.gui.dialogs.members import MembersDialog

        vault = self._need_vault()
        if vault is None:
            return
        dlg = MembersDialog(vault, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def settings_action(self) -> None:
        from vault_app.gui.dialogs.settings import SettingsDialog

        dlg = SettingsDialog(self.vault, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def _about(self) -> None:
        QMessageBox.about(self, "About Dataset Vault",
                          "Dataset Vault keeps dataset files locked with standard age "
                          "encryption, keys in your OS keyring and a per-file access list.")

    # -- opening a file named on the command line -------------------------------------------
    def open_target(self, target: Path) -> None:
        """What a double-click in the file manager (or a second launch) asks for."""
        from vault_app.core.vault import Vault

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
            root = Vault.find(target.parent)
            other = root is not None and (self.vault is None or self.vault.path != root)
            if other and root is not None and not self.open_vault_at(root):
                return
            self.offer_unlock(target)
        else:
            self.offer_lock(target)

    def offer_unlock(self, locked: Path) -> QMessageBox | None:
        if self.vault is None or self.model.row_of(locked) is None:
            self.statusBar().showMessage(f"{locked.name} is not in an open vault.", 8000)
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
        from vault_app.core.vault import Vault

        root = Vault.find(paths[0].parent)
        other = root is not None and (self.vault is None or self.vault.path != root)
        if other and root is not None and not self.open_vault_at(root):
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

    # -- drag out ---------------------------------------------------------------------------
    def _prepare_drag_out(self) -> QMimeData | None:
        """Confirm, unlock the selection into private staging, return file URLs to drag."""
        vault = self.vault
        entries = [e for e in self.selected_entries() if e.locked]
        if vault is None or not entries:
            return None
        total = sum(e.size for e in entries)
        if total > DRAG_OUT_LIMIT:
            self.statusBar().showMessage(
                "Too large to drag out; use Unlock to… to choose a folder.", 8000)
            return None
        loop = QEventLoop()
        answer: list[bool] = []
        box = self._confirm(
            "Unlock a copy?",
            f"Dragging out unlocks a plain copy of {len(entries)} file(s) "
            f"({human_size(total)}) where you drop it.", "Unlock copy",
            lambda: answer.append(True),
            info="The locked file stays in the vault. The plain copy is readable by anyone "
                 "who can read the folder you drop it in.")
        box.finished.connect(lambda _r: loop.quit())
        loop.exec()
        if not answer:
            return None
        slot = self.staging.new_slot()
        outputs: list[Path] = []
        failed: list[BaseException] = []
        loop = QEventLoop()

        def ended(bucket: list[Any], item: Any) -> None:
            bucket.append(item)
            if len(outputs) + len(failed) == len(entries):
                loop.quit()

        for e in entries:
            self.runner.run(functools.partial(vault.unlock, e.path, slot),
                            label=f"Unlocking {e.name}", total_bytes=e.size,
                            on_success=functools.partial(ended, outputs),
                            on_failure=functools.partial(ended, failed))
        # ours may finish before other queued work; a Cancel ends the wait via idle
        self.runner.idle.connect(loop.quit)
        try:
            if len(outputs) + len(failed) < len(entries):
                loop.exec()
        finally:
            self.runner.idle.disconnect(loop.quit)
        if failed or len(outputs) != len(entries):
            self.staging.discard(slot)
            if failed:
                show_error(self, failed[0], action="unlock a copy to drag out")
            return None
        self.view.after_drag = lambda: self.staging.discard_later(slot)
        return file_urls_mime(outputs)

    def _close_now(self) -> None:
        self._closing = True
        self.close()

    # -- drops on the window (empty state, details pane) ----------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.vault is not None and local_paths(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if self.vault is None or not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.lock_files(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.busy() and not self._closing:
            event.ignore()
            self._confirm("Stop and quit?",
                          f"{self.runner.current_label() or 'An operation'} is still running.",
                          "Stop and Quit", self._close_now,
                          info="Stopping leaves nothing half-written: files not yet "
                               "finished stay as they were.", icon=QMessageBox.Icon.Warning)
            return
        if self.runner.busy():
            self.runner.shutdown()
        self._save_layout()
        self.model.wait_idle(3000)
        self.staging.clear()
        super().closeEvent(event)
