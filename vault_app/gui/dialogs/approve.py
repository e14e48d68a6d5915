"""ApproveDialog: admit someone from their join request, once their fingerprint matches.

A join request can be written by anyone who can write the vault's folder, under any
name. What tells the real newcomer apart is the fingerprint of their keys, which they
read out to the admin (in person, by phone). So the admin types (or pastes) what they
heard; a fingerprint that does not match the request's keys is refused here, in words,
before anything is written, and the core refuses it again when it approves (the request
is read afresh there). Approving runs on the change lane.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.errors import AccessDeniedError
from vault_app.core.joining import check_fingerprint
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.fit import fit_height

if TYPE_CHECKING:
    from vault_app.core.joining import JoinRequest
    from vault_app.core.vault import Member, Vault
    from vault_app.gui.tasks import Tasks

_HEX = re.compile(r"[^0-9a-f]")


def normalized(typed: str) -> str:
    """A fingerprint as people type or paste it ("1A2B 3C4D-…", no separators) in the
    form the vault writes it (``1a2b:3c4d:5e6f:7a8b``); anything else as typed."""
    digits = _HEX.sub("", typed.lower())
    if len(digits) == 16:
        return ":".join(digits[i:i + 4] for i in range(0, 16, 4))
    return typed.strip()


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class ApproveDialog(QDialog):
    """Approve ``request``; accepted once the member is written (``member`` set)."""

    def __init__(self, vault: Vault, request: JoinRequest, tasks: Tasks,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("approveDialog")
        name = request.name
        self.setWindowTitle(f"Approve {name}")
        self.setMinimumWidth(460)
        self._vault, self._request, self._tasks = vault, request, tasks
        self._approving = False
        self.member: Member | None = None
        who = (f"The request was written by the login {request.file_owner}."
               if request.file_owner else "")
        if request.file_owner and request.file_owner != name:
            who += (f" That is not a login named {name}: make sure you know why before "
                    "you approve.")
        self.about = _label(f"{name} asked to join on {request.requested[:10]}. {who}",
                            self)
        self.about.setObjectName("approveAbout")
        self.ask = _label(
            f"Ask {name} to read you the fingerprint they were shown when they asked to "
            "join (in person or by phone), and type it here. It proves the request holds "
            f"{name}'s own keys.", self)
        self.fingerprint = QLineEdit(self)
        self.fingerprint.setObjectName("approveFingerprint")
        self.fingerprint.setAccessibleName(f"Fingerprint {name} read out")
        self.fingerprint.setPlaceholderText("xxxx:xxxx:xxxx:xxxx")
        self.fingerprint.textChanged.connect(self._typed)
        self.admin_check = QCheckBox(f"Make {name} a vault admin (may approve and remove "
                                     "members)", self)
        self.admin_check.setObjectName("approveAdmin")
        self.problem = _label("", self)
        self.problem.setObjectName("approveProblem")
        self.problem.setStyleSheet("color: #b3261e;")
        self.buttons = QDialogButtonBox(self)
        self.approve_button = self.buttons.addButton(
            "Approve", QDialogButtonBox.ButtonRole.AcceptRole)
        self.approve_button.setObjectName("approveButton")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.about, self.ask, self.fingerprint, self.admin_check, self.problem,
                       self.buttons):
            layout.addWidget(widget)
        self._typed()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_height(self)

    def _typed(self) -> None:
        self.problem.setText("")
        self.approve_button.setEnabled(bool(self.fingerprint.text().strip())
                                       and not self._approving)

    def accept(self) -> None:
        """Compare the fingerprint, then approve on the change lane."""
        if self._approving or not self.fingerprint.text().strip():
            return
        name, given = self._request.name, normalized(self.fingerprint.text())
        try:
            check_fingerprint(self._request, given)
        except AccessDeniedError:
            self.problem.setText(
                f"That is not the fingerprint of this request. Do not approve it: someone "
                f"other than {name} may have written it. Check what {name} reads out; if "
                f"it still differs, reject the request and have {name} ask to join again.")
            self.approve_button.setEnabled(False)
            fit_height(self)
            return
        vault, admin = self._vault, self.admin_check.isChecked()
        self._set_approving(True)
        self._tasks.change(lambda progress, cancel: vault.approve(name, given, admin=admin),
                           label=f"Approving {name}", what=f"approve {name}", owner=self,
                           on_success=self._approved, on_failure=self._not_approved)

    def _set_approving(self, approving: bool) -> None:
        self._approving = approving
        self.fingerprint.setEnabled(not approving)
        self.admin_check.setEnabled(not approving)
        self._typed()

    def _approved(self, member: Member) -> None:
        self._set_approving(False)
        self.member = member
        super().accept()

    def _not_approved(self, exc: BaseException) -> None:
        self._set_approving(False)
        show_error(self, exc, action=f"approve {self._request.name}")
