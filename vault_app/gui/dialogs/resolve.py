"""ResolveDialog: an admin repairs what sync conflicts, forks and rollbacks left behind.

The repair is the core's (``core/doctor.py``): ``plan`` says what it would do, each
repair in plain words, and ``apply`` does it. The dialog shows the plan first (read on
the read lane: nothing changes), asks for consent, applies the whole plan on the change
lane (the repairs depend on each other's order, so it is all or nothing, as the command
line's), and shows what each repair did. Nothing is deleted: copies no longer needed are
set aside in ``.vault/resolved/``. A file that is not shared with the admin can only be
re-encrypted with the vault's recovery key; the admin may give its file, which is read
into memory for this repair only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.errors import KeyFormatError
from vault_app.core.keys import parse_identities
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.fit import fit_height

if TYPE_CHECKING:
    from vault_app.core.doctor import Action
    from vault_app.core.recipients import Identity
    from vault_app.core.vault import Vault
    from vault_app.gui.tasks import Tasks

MAX_KEY_FILE = 64 * 1024


def _plan(vault: Vault) -> list[Action]:
    from vault_app.core import doctor

    return doctor.plan(vault)


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class ResolveDialog(QDialog):
    """The plan, consent, the repairs, what they did. ``planned`` once the plan is shown;
    ``resolved(lines)`` once the repairs are done."""

    planned = Signal()
    resolved = Signal(object)   # list[str]: what each repair did

    def __init__(self, vault: Vault, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resolveDialog")
        self.setWindowTitle(f"Resolve problems in {vault.path.name}")
        self.resize(620, 380)
        self._vault, self._tasks = vault, tasks
        self.repairs: list[Action] | None = None
        self.results: list[str] | None = None
        self._recovery: Identity | None = None
        self.intro = _label("Looking at what needs repair… (nothing is changed yet)", self)
        self.intro.setObjectName("resolveIntro")
        self.steps = QListWidget(self)
        self.steps.setObjectName("resolveSteps")
        self.steps.setAccessibleName("Repairs")
        self.steps.setWordWrap(True)
        self.note = _label(
            "Nothing is deleted: copies no longer needed are set aside in the vault's "
            ".vault/resolved folder, where an admin can look at them. Every repair is "
            "signed by you and recorded in the audit log.", self)
        self.recovery_label = _label(
            "A file that is not shared with you can only be repaired with the vault's "
            "recovery key (the file saved when the vault was made).", self)
        self.recovery_button = QPushButton("Use the recovery key file…", self)
        self.recovery_button.setObjectName("resolveRecovery")
        self.recovery_button.clicked.connect(self._ask_recovery)
        recovery_row = QHBoxLayout()
        recovery_row.addWidget(self.recovery_label, 1)
        recovery_row.addWidget(self.recovery_button, 0, Qt.AlignmentFlag.AlignTop)
        self.buttons = QDialogButtonBox(self)
        self.resolve_button = self.buttons.addButton("Resolve",
                                                     QDialogButtonBox.ButtonRole.AcceptRole)
        self.resolve_button.setObjectName("resolveApply")
        self.resolve_button.setEnabled(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.note)
        layout.addLayout(recovery_row)
        layout.addWidget(self.buttons)
        self.key_dialog: QFileDialog | None = None
        self._read_plan()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        fit_height(self)

    def _read_plan(self) -> None:
        vault = self._vault
        self._tasks.read(lambda: _plan(vault), what="look for repairs",
                         label="Looking for repairs", owner=self, on_success=self._planned,
                         on_failure=self._not_planned)

    def _planned(self, actions: list[Action]) -> None:
        self.repairs = actions
        self.steps.clear()
        for number, action in enumerate(actions, 1):
            self.steps.addItem(f"{number}. {action.what}")
        if actions:
            self.intro.setText(f"{len(actions)} repair(s) will be made, in this order. "
                               "Resolve makes them all; Cancel changes nothing.")
        else:
            self.intro.setText("Nothing needs repair: the vault's records and files agree.")
            self.resolve_button.hide()
            self.cancel_button.setText("Close")
        self.resolve_button.setEnabled(bool(actions))
        fit_height(self)
        self.planned.emit()

    def _not_planned(self, exc: BaseException) -> None:
        self.intro.setText("The repairs could not be worked out; nothing was changed.")
        show_error(self, exc, action="look for repairs")

    def accept(self) -> None:
        """Consent given: make the repairs on the change lane (or close, once done)."""
        if self.results is not None:
            super().accept()
            return
        if not self.repairs or not self.resolve_button.isEnabled():
            return
        vault, actions, recovery = self._vault, list(self.repairs), self._recovery
        self.resolve_button.setEnabled(False)
        self.recovery_button.setEnabled(False)

        def repair(progress: object, cancel: object) -> list[str]:
            from vault_app.core import doctor

            return doctor.apply(vault, actions, recovery=recovery)

        self._tasks.change(repair, label=f"Resolving {vault.path.name}",
                           what="resolve the vault's problems", owner=self,
                           on_success=self._resolved, on_failure=self._not_resolved)

    def _resolved(self, lines: list[str]) -> None:
        self.results = lines
        self._recovery = None
        self.steps.clear()
        for line in lines:
            self.steps.addItem(f"Done: {line}")
        self.intro.setText("The repairs are made. Verify the vault to check it.")
        self.resolve_button.setText("Close")
        self.resolve_button.setEnabled(True)
        self.cancel_button.hide()
        self.recovery_button.hide()
        self.recovery_label.hide()
        fit_height(self)
        self.resolved.emit(lines)

    def _not_resolved(self, exc: BaseException) -> None:
        """Say why, then show the plan as it is now (repairs made before the failure
        are done; the plan no longer lists them)."""
        show_error(self, exc, action="resolve the vault's problems")
        self.recovery_button.setEnabled(True)
        self.intro.setText("A repair failed (see the message). Looking again…")
        self._read_plan()

    # -- the recovery key ---------------------------------------------------------------
    def _ask_recovery(self) -> None:
        dialog = QFileDialog(self, "The vault's recovery key file", str(Path.home()))
        dialog.setObjectName("resolveRecoveryFile")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.use_recovery_file(Path(name)))
        if self.key_dialog is not None:  # one at a time (WA_DeleteOnClose crashed PySide)
            self.key_dialog.deleteLater()
        self.key_dialog = dialog
        dialog.open()

    def use_recovery_file(self, path: Path) -> bool:
        """Read the recovery identity from ``path`` (kept in memory for this repair)."""
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_KEY_FILE + 1)
            if len(data) > MAX_KEY_FILE:
                raise KeyFormatError(f"{path.name} is too large to be a key file")
            identities = parse_identities(data.decode("utf-8", "replace"))
            if len(identities) != 1:
                raise KeyFormatError(f"{path.name} must hold exactly one key, the vault's "
                                     "recovery key")
        except (OSError, KeyFormatError) as exc:
            show_error(self, exc, action=f"read the recovery key from {path.name}")
            return False
        self._recovery = identities[0]
        self.recovery_label.setText(f"The recovery key from {path.name} will be used for "
                                    "files not shared with you.")
        return True
