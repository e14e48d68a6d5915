"""The details of the selected file: sizes, ACL, author, signature, and its history as
recorded in the vault's audit log (``.vault/audit.log``, signed and hash-chained by the
core; this pane lists it, ``vault audit --verify`` checks the chain)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.errors import VaultError
from vault_app.gui import icons, verdicts
from vault_app.gui.file_model import Entry, human_time
from vault_app.gui.units import home_relative, human_size

if TYPE_CHECKING:
    from vault_app.core.audit import AuditRecord

_ACTIONS = {"lock": "locked", "update": "replaced the content", "unlock": "unlocked a copy",
            "share": "shared", "revoke": "revoked", "export": "exported a copy"}


def history_of(root: Path, path: Path) -> list[AuditRecord] | None:
    """The file's records in the vault's audit log (read lane; None if unreadable)."""
    from vault_app.core.audit import AuditLog
    from vault_app.core.layout import vault_name
    from vault_app.core.safe_fs import parts_of

    try:
        return AuditLog(root).history(vault_name(parts_of(root, path)))
    except (ValueError, OSError, VaultError):
        return None


def local_time(iso: str) -> str:
    """The log's ISO time (UTC) in local time, like the Modified column."""
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def describe(record: AuditRecord) -> str:
    """One history line in words: "alice shared with bob (reader)"."""
    verb = _ACTIONS.get(record.action, record.action)
    d = record.details
    if record.action == "share":
        return f"{record.actor} shared with {d.get('user', '?')} ({d.get('role', 'reader')})"
    if record.action == "revoke":
        return f"{record.actor} revoked {d.get('user', '?')}"
    return f"{record.actor} {verb}"


def _label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class _WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as the wrapped text of one column needs (a tree view measures rows
    without knowing the column's width, so long entries were cut to "…")."""

    def __init__(self, view: QTreeWidget, column: int) -> None:
        super().__init__(view)
        self._view = view
        self._column = column

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
                 ) -> QSize:
        hint = super().sizeHint(option, index)
        if index.column() != self._column:
            return hint
        width = max(20, self._view.columnWidth(self._column) - 8)
        box = option.fontMetrics.boundingRect(QRect(0, 0, width, 10_000),
                                              int(Qt.TextFlag.TextWordWrap),
                                              str(index.data() or ""))
        return QSize(hint.width(), max(hint.height(), box.height() + 4))


class DetailsPane(QWidget):
    """Read-only view of one ``Entry``; ``show_entry(None)`` shows a hint instead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("File details")
        self.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setAccessibleName("Selected file name")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.placeholder = QLabel("Select a file to see who can read it and who signed it.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.placeholder)

        self.body = QWidget()
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        self.state = _label()
        self.size_label = _label()
        self.modified = _label()
        self.author = _label()
        self.signature = _label()
        self.signature.setAccessibleName("Signature")
        self.sig_icon = QLabel()
        self.location = _label()
        form.addRow("State:", self.state)
        form.addRow("Size:", self.size_label)
        form.addRow("Modified:", self.modified)
        form.addRow("Author:", self.author)
        form.addRow(self.sig_icon, self.signature)
        form.addRow("Location:", self.location)
        layout.addWidget(self.body)

        self.acl_title = QLabel("Access")
        self.acl_title.setStyleSheet("font-weight: bold")
        layout.addWidget(self.acl_title)
        self.acl = QTreeWidget()
        self.acl.setAccessibleName("Who can read this file")
        self.acl.setHeaderLabels(["User", "Role"])
        self.acl.setRootIsDecorated(False)
        self.acl.setMaximumHeight(130)
        layout.addWidget(self.acl)
        self.history_title = QLabel("History")
        self.history_title.setStyleSheet("font-weight: bold")
        layout.addWidget(self.history_title)
        self.history = QTreeWidget()
        self.history.setAccessibleName("History of this file")
        self.history.setHeaderLabels(["When", "What"])
        self.history.setRootIsDecorated(False)
        self.history.setWordWrap(True)   # a long entry wraps rather than being cut
        self.history.setItemDelegate(_WrappingDelegate(self.history, column=1))
        self.history.header().sectionResized.connect(
            lambda *_args: self.history.doItemsLayout())   # row heights for the new width
        layout.addWidget(self.history, 1)
        layout.addStretch(0)
        self.show_entry(None)

    def show_entry(self, entry: Entry | None, state: str | None = None) -> None:
        """``state``: the long form of the State column (the window knows the user)."""
        has = entry is not None
        self.placeholder.setVisible(not has)
        self.body.setVisible(has)
        self.acl_title.setVisible(has and entry.locked if entry else False)
        self.acl.setVisible(has and entry.locked if entry else False)
        self.acl.clear()
        self.show_history(None)
        if entry is None:
            self.title.setText("No file selected")
            return
        self.title.setText(entry.name)
        # ~/Vault/… as people say it; a break allowed after each "/" so that a long path
        # wraps inside the pane instead of running off its edge
        self.location.setText(home_relative(entry.path).replace("/", "/\u200b"))
        self.location.setToolTip(str(entry.path))
        self.modified.setText(human_time(entry.modified))
        if not entry.locked:
            self.state.setText("Not locked: stored in plain text. Lock it to protect it.")
            self.size_label.setText(human_size(entry.disk_size))
            self.author.setText("—")
            self.signature.setText("Plain files carry no signature.")
            self.sig_icon.clear()
            return
        info = entry.info
        size = human_size(entry.size) if info else "…"
        self.size_label.setText(f"{size} (locked file: {human_size(entry.disk_size)})")
        status = entry.signature
        detail = (entry.verdict_detail if entry.verdict is not None
                  else info.signature_detail if info else entry.error or "")
        self.signature.setText(verdicts.describe(status, detail) if status
                               else "Reading the header…")
        self.signature.setToolTip(verdicts.sentence(status) if status in verdicts.HISTORY
                                  else detail)
        self.sig_icon.setPixmap(icons.signature_icon(status).pixmap(24, 24))
        self.sig_icon.setToolTip(f"Signature: {verdicts.short(status)}")
        if info is None:
            self.state.setText(state or "Locked")
            self.author.setText("…" if entry.error is None else "—")
            return
        self.state.setText(state or "Locked")
        self.author.setText(info.author or "unknown")
        roles = dict(info.acl)
        for user in info.readers:
            roles.setdefault(user, None)  # type: ignore[arg-type]
        for user, role in sorted(roles.items()):
            role_text = getattr(role, "value", role) or "reader (key only)"
            QTreeWidgetItem(self.acl, [user, str(role_text)])

    def show_history(self, records: Sequence[AuditRecord] | None) -> None:
        """Newest first; None hides the section (no file, or no log)."""
        self.history.clear()
        self.history_title.setVisible(records is not None)
        self.history.setVisible(records is not None)
        if not records:
            if records is not None:
                QTreeWidgetItem(self.history, ["", "No recorded changes yet"])
            return
        for r in reversed(records[-200:]):
            item = QTreeWidgetItem(self.history, [local_time(r.time), describe(r)])
            item.setToolTip(1, describe(r))
        self.history.resizeColumnToContents(0)
