"""PassphrasePrompt: the keystore's passphrase callback for the window (any thread).

Keys kept in a passphrase-protected key file (no usable keyring) or wrapped in the
keyring need a passphrase when first loaded, which may happen on a worker thread of
the window's ``Tasks``. The prompt always runs on the UI thread: from another thread the
request crosses with a blocking queued signal (the worker waits, the UI thread stays
live and shows the dialog). Cancel raises ``Cancelled``, a normal outcome. The
passphrase is returned to the keystore only, never stored or logged.

    keystore = Keystore(passphrase=PassphrasePrompt(window).ask)
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QWidget

from vault_app.core.errors import BadPassphraseError, Cancelled


class PassphrasePrompt(QObject):
    """``ask(prompt, confirm) -> bytes`` (a ``keystore.PassphraseFn``), callable anywhere."""

    _request = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._window = parent
        self._answer: bytes | None = None
        self._error: BaseException | None = None
        self._request.connect(self._ask_here, Qt.ConnectionType.BlockingQueuedConnection)
        self.dialog: QInputDialog | None = None

    def ask(self, prompt: str, confirm: bool = False) -> bytes:
        if QThread.currentThread() is self.thread():
            self._ask_here(prompt, confirm)
        else:
            self._request.emit(prompt, confirm)  # returns once the UI thread answered
        answer, error = self._answer, self._error
        self._answer = self._error = None
        if error is not None:
            raise error
        assert answer is not None
        return answer

    def _one(self, label: str) -> str | None:
        dialog = QInputDialog(self._window)
        dialog.setObjectName("passphraseDialog")
        dialog.setWindowTitle("Passphrase")
        dialog.setLabelText(label)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        self.dialog = dialog
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            return dialog.textValue()
        finally:
            self.dialog = None
            dialog.deleteLater()

    @Slot(str, bool)
    def _ask_here(self, prompt: str, confirm: bool) -> None:
        label = prompt.strip().rstrip(":") + ":"
        first = self._one(label)
        if first is None:
            self._error = Cancelled("no passphrase was given")
            return
        if not first:
            self._error = BadPassphraseError("the passphrase is empty")
            return
        if confirm:
            again = self._one("The same passphrase again:")
            if again is None:
                self._error = Cancelled("no passphrase was given")
                return
            if again != first:
                self._error = BadPassphraseError("the two passphrases differ",
                                                 hint="type the same passphrase twice")
                return
        self._answer = first.encode("utf-8")
