"""ShareDialog: who may read one locked file, and with which role; says what a change does.

Giving access or changing a role rewrites the file's header only (the file key is wrapped
for the new reader). Removing someone re-encrypts the content under a fresh file key they
do not get; copies they already made stay readable to them, and the dialog says so.
Changes are applied on the change lane of the window's ``Tasks`` (``vault.share`` /
``vault.revoke``), so the file list refreshes the file's row when they succeed; after a
failure or a cancel the dialog reads the file again on the read lane and shows what it
says now.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.vault import FileInfo, Role, Vault
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.tables import selected_key
from vault_app.gui.tasks import Tasks

NO_ACCESS = "none"
CHOICES = [(NO_ACCESS, "No access"), (Role.READER.value, "Reader — can read"),
           (Role.EDITOR.value, "Editor — can read and replace"),
           (Role.OWNER.value, "Owner — can also share")]
ROLE_WORDS = {Role.READER.value: "a reader", Role.EDITOR.value: "an editor",
              Role.OWNER.value: "an owner"}


@dataclass(frozen=True)
class Change:
    user: str
    old: str   # a role value, or NO_ACCESS
    new: str

    @property
    def revokes(self) -> bool:
        return self.new == NO_ACCESS


def describe(changes: list[Change], name: str) -> str:
    """The plain sentences shown above the buttons: what Apply will do."""
    if not changes:
        return "No changes yet. Choose a role for a member to share this file with them."
    lines: list[str] = []
    grants = [c for c in changes if not c.revokes]
    revokes = [c for c in changes if c.revokes]
    for c in grants:
        if c.old == NO_ACCESS:
            lines.append(f"{c.user} will get access to {name} as {ROLE_WORDS[c.new]}.")
        else:
            lines.append(f"{c.user} will become {ROLE_WORDS[c.new]} (now {c.old}).")
    if grants:
        lines.append("Sharing rewrites the file's header only; the content is not "
                     "re-encrypted.")
    if revokes:
        who = ", ".join(c.user for c in revokes)
        lines.append(f"{who} will lose access: the file is re-encrypted with a fresh key "
                     f"that {who} will not get. Copies {who} already made or unlocked stay "
                     "readable to them; no tool can reach those.")
    return "\n".join(lines)


def apply_changes(vault: Vault, locked: Path, changes: list[Change], progress: ProgressFn,
                  cancel: CancelToken, size: int) -> FileInfo:
    """Grants first (header rewrites), then revokes (each a re-encryption), and the acting
    user's own change last: once they stop being an owner they may change nothing more.
    Runs on the change lane."""
    mine = [c for c in changes if c.user == vault.user]
    others = [c for c in changes if c.user != vault.user]
    ordered = ([c for c in others if not c.revokes] + [c for c in others if c.revokes]
               + mine)
    info = vault.info(locked)
    offset = 0
    for c in ordered:
        cancel.check()
        if not c.revokes:
            info = vault.share(locked, c.user, Role(c.new))
            continue

        def step(done: int, base: int = offset) -> None:
            progress(base + done)

        info = vault.revoke(locked, c.user, progress=step, cancel=cancel)
        offset += size
    return info


class ShareDialog(QDialog):
    """Lists the vault's members with their role on this file; Apply shares or revokes."""

    applied = Signal(object)  # FileInfo after the changes

    def __init__(self, vault: Vault, info: FileInfo, tasks: Tasks,
                 parent: QWidget | None = None) -> None:
        """``info``: the file's header as just read (the window reads it on the read lane)."""
        super().__init__(parent)
        self.setObjectName("shareDialog")
        self._vault = vault
        self._path = info.path
        self._tasks = tasks
        self._busy = False
        self.info = info
        self.name = self.info.name
        self.setWindowTitle(f"Share {self.name}")
        self.resize(560, 460)

        mine = self.info.acl.get(vault.user)
        self.can_manage = mine == Role.OWNER
        intro = QLabel(self)
        intro.setObjectName("shareIntro")
        intro.setWordWrap(True)
        if self.can_manage:
            intro.setText(f"Choose who may open {self.name}. Only vault members are listed.")
        else:
            role = ROLE_WORDS.get(mine.value if mine else "", "not on its access list")
            intro.setText(f"Only the owners of {self.name} can change who reads it. "
                          f"You are {role}.")
        self.intro = intro

        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("shareTable")
        self.table.setAccessibleName("Members and their access to this file")
        self.table.setHorizontalHeaderLabels(["Member", "Access"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.combos: dict[str, QComboBox] = {}
        self._original: dict[str, str] = {}
        self._fill()

        self.remove_button = QPushButton("Remove access", self)
        self.remove_button.setObjectName("shareRemove")
        self.remove_button.setAccessibleName("Remove the selected member's access")
        self.remove_button.clicked.connect(self._remove_selected)
        self.remove_button.setEnabled(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.remove_button)

        self.summary = QLabel(self)
        self.summary.setObjectName("shareSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setMinimumHeight(64)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.buttons = QDialogButtonBox(self)
        self.apply_button = self.buttons.addButton(
            "Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setObjectName("shareApply")
        self.apply_button.setAccessibleName("Apply the access changes")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self._update()

    # -- building ------------------------------------------------------------------------
    def _fill(self) -> None:
        members = {m.name: m for m in self._vault.members()}
        names = sorted(set(members) | set(self.info.acl),
                       key=lambda n: (n != self._vault.user, n.lower()))
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            label = name
            if name == self._vault.user:
                label += " (you)"
            if name not in members:
                label += " — no longer a member"
            item = QTableWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.table.setItem(row, 0, item)
            combo = QComboBox(self.table)
            combo.setObjectName(f"role:{name}")
            combo.setAccessibleName(f"Access for {name}")
            for value, text in CHOICES:
                combo.addItem(text, value)
            role = self.info.acl.get(name)
            current = role.value if role is not None else NO_ACCESS
            combo.setCurrentIndex(combo.findData(current))
            self._original[name] = current
            combo.setEnabled(self.can_manage and (name in members or current != NO_ACCESS))
            if name not in members:  # a removed member can only lose access
                for i in range(1, combo.count()):
                    if combo.itemData(i) != current:
                        combo.model().item(i).setEnabled(False)  # type: ignore[attr-defined]
            combo.currentIndexChanged.connect(self._update)
            self.combos[name] = combo
            self.table.setCellWidget(row, 1, combo)

    # -- state ---------------------------------------------------------------------------
    def changes(self) -> list[Change]:
        out = []
        for name, combo in self.combos.items():
            new = str(combo.currentData())
            if new != self._original[name]:
                out.append(Change(name, self._original[name], new))
        return out

    def _owners_left(self) -> bool:
        return any(c.currentData() == Role.OWNER.value for c in self.combos.values())

    def _update(self) -> None:
        changes = self.changes()
        text = describe(changes, self.name)
        ok = bool(changes) and self.can_manage and not self._busy
        if changes and not self._owners_left():
            text = "A file needs at least one owner: make someone an owner first."
            ok = False
        self.summary.setText(text)
        self.apply_button.setEnabled(ok)
        self._selection_changed()

    def _selected_name(self) -> str | None:
        return selected_key(self.table)

    def _selection_changed(self) -> None:
        name = self._selected_name()
        combo = self.combos.get(name) if name else None
        self.remove_button.setEnabled(
            combo is not None and combo.isEnabled() and not self._busy
            and combo.currentData() != NO_ACCESS)

    def _remove_selected(self) -> None:
        name = self._selected_name()
        if name is not None:
            combo = self.combos[name]
            combo.setCurrentIndex(combo.findData(NO_ACCESS))

    # -- applying ------------------------------------------------------------------------
    def apply(self) -> None:
        changes = self.changes()
        if not changes or not self.apply_button.isEnabled():
            return
        revokes = sum(1 for c in changes if c.revokes)
        size = self.info.size or 0
        vault, path = self._vault, self._path
        self._set_busy(True)
        self._tasks.change(
            lambda progress, cancel: apply_changes(vault, path, changes, progress, cancel,
                                                   size),
            label=(f"Re-encrypting {self.name}" if revokes else f"Sharing {self.name}"),
            total_bytes=size * revokes, touches=(path,), owner=self,
            on_success=self._applied, on_failure=self._failed)
        self._tasks.task_cancelled.connect(self._cancelled)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.table.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        if busy:
            self.apply_button.setEnabled(False)
            self.summary.setText("Applying… (the progress is shown in the status bar)")
        else:
            self._update()

    def _applied(self, info: FileInfo) -> None:
        self._tasks.task_cancelled.disconnect(self._cancelled)
        self._busy = False
        self.info = info
        self.applied.emit(info)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._tasks.task_cancelled.disconnect(self._cancelled)
        show_error(self, exc, action=f"change who can read {self.name}")
        self._reload()

    def _cancelled(self, _label: str) -> None:
        """Some change was cancelled: if it was ours (we are still busy), show the file."""
        if self._busy:
            self._tasks.task_cancelled.disconnect(self._cancelled)
            self._reload()

    def _reload(self) -> None:
        """After a failure or cancel: read what the file says now (some changes may be
        in). If it cannot be read (moved away), keep what is shown; the error box says why."""
        self._tasks.read(functools.partial(self._vault.info, self._path), owner=self,
                         on_success=self._refill,
                         on_failure=lambda _exc: self._set_busy(False))

    def _refill(self, info: FileInfo) -> None:
        self.info = info
        self.combos.clear()
        self._original.clear()
        self.table.setRowCount(0)
        self._fill()
        self._set_busy(False)

    # -- no closing while a change is being written ----------------------------------------
    def reject(self) -> None:
        if not self._busy:
            super().reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._busy and event.key() == Qt.Key.Key_Escape:
            event.ignore()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy:
            event.ignore()
            return
        super().closeEvent(event)
