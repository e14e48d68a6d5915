"""FirstRunDialog: create the user's keys (OS keyring) and the default vault; show the
recovery key once, with Save… and Print…, and require "I have stored it safely".

With no usable keyring it says so plainly and keeps the keys in a passphrase-protected
key file instead (the core keystore's fallback); a private key is never written in
plaintext. The recovery key is written only where the user chooses (0600, atomically).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QCloseEvent, QFont, QFontDatabase, QKeyEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.atomic import atomic_output
from vault_app.core.errors import (
    BadPassphraseError,
    FileOperationError,
    KeyringUnavailableError,
)
from vault_app.core.keystore import Keystore
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.vault import Vault, default_user
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.tasks import Tasks

NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}"
MIN_PASSPHRASE = 10
NO_KEYRING = ("No system keyring is available on this computer (no Secret Service, Keychain "
              "or Credential Locker could be reached), so your key cannot be kept there.")
KEYRING_FAILED = ("Your system keyring could not be used (it may be locked, or its service "
                  "is not running), so your key cannot be kept there.")


def recovery_text(vault_path: Path, recipient: str, identity: str) -> str:
    """The saved/printed recovery key: an age identity file (works with ``age -d -i``)."""
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return (f"# Dataset Vault recovery key for {vault_path}\n# created: {created}\n"
            f"# public key: {recipient}\n"
            "# Keep this safe and offline: it opens every file in the vault.\n"
            f"{identity}\n")


def save_recovery(path: Path, text: str, vault_path: Path) -> None:
    """Write the recovery key atomically with mode 0600; never inside the vault itself."""
    path = Path(path).absolute()
    if path.parent == vault_path or vault_path in path.parents:
        raise FileOperationError(
            f"{path}: that is inside the vault",
            hint="keep the recovery key away from the vault: a USB stick, or print it")
    with atomic_output(path, overwrite=True) as out:
        out.write(text.encode("ascii"))


class FirstRunDialog(QDialog):
    """Two steps: who you are (and where keys go), then the recovery key, shown once."""

    def __init__(self, vault_path: Path, parent: QWidget | None = None, *,
                 keystore: Keystore | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to Dataset Vault")
        self.resize(600, 400)
        self.vault_path = Path(vault_path).absolute()
        self.vault: Vault | None = None
        self._recovery: str | None = None
        self._base = keystore or Keystore()
        self.keyring_ok = self._base.keyring_available()
        self.tasks = Tasks(self)   # no window yet: the dialog has its own
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._identity_page())
        self.stack.addWidget(self._recovery_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        if not self.keyring_ok:
            self._use_key_file(NO_KEYRING)
        self._check_form()

    # -- page 1: who you are, where the keys go ------------------------------------------
    def _identity_page(self) -> QWidget:
        page = QWidget(self)
        title = QLabel("<h2>Set up your vault</h2>", page)
        intro = QLabel(
            "Dataset Vault keeps your dataset files locked. It creates a personal key for you "
            "and a vault folder for your files.", page)
        intro.setWordWrap(True)
        self.name_edit = QLineEdit(default_user(), page)
        self.name_edit.setObjectName("firstRunName")
        self.name_edit.setAccessibleName("Your name in vaults")
        self.name_edit.setValidator(QRegularExpressionValidator(
            QRegularExpression(NAME_PATTERN), self.name_edit))
        self.name_edit.textChanged.connect(self._check_form)
        folder = QLabel(str(self.vault_path), page)
        folder.setObjectName("firstRunFolder")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Your name:", self.name_edit)
        form.addRow("Vault folder:", folder)

        self.keys_note = QLabel(page)
        self.keys_note.setObjectName("firstRunKeysNote")
        self.keys_note.setWordWrap(True)
        self.pass_edit = QLineEdit(page)
        self.pass_edit.setObjectName("firstRunPassphrase")
        self.pass_edit.setAccessibleName("Passphrase for your key file")
        self.pass_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass_again = QLineEdit(page)
        self.pass_again.setObjectName("firstRunPassphraseAgain")
        self.pass_again.setAccessibleName("Passphrase again")
        self.pass_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass_edit.textChanged.connect(self._check_form)
        self.pass_again.textChanged.connect(self._check_form)
        self.pass_label = QLabel("Passphrase:", page)
        self.pass_again_label = QLabel("Passphrase again:", page)
        form.addRow(self.pass_label, self.pass_edit)
        form.addRow(self.pass_again_label, self.pass_again)
        if self.keyring_ok:
            self.keys_note.setText(
                "Your private key will be kept in your system keyring; it is never written "
                "to disk in plain text.")
            for widget in (self.pass_label, self.pass_edit, self.pass_again_label,
                           self.pass_again):
                widget.hide()
        self.form_problem = QLabel(page)
        self.form_problem.setObjectName("firstRunProblem")
        self.form_problem.setWordWrap(True)

        self.create_button = QPushButton("Create my key and vault", page)
        self.create_button.setObjectName("firstRunCreate")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create_keys)
        self.quit_button = QPushButton("Quit", page)
        self.quit_button.setObjectName("firstRunQuit")
        self.quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        buttons.addWidget(self.create_button)

        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.keys_note)
        layout.addWidget(self.form_problem)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _use_key_file(self, why: str) -> None:
        """No usable keyring: ask for a passphrase and keep the keys in a key file."""
        self.keyring_ok = False
        self.keys_note.setText(
            f"{why} Instead, your key will be kept in a key file protected by a passphrase. "
            "Choose one you will remember: you will need it each time you start the app.")
        for widget in (self.pass_label, self.pass_edit, self.pass_again_label,
                       self.pass_again):
            widget.show()
        self._check_form()

    def _form_problem(self) -> str:
        name = self.name_edit.text()
        if not QRegularExpression(f"^{NAME_PATTERN}$").match(name).hasMatch():
            return "Use letters, digits and . _ @ - for your name."
        if not self.keyring_ok:
            if len(self.pass_edit.text()) < MIN_PASSPHRASE:
                return f"The passphrase needs at least {MIN_PASSPHRASE} characters."
            if self.pass_edit.text() != self.pass_again.text():
                return "The two passphrases differ."
        return ""

    def _check_form(self) -> None:
        problem = self._form_problem()
        self.form_problem.setText(problem)
        self.create_button.setEnabled(not problem and not self.tasks.busy())

    def _keystore(self) -> tuple[Keystore, list[bytes]]:
        if self.keyring_ok:
            return self._base, []
        held = [self.pass_edit.text().encode()]

        def ask(_prompt: str, _confirm: bool) -> bytes:
            if not held:
                raise BadPassphraseError("the key file's passphrase is needed again")
            return held[0]

        import keyring.backends.fail

        # the keyring is left alone entirely (a locked one would refuse even a lookup)
        store = Keystore(backend=keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
                         config_dir=self._base.config_dir, use_key_file=True, passphrase=ask,
                         work_factor=self._base.work_factor, service=self._base.service)
        return store, held

    def create_keys(self) -> None:
        if self._form_problem() or self.tasks.busy():
            return
        name = self.name_edit.text()
        store, held = self._keystore()
        path = self.vault_path
        self.create_button.setEnabled(False)
        self.quit_button.setEnabled(False)
        self.form_problem.setText("Creating your key and vault…")

        def work(progress: ProgressFn, cancel: CancelToken) -> tuple[Vault, str]:
            return Vault.init(path, user=name, keystore=store)

        def done(result: tuple[Vault, str]) -> None:
            held.clear()  # the keys are cached in memory now; drop the passphrase
            self.pass_edit.clear()
            self.pass_again.clear()
            self.vault, self._recovery = result
            self.recovery_view.setPlainText(self._recovery)
            self.stack.setCurrentIndex(1)

        def failed(exc: BaseException) -> None:
            held.clear()
            self.quit_button.setEnabled(True)
            if isinstance(exc, KeyringUnavailableError) and self.keyring_ok:
                self._use_key_file(KEYRING_FAILED)  # offer the key file right here
                self.pass_edit.setFocus()
                return
            self._check_form()
            show_error(self, exc, action="create your key and vault")

        self.tasks.change(work, label="Creating your key", on_success=done, on_failure=failed)

    # -- page 2: the recovery key, once --------------------------------------------------
    def _recovery_page(self) -> QWidget:
        page = QWidget(self)
        title = QLabel("<h2>Your recovery key</h2>", page)
        text = QLabel(
            "This key opens every file in the vault if your own key is lost (a new laptop, "
            "a reset keyring). It is shown only now and is not stored anywhere. Save it to a "
            "USB stick or print it, and keep it somewhere safe, away from this computer.", page)
        text.setWordWrap(True)
        self.recovery_view = QPlainTextEdit(page)
        self.recovery_view.setObjectName("recoveryKey")
        self.recovery_view.setAccessibleName("Recovery key")
        self.recovery_view.setReadOnly(True)
        self.recovery_view.setMaximumHeight(70)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.recovery_view.setFont(mono)
        self.save_button = QPushButton("Save to file…", page)
        self.save_button.setObjectName("recoverySave")
        self.save_button.clicked.connect(self._ask_save)
        self.print_button = QPushButton("Print…", page)
        self.print_button.setObjectName("recoveryPrint")
        self.print_button.clicked.connect(self._print)
        self.saved_note = QLabel(page)
        self.saved_note.setObjectName("recoverySaved")
        self.saved_note.setWordWrap(True)
        actions = QHBoxLayout()
        actions.addWidget(self.save_button)
        actions.addWidget(self.print_button)
        actions.addStretch(1)
        self.stored_check = QCheckBox("I have stored the recovery key safely", page)
        self.stored_check.setObjectName("recoveryStored")
        self.finish_button = QPushButton("Open my vault", page)
        self.finish_button.setObjectName("recoveryFinish")
        self.finish_button.setEnabled(False)
        self.stored_check.toggled.connect(self.finish_button.setEnabled)
        self.finish_button.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.stored_check)
        bottom.addStretch(1)
        bottom.addWidget(self.finish_button)
        layout = QVBoxLayout(page)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addWidget(self.recovery_view)
        layout.addLayout(actions)
        layout.addWidget(self.saved_note)
        layout.addStretch(1)
        layout.addLayout(bottom)
        self.save_dialog: QFileDialog | None = None
        return page

    def recovery_file_text(self) -> str:
        assert self.vault is not None and self._recovery is not None
        return recovery_text(self.vault.path, self.vault.recovery_recipient, self._recovery)

    def _ask_save(self) -> None:
        dialog = QFileDialog(self, "Save the recovery key", str(Path.home()),
                             "Text files (*.txt);;All files (*)")
        dialog.setObjectName("recoverySaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.selectFile("dataset-vault-recovery-key.txt")
        dialog.fileSelected.connect(self._save_selected)
        if self.save_dialog is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.save_dialog.deleteLater()
        self.save_dialog = dialog
        dialog.open()

    def _save_selected(self, name: str) -> None:
        self.save_to(Path(name))

    def save_to(self, path: Path) -> bool:
        try:
            save_recovery(path, self.recovery_file_text(), self.vault_path)
        except Exception as exc:
            show_error(self, exc, action="save the recovery key")
            return False
        self.saved_note.setText(f"Saved to {path} (readable by you only). Move it somewhere "
                                "safe, away from this computer.")
        return True

    def _print(self) -> None:
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setObjectName("recoveryPrintDialog")
        dialog.setWindowTitle("Print the recovery key")
        dialog.finished.connect(dialog.deleteLater)

        def print_it() -> None:
            doc = QTextDocument()
            doc.setDefaultFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            doc.setPlainText(self.recovery_file_text())
            doc.print_(printer)
            doc.clear()
            self.saved_note.setText("Sent to the printer. Keep the paper somewhere safe.")

        dialog.accepted.connect(print_it)
        QDialog.open(dialog)

    # -- finishing: the key must have been stored ------------------------------------------
    def accept(self) -> None:
        if self.stack.currentIndex() == 1 and not self.stored_check.isChecked():
            return
        self.recovery_view.clear()
        self._recovery = None
        super().accept()

    def reject(self) -> None:
        if self.tasks.busy():
            return
        if self.stack.currentIndex() == 1:  # the vault exists: the key must not be skipped
            self.saved_note.setText("Store the recovery key first: it will not be shown "
                                    "again. Then tick the box.")
            return
        super().reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and (self.tasks.busy()
                                                 or self.stack.currentIndex() == 1):
            self.reject()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tasks.busy() or self.stack.currentIndex() == 1:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)
