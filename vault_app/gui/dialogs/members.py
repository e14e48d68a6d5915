"""MembersDialog: the vault's members (signed registry) and the requests to join it.

Newcomers ask to join from their own login (the window's Ask to join, or `vault join`):
their keys are made in their own keyring and a request holding only public keys is
written into the vault. Admins see the requests here, with the login that wrote each
and its fingerprint, and approve one by typing the fingerprint the person reads out
(``approve.py``), or reject it. An admin can still add a member from public keys sent
to them (``AddMemberDialog``: pasted, or the file `vault user show --json` writes),
comparing the fingerprint shown with the one the person reads out; nothing secret is
ever asked for, and no keys are ever made here for someone else. Every change (a signed
registry write) runs on the change lane of the window's ``Tasks``, never on the UI
thread; the requests are read on the read lane.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.errors import KeyFormatError
from vault_app.core.joining import JoinRequest
from vault_app.core.keys import parse_recipient
from vault_app.core.layout import check_name
from vault_app.core.members import fingerprint
from vault_app.core.signing import parse_signing_public
from vault_app.core.vault import Member, Vault
from vault_app.gui.dialogs.approve import ApproveDialog
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.tables import selected_key
from vault_app.gui.tasks import Tasks

MAX_KEY_FILE = 64 * 1024
_FIELD = re.compile(r"^\s*(name|recipient|public key|signing key|signing public key)\s*:\s*(\S+)",
                    re.IGNORECASE | re.MULTILINE)


def parse_public_keys(text: str) -> dict[str, str]:
    """Name, recipient and signing key from pasted text: JSON, or ``field: value`` lines."""
    text = text.strip()
    found: dict[str, str] = {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFormatError("the pasted text is not valid JSON") from exc
        if isinstance(data, dict):
            for key in ("name", "recipient", "signing_key"):
                if isinstance(data.get(key), str):
                    found[key] = data[key]
    else:
        for field, value in _FIELD.findall(text):
            key = {"public key": "recipient", "signing public key": "signing_key",
                   "signing key": "signing_key"}.get(field.lower(), field.lower())
            found.setdefault(key, value)
        for word in text.split():  # bare keys, in any order
            if word.startswith("age1"):
                found.setdefault("recipient", word)
            elif word.startswith("vaultsig1"):
                found.setdefault("signing_key", word)
    if "AGE-SECRET-KEY" in text.upper():
        raise KeyFormatError("that text contains a secret key; paste only public keys",
                             hint="use `vault user show` to print the public keys")
    if not found:
        raise KeyFormatError("no public keys found in the pasted text",
                             hint="paste the output of `vault user show` (or --json)")
    return found


class AddMemberDialog(QDialog):
    """Public keys in, checked; Add member writes the signed registry entry (then
    ``member`` is the new member and the dialog is accepted)."""

    def __init__(self, vault: Vault, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addMemberDialog")
        self.setWindowTitle("Add a member")
        self._vault = vault
        self._tasks = tasks
        self._adding = False
        self.member: Member | None = None
        intro = QLabel("Paste the new member's public keys (what `vault user show` prints), "
                       "or import them from a file. Public keys only: never a secret key. "
                       "(Someone with access to this computer can instead ask to join "
                       "from their own login; you then approve their request.)", self)
        intro.setWordWrap(True)
        self.paste = QPlainTextEdit(self)
        self.paste.setObjectName("memberPaste")
        self.paste.setAccessibleName("Pasted public keys")
        self.paste.setPlaceholderText("name: bob\nrecipient: age1…\nsigning key: vaultsig1…")
        self.paste.setMaximumHeight(90)
        self.paste.textChanged.connect(self._from_paste)
        self.import_button = QPushButton("Import from file…", self)
        self.import_button.setObjectName("memberImport")
        self.import_button.clicked.connect(self._ask_import)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("memberName")
        self.name_edit.setAccessibleName("Member name")
        self.recipient_edit = QLineEdit(self)
        self.recipient_edit.setObjectName("memberRecipient")
        self.recipient_edit.setAccessibleName("Public age recipient")
        self.signing_edit = QLineEdit(self)
        self.signing_edit.setObjectName("memberSigningKey")
        self.signing_edit.setAccessibleName("Public signing key")
        self.admin_check = QCheckBox("Vault admin (may add and remove members)", self)
        self.admin_check.setObjectName("memberAdmin")
        self.fingerprint = QLabel(self)
        self.fingerprint.setObjectName("memberFingerprint")
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem = QLabel(self)
        self.problem.setObjectName("memberProblem")
        self.problem.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Recipient:", self.recipient_edit)
        form.addRow("Signing key:", self.signing_edit)
        form.addRow("Fingerprint:", self.fingerprint)
        form.addRow("", self.admin_check)
        self.buttons = QDialogButtonBox(self)
        self.add_button = self.buttons.addButton("Add member",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setObjectName("memberAdd")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.name_edit, self.recipient_edit, self.signing_edit):
            edit.textChanged.connect(self._check)
        top = QHBoxLayout()
        top.addWidget(self.paste, 1)
        top.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.import_dialog: QFileDialog | None = None
        self._check()

    def _from_paste(self) -> None:
        text = self.paste.toPlainText()
        if not text.strip():
            return
        try:
            found = parse_public_keys(text)
        except KeyFormatError as exc:
            self.problem.setText(str(exc)[0].upper() + str(exc)[1:] + ".")
            return
        for key, edit in (("name", self.name_edit), ("recipient", self.recipient_edit),
                          ("signing_key", self.signing_edit)):
            if key in found:
                edit.setText(found[key])

    def _ask_import(self) -> None:
        dialog = QFileDialog(self, "Import public keys", str(Path.home()),
                             "Public keys (*.json *.txt *.pub);;All files (*)")
        dialog.setObjectName("memberImportDialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self._import_selected)
        if self.import_dialog is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.import_dialog.deleteLater()
        self.import_dialog = dialog
        dialog.open()

    def _import_selected(self, name: str) -> None:
        self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_KEY_FILE + 1)
        except OSError as exc:
            show_error(self, exc, action=f"read {path.name}")
            return
        if len(data) > MAX_KEY_FILE:
            self.problem.setText(f"{path.name} is too large to be a public key file.")
            return
        self.paste.setPlainText(data.decode("utf-8", "replace"))

    def _problem(self) -> str:
        name = self.name_edit.text().strip()
        try:
            check_name(name)
        except Exception:
            return "Enter a name: letters, digits and . _ @ -."
        if any(m.name == name for m in self._vault.members()):
            return f"{name} is already a member."
        try:
            parse_recipient(self.recipient_edit.text())
        except Exception:
            return "The recipient must be a public age key (age1…)."
        try:
            parse_signing_public(self.signing_edit.text().strip())
        except Exception:
            return "The signing key must be a public signing key (vaultsig1…)."
        return ""

    def _check(self) -> None:
        problem = self._problem()
        self.problem.setText(problem)
        self.add_button.setEnabled(not problem and not self._adding)
        name = self.name_edit.text().strip() or "them"
        self.fingerprint.setText(
            "" if problem else
            f"{fingerprint(self.recipient_edit.text().strip(), self.signing_edit.text().strip())}"
            f" — add only if {name} reads you the same (keys sent by mail or chat may have "
            "been swapped on the way)")

    def accept(self) -> None:
        """Add the member on the change lane; the dialog closes once it is written."""
        if self._adding or self._problem():
            return
        vault, name = self._vault, self.name_edit.text().strip()
        recipient, signing = self.recipient_edit.text().strip(), self.signing_edit.text().strip()
        admin = self.admin_check.isChecked()
        self._set_adding(True)
        self._tasks.change(
            lambda progress, cancel: vault.add_member(name, recipient, signing, admin=admin),
            label=f"Adding {name}", what=f"add {name}", owner=self,
            on_success=self._added, on_failure=self._not_added)

    def _set_adding(self, adding: bool) -> None:
        self._adding = adding
        for widget in (self.paste, self.import_button, self.name_edit, self.recipient_edit,
                       self.signing_edit, self.admin_check):
            widget.setEnabled(not adding)
        self._check()

    def _added(self, member: Member) -> None:
        self._set_adding(False)
        self.member = member
        super().accept()

    def _not_added(self, exc: BaseException) -> None:
        self._set_adding(False)
        show_error(self, exc, action=f"add {self.name_edit.text().strip()}")


class MembersDialog(QDialog):
    """Lists members with role and key fingerprint, and the requests to join; admins
    approve or reject requests, add members from public keys, and remove members."""

    COLUMNS = ("Name", "Role", "Added by", "Added", "Key fingerprint")
    REQUEST_COLUMNS = ("Name", "Written by login", "Asked", "Fingerprint")
    #: The requests were read and shown (after each ``refresh``).
    requests_shown = Signal()

    def __init__(self, vault: Vault, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("membersDialog")
        self.setWindowTitle(f"Members of {vault.path.name}")
        self.resize(720, 420)
        self._vault = vault
        self._tasks = tasks
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setObjectName("membersTable")
        self.table.setAccessibleName("Vault members")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.problems = QLabel(self)
        self.problems.setObjectName("membersProblems")
        self.problems.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setObjectName("membersNote")
        self.note.setWordWrap(True)
        self._make_requests()
        self.add_button = QPushButton("Add from public keys…", self)
        self.add_button.setObjectName("membersAdd")
        self.remove_button = QPushButton("Remove member", self)
        self.remove_button.setObjectName("membersRemove")
        self.copy_button = QPushButton("Copy my public keys", self)
        self.copy_button.setObjectName("membersCopyMine")
        self.copy_button.setToolTip("To send to an admin of another vault")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._ask_add)
        self.remove_button.clicked.connect(self._ask_remove)
        self.copy_button.clicked.connect(self.copy_my_keys)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.problems)
        layout.addWidget(self.note)
        layout.addLayout(row)
        layout.addWidget(self.requests_title)
        layout.addWidget(self.requests_table)
        layout.addWidget(self.requests_problems)
        requests_row = QHBoxLayout()
        requests_row.addWidget(self.approve_button)
        requests_row.addWidget(self.reject_button)
        requests_row.addStretch(1)
        layout.addLayout(requests_row)
        layout.addWidget(close)
        self.add_dialog: AddMemberDialog | None = None
        self.approve_dialog: ApproveDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._requests: dict[str, JoinRequest] = {}
        self.refresh()

    def _make_requests(self) -> None:
        self.requests_title = QLabel("Asking to join", self)
        self.requests_title.setObjectName("requestsTitle")
        self.requests_title.setStyleSheet("font-weight: bold")
        table = self.requests_table = QTableWidget(0, len(self.REQUEST_COLUMNS), self)
        table.setObjectName("requestsTable")
        table.setAccessibleName("Requests to join")
        table.setHorizontalHeaderLabels(list(self.REQUEST_COLUMNS))
        table.verticalHeader().hide()
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setMaximumHeight(140)
        table.itemSelectionChanged.connect(self._selection_changed)
        self.requests_problems = QLabel(self)
        self.requests_problems.setObjectName("requestsProblems")
        self.requests_problems.setWordWrap(True)
        self.requests_problems.setTextFormat(Qt.TextFormat.PlainText)
        self.approve_button = QPushButton("Approve…", self)
        self.approve_button.setObjectName("requestsApprove")
        self.approve_button.clicked.connect(self._ask_approve)
        self.reject_button = QPushButton("Reject…", self)
        self.reject_button.setObjectName("requestsReject")
        self.reject_button.clicked.connect(self._ask_reject)

    def _is_admin(self) -> bool:
        member = self._vault.registry.lookup(self._vault.user)
        return bool(member and member.active and member.admin)

    def refresh(self) -> None:
        members = self._vault.members()
        self.table.setRowCount(len(members))
        for row, m in enumerate(members):
            cells = [m.name + (" (you)" if m.name == self._vault.user else ""),
                     "Admin" if m.admin else "Member", m.added_by, m.added[:10],
                     m.fingerprint()]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, m.name)
                if col == 4:
                    item.setToolTip(f"recipient {m.recipient}\nsigning key {m.signing_key}")
                self.table.setItem(row, col, item)
        problems = self._vault.registry.problems
        if problems:
            self.problems.setText("Refused entries (their keys are not trusted): " + "; ".join(
                f"{n}: {p}" for n, p in sorted(problems.items())))
        self.problems.setVisible(bool(problems))
        admin = self._is_admin()
        self.add_button.setEnabled(admin)
        self.note.setText("" if admin else
                          "Only vault admins can approve, add or remove members.")
        self.note.setVisible(not admin)
        self._selection_changed()
        self._tasks.read(self._vault.join_requests, owner=self,
                         on_success=self._show_requests,
                         on_failure=self._requests_unreadable)

    def _show_requests(self, found: tuple[list[JoinRequest], list[str]]) -> None:
        requests, problems = found
        self._requests = {r.name: r for r in requests}
        table = self.requests_table
        table.setRowCount(len(requests))
        for row, r in enumerate(requests):
            cells = [r.name, r.file_owner or "—", r.requested[:16].replace("T", " "),
                     r.fingerprint]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, r.name)
                table.setItem(row, col, item)
        self.requests_title.setText(f"Asking to join ({len(requests)})" if requests
                                    else "Asking to join: nobody")
        table.setVisible(bool(requests))
        self.requests_problems.setText(
            "Set aside (not shown, never to be approved): " + "; ".join(problems)
            if problems else "")
        self.requests_problems.setVisible(bool(problems))
        self._selection_changed()
        self.requests_shown.emit()

    def _requests_unreadable(self, exc: BaseException) -> None:
        self._show_requests(([], [f"the requests could not be read: {exc}"]))

    def selected_name(self) -> str | None:
        return selected_key(self.table)

    def selected_request(self) -> JoinRequest | None:
        name = selected_key(self.requests_table)
        return self._requests.get(name) if name is not None else None

    def _selection_changed(self) -> None:
        name = self.selected_name()
        admin = self._is_admin()
        self.remove_button.setEnabled(
            admin and name is not None and name != self._vault.user
            and name != self._vault.config.get("root_admin"))
        chosen = admin and self.selected_request() is not None
        self.approve_button.setEnabled(chosen)
        self.reject_button.setEnabled(chosen)
        self.approve_button.setVisible(admin)
        self.reject_button.setVisible(admin)

    def _ask_approve(self) -> None:
        request = self.selected_request()
        if request is None:
            return
        dialog = ApproveDialog(self._vault, request, self._tasks, self)
        dialog.accepted.connect(self.refresh)
        if self.approve_dialog is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.approve_dialog.deleteLater()
        self.approve_dialog = dialog
        dialog.open()

    def _ask_reject(self) -> None:
        request = self.selected_request()
        if request is None:
            return
        name = request.name
        self._ask(f"Reject {name}'s request?",
                  f"The request to join from {name} (fingerprint {request.fingerprint}) is "
                  "removed, and the refusal recorded in the vault's audit log.",
                  f"{name} can ask again; nothing else changes.", "Reject request",
                  lambda: self.reject_request(name))

    def reject_request(self, name: str) -> None:
        """Reject the request on the change lane; the list shows it once written."""
        vault = self._vault
        self.reject_button.setEnabled(False)
        self._tasks.change(lambda progress, cancel: vault.reject(name),
                           label=f"Rejecting {name}", what=f"reject {name}'s request",
                           owner=self, on_success=lambda _none: self.refresh(),
                           on_failure=lambda exc: self._not_changed(f"reject {name}", exc))

    def _ask_add(self) -> None:
        dialog = AddMemberDialog(self._vault, self._tasks, self)
        dialog.accepted.connect(self.refresh)
        if self.add_dialog is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.add_dialog.deleteLater()
        self.add_dialog = dialog
        dialog.open()

    def _ask_remove(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        self._ask(f"Remove {name}?",
                  f"{name} will no longer be a member of this vault: new files will not be "
                  "shared with them, and they cannot be given access again until re-added.",
                  "Files already shared with them stay readable to them until you remove "
                  "their access on each file (Share…, which re-encrypts it). Copies they "
                  "already made are out of reach of any tool.", "Remove member",
                  lambda: self.remove(name), name="confirmRemoveMember")

    def _ask(self, title: str, text: str, info: str, ok: str, done: Callable[[], None],
             name: str = "confirm") -> None:
        if self.confirm_box is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.confirm_box.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName(name)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(info)
        box.addButton(ok, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda b: done() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
            else None)
        self.confirm_box = box
        box.open()

    def remove(self, name: str) -> None:
        """Remove the member on the change lane; the list shows it once written."""
        vault = self._vault
        self.remove_button.setEnabled(False)
        self._tasks.change(lambda progress, cancel: vault.remove_member(name),
                           label=f"Removing {name}", what=f"remove {name}", owner=self,
                           on_success=lambda _member: self.refresh(),
                           on_failure=lambda exc: self._not_changed(f"remove {name}", exc))

    def _not_changed(self, action: str, exc: BaseException) -> None:
        show_error(self, exc, action=action)
        self._selection_changed()

    def copy_my_keys(self) -> str:
        """Put the acting user's public keys on the clipboard (JSON, as `vault user show`)."""
        try:
            member = self._vault.registry.member(self._vault.user)
        except Exception as exc:
            show_error(self, exc, action="copy your public keys")
            return ""
        text = json.dumps({"name": member.name, "recipient": member.recipient,
                           "signing_key": member.signing_key}, indent=2)
        QGuiApplication.clipboard().setText(text)
        return text
