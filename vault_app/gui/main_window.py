"""The main window: the vault's files, their details, and every action on them.

This module builds it (the list, the details pane, actions, toolbar, menus, status bar)
and keeps the list in step with the vault and the selection; what the actions do lives
in its parts (see ``window_part.py``): ``file_actions.py``, ``team_actions.py``,
``open_targets.py``, ``dnd.py``. All background work goes through one ``Tasks``
(``tasks.py``): changes on its change lane, shown in the status bar; reads on its read
lane. Every dialog opens non-blocking (``open()``), so the event loop keeps running and
tests answer dialogs the way a person would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from vault_app.gui import icons
from vault_app.gui.columns import ColumnFitter
from vault_app.gui.details_pane import DetailsPane, history_of
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.direct_save import DirectSave
from vault_app.gui.disk_watch import DiskWatch
from vault_app.gui.dnd import DragAndDrop, DropHint, FileTableView, Staging
from vault_app.gui.empty_state import EmptyState
from vault_app.gui.file_model import Column, Entry, FileFilterProxy, FileTableModel
from vault_app.gui.notice import NoticeBar
from vault_app.gui.open_targets import OpenTargets
from vault_app.gui.tasks import Tasks
from vault_app.gui.team_actions import TeamActions
from vault_app.gui.vault_banner import VaultBanner
from vault_app.gui.vault_state import MetaWatch

if TYPE_CHECKING:
    from PySide6.QtCore import QPoint, QUrl

    from vault_app.core.keystore import Keystore
    from vault_app.core.vault import Vault


class MainWindow(TeamActions, OpenTargets, DragAndDrop, QMainWindow):
    """Browse a vault; lock, unlock, preview, share, revoke, verify, reveal."""

    def __init__(self, vault: Vault | None = None, parent: QWidget | None = None, *,
                 keystore: Keystore | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dataset Vault")
        self.setWindowIcon(icons.icon("app"))
        self.setAcceptDrops(True)
        self.resize(1100, 680)
        self.tasks = Tasks(self)
        self.staging = Staging()
        self.direct_save = DirectSave.open()   # X11: drag out in one gesture
        self.url_opener: Callable[[QUrl], Any] = QDesktopServices.openUrl
        self.vault: Vault | None = None
        self._closing = False
        #: Keys opened once stay cached in it for every vault this window opens; by
        #: default the OS keyring, asking in a dialog for a key file's passphrase.
        self.keystore = keystore or (vault.keystore if vault is not None
                                     else self._default_keystore())

        self.model = FileTableModel(self.tasks, self)
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
        self.notice = NoticeBar()
        self.banner = VaultBanner()   # membership, first use, the vault's health
        self.meta_watch = MetaWatch(self)
        self.drop_hint = DropHint(self.stack)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.notice)
        column.addWidget(split, 1)
        self.setCentralWidget(central)
        self.lock_batch = None
        self._stopped: list[str] = []

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
        self.disk = DiskWatch(self.model, self.tasks, self)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.view.drag_hover.connect(self._hover_drop)
        self.tasks.task_cancelled.connect(self._stopped.append)
        self.tasks.idle.connect(self._on_idle)
        self._connect_banner()
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
        self.columns = ColumnFitter(view)   # names first, at any width
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
                             "The vault's members, their keys, and requests to join")
        self.act_join = a("Ask to Join…", None, self.ask_to_join_action, None,
                          "Ask a vault admin to make you a member of this vault")
        self.act_resolve = a("Resolve…", None, self.resolve_action, None,
                             "Repair sync conflicts, forks and older copies put back "
                             "(vault admins)")
        self.act_settings = a("Settings…", "settings", self.settings_action,
                              "Ctrl+,", "Default unlock folder, keep originals, theme")
        self.act_verify_vault = a("Verify Whole Vault", None, self.verify_vault, None,
                                  "Every file, and the vault's own records: conflict "
                                  "copies, rollbacks, the audit log")
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
        vault_menu.addAction(self.act_join)
        vault_menu.addAction(self.act_verify_vault)
        vault_menu.addAction(self.act_resolve)
        vault_menu.addSeparator()
        vault_menu.addAction(self.act_settings)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("About Dataset Vault", self.about)

    def _file_actions(self) -> list[QAction | None]:
        return [self.act_unlock, self.act_preview, None, self.act_share, self.act_revoke,
                self.act_verify, None, self.act_reveal]

    def _make_status_bar(self) -> None:
        from vault_app.gui.dialogs.progress import ProgressPanel

        bar = self.statusBar()
        self.count_label = QLabel()
        self.count_label.setAccessibleName("File count")
        bar.addWidget(self.count_label)
        self.progress_panel = ProgressPanel(self.tasks)
        bar.addPermanentWidget(self.progress_panel)

    # -- vault ------------------------------------------------------------------------------
    def set_vault(self, vault: Vault | None) -> None:
        self.vault = vault
        if vault is not None:
            self.keystore = vault.keystore
            settings = Settings()
            settings.add_recent_vault(vault.path)
            settings.sync()
        self.model.set_vault(vault)
        QTimer.singleShot(0, self.disk.watch)   # after the first paint
        self.empty.set_vault(vault)
        self._vault_opened(vault)
        self.setWindowTitle(f"{vault.path.name} — Dataset Vault" if vault else "Dataset Vault")
        self._update_stack()
        self._on_selection()

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
        self.disk.rescan()
        self.refresh_state()

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

    def _on_idle(self) -> None:
        """The change lane is done: say what a batch of locks did, or what a Cancel
        stopped (nothing half-written is left behind)."""
        stopped, self._stopped = self._stopped, []
        self._on_selection()   # the details' history shows what was just done
        if self.lock_batch is not None:
            self.lock_batch.stopped = bool(stopped)
            self._report_locks()
        elif stopped:
            what = stopped[0] if len(stopped) == 1 else f"{len(stopped)} operations"
            self.notice.show_notice(
                f"Stopped: {what}. Nothing half-written was left behind; files not yet "
                "done are as they were.", "info")

    def _hover_drop(self, hovering: bool) -> None:
        """Files dragged over the window: say what a drop does, in the list's place."""
        if hovering and self.vault is not None:
            self.drop_hint.show_for(self.vault.path.name)
        else:
            self.drop_hint.hide()

    # -- selection and details --------------------------------------------------------------
    def _on_selection(self, *_args: object) -> None:
        entries = self.selected_entries()
        locked = [e for e in entries if e.locked]
        one_locked = len(entries) == 1 and entries[0].locked
        # "No access" rows: not locked for this user, so nothing to unlock or preview
        readable = [e for e in locked if self.model.readable(e)]
        has_vault = self.vault is not None
        self.act_lock.setEnabled(has_vault)
        self.act_unlock.setEnabled(bool(readable))
        self.act_preview.setEnabled(one_locked and bool(readable))
        self.act_share.setEnabled(one_locked)
        self.act_revoke.setEnabled(one_locked)
        self.act_verify.setEnabled(has_vault)
        self.act_reveal.setEnabled(bool(entries))
        self.act_members.setEnabled(has_vault)
        self.act_verify_vault.setEnabled(has_vault)
        self.act_refresh.setEnabled(has_vault)
        if entries:
            self.model.request_rows(self.model.row_of(e.path) or 0 for e in entries)
        self._show_details(entries[0] if len(entries) == 1 else None)

    def _on_details_loaded(self, path: Path) -> None:
        entries = self.selected_entries()
        if any(e.path == path for e in entries):
            self._on_selection()   # the actions follow what the header says (No access)

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
            self.tasks.read(functools.partial(history_of, root, path), owner=self.details,
                            on_success=functools.partial(self._show_history, path),
                            on_failure=lambda _exc: None)   # no history shown, no dialog

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

    # -- closing ----------------------------------------------------------------------------
    def _close_now(self) -> None:
        self._closing = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tasks.busy() and not self._closing:
            event.ignore()
            self._confirm("Stop and quit?",
                          f"{self.tasks.current_label() or 'An operation'} is still running.",
                          "Stop and Quit", self._close_now,
                          info="Stopping leaves nothing half-written: files not yet "
                               "finished stay as they were.", icon=QMessageBox.Icon.Warning)
            return
        self.tasks.shutdown()
        self._save_layout()
        self.staging.clear()
        super().closeEvent(event)
