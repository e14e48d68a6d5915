"""JoinDialog: ask to join a vault one is not a member of, from one's own login.

It says what asking does before it does it (keys made in, or reused from, this login's
own keyring; a request holding only public keys written into the vault's folder), then
runs ``Vault.join`` on the change lane and shows the fingerprint to read out to an
admin. The fingerprint is the whole point: anyone who can write the folder can write a
request under any name, and the admin tells the real one by it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.fit import fit_height

if TYPE_CHECKING:
    from vault_app.core.joining import JoinRequest
    from vault_app.core.keystore import Keystore
    from vault_app.gui.tasks import Tasks


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class JoinDialog(QDialog):
    """Ask to join the vault at ``root`` as ``user``; ``requested(vault, request)`` once
    the request is written."""

    requested = Signal(object, object)   # Vault, JoinRequest

    def __init__(self, root: Path, user: str, keystore: Keystore, tasks: Tasks,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("joinDialog")
        self.setWindowTitle(f"Ask to join {root.name}")
        self.setMinimumWidth(480)
        self._root, self._user, self._keystore, self._tasks = root, user, keystore, tasks
        self.request: JoinRequest | None = None
        self.intro = _label(
            f"You ({user}) are not a member of the vault {root.name}. Asking to join:\n\n"
            "• uses your keys in this login's own keyring, making them if you have none "
            "(your private keys never leave this login);\n"
            "• writes a request holding only your public keys into the vault's folder;\n"
            "• shows a fingerprint of your keys. Read it to a vault admin, who approves "
            "you by typing it.", self)
        self.intro.setObjectName("joinIntro")
        self.fingerprint = QLabel(self)
        self.fingerprint.setObjectName("joinFingerprint")
        self.fingerprint.setAccessibleName("Your key fingerprint")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(self.font().pointSizeF() * 1.6)
        font.setBold(True)
        self.fingerprint.setFont(font)
        self.fingerprint.hide()
        self.after = _label("", self)
        self.after.setObjectName("joinAfter")
        self.after.hide()
        self.buttons = QDialogButtonBox(self)
        self.ask_button = self.buttons.addButton("Ask to join",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.ask_button.setObjectName("joinAsk")
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.copy_button = QPushButton("Copy fingerprint", self)
        self.copy_button.setObjectName("joinCopy")
        self.copy_button.hide()
        self.copy_button.clicked.connect(self._copy)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.after)
        layout.addWidget(self.buttons)

    def accept(self) -> None:
        """Write the request on the change lane (the dialog stays open to show the
        fingerprint); once shown, OK closes it."""
        if self.request is not None:
            super().accept()
            return
        if not self.ask_button.isEnabled():
            return
        from vault_app.core.vault import Vault

        root, user, keystore = self._root, self._user, self._keystore
        self.ask_button.setEnabled(False)
        self._tasks.change(lambda progress, cancel: Vault.join(root, user=user,
                                                               keystore=keystore),
                           label=f"Asking to join {root.name}", what="ask to join",
                           owner=self, on_success=self._asked, on_failure=self._failed)

    def _asked(self, result: tuple[object, JoinRequest]) -> None:
        vault, request = result
        self.request = request
        self.intro.setText(f"Your request to join {self._root.name} is written. Read this "
                           "fingerprint to a vault admin, in person or by phone:")
        self.fingerprint.setText(request.fingerprint)
        self.fingerprint.show()
        self.copy_button.show()
        self.after.setText(
            "Read it out rather than only sending it by mail or chat: anyone who can "
            "write the vault's folder could write a request under your name, and the "
            "fingerprint is how the admin tells yours apart. Once approved, you can "
            "open the vault's files; this window notices by itself.")
        self.after.show()
        self.ask_button.setText("OK")
        self.ask_button.setEnabled(True)
        self.close_button.hide()
        fit_height(self)
        self.requested.emit(vault, request)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_height(self)

    def _failed(self, exc: BaseException) -> None:
        self.ask_button.setEnabled(True)
        show_error(self, exc, action=f"ask to join {self._root.name}")

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.fingerprint.text())
