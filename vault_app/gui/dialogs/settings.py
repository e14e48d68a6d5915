"""Settings (QSettings) and the SettingsDialog: default unlock folder, what locking does
with the original (ask, move, copy), theme (follow the system, light, dark).

``Settings`` is what the window reads (``Settings().lock_mode`` before a lock,
``Settings().unlock_folder`` for the Unlock-to dialog); the theme is applied by
``theme.apply_theme``, at start and when the choice changes here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.vault import Vault
from vault_app.gui.theme import THEMES, apply_theme

ORG = "Dataset Vault"
APP = "Dataset Vault"
_KEY_FOLDER = "unlock/folder"
_KEY_KEEP = "lock/keep_plaintext"   # before "lock/mode": True meant "copy"
_KEY_MODE = "lock/mode"
#: What locking a file from outside the vault does with the original.
LOCK_MODES = (("ask", "Ask each time"),
              ("move", "Move it into the vault (the original is removed)"),
              ("copy", "Copy it into the vault (the original stays, not encrypted)"))
_KEY_THEME = "appearance/theme"
_KEY_RECENT = "vaults/recent"
RECENT_LIMIT = 10


def _default_unlock_folder() -> Path:
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


class Settings:
    """Typed access to the few settings; ``store`` defaults to the user's QSettings."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORG, APP)

    @property
    def unlock_folder(self) -> Path:
        value = self.store.value(_KEY_FOLDER, "")
        return Path(str(value)) if value else _default_unlock_folder()

    @unlock_folder.setter
    def unlock_folder(self, folder: Path) -> None:
        self.store.setValue(_KEY_FOLDER, str(folder))

    @property
    def lock_mode(self) -> str:
        """"ask" (until the person chooses and asks to remember), "move" or "copy"."""
        value = self.store.value(_KEY_MODE)
        if value in dict(LOCK_MODES):
            return str(value)
        old = self.store.value(_KEY_KEEP)   # the setting's earlier form: already chosen
        if old is None:
            return "ask"
        return "copy" if old in (True, "true", "1", 1) else "move"

    @lock_mode.setter
    def lock_mode(self, mode: str) -> None:
        if mode not in dict(LOCK_MODES):
            raise ValueError(f"unknown lock mode {mode!r}")
        self.store.setValue(_KEY_MODE, mode)

    @property
    def keep_plaintext(self) -> bool:
        """Whether a lock keeps the original (only "copy" does)."""
        return self.lock_mode == "copy"

    @property
    def theme(self) -> str:
        value = str(self.store.value(_KEY_THEME, "system"))
        return value if value in dict(THEMES) else "system"

    @theme.setter
    def theme(self, theme: str) -> None:
        if theme not in dict(THEMES):
            raise ValueError(f"unknown theme {theme!r}")
        self.store.setValue(_KEY_THEME, theme)

    @property
    def recent_vaults(self) -> list[Path]:
        """Vaults opened here, newest first (to find where a copied-out file belongs)."""
        value = self.store.value(_KEY_RECENT, [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [Path(str(v)) for v in items if v]

    def add_recent_vault(self, folder: Path) -> None:
        kept = [p for p in self.recent_vaults if p != folder]
        self.store.setValue(_KEY_RECENT, [str(p) for p in [folder, *kept][:RECENT_LIMIT]])

    def sync(self) -> None:
        self.store.sync()


class SettingsDialog(QDialog):
    """Edits ``Settings``; OK saves them and applies the theme at once."""

    def __init__(self, vault: Vault | None = None, parent: QWidget | None = None, *,
                 settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings or Settings()
        self.folder_edit = QLineEdit(str(self.settings.unlock_folder), self)
        self.folder_edit.setObjectName("settingsUnlockFolder")
        self.folder_edit.setAccessibleName("Default folder to unlock files to")
        self.folder_edit.textChanged.connect(self._check)
        self.browse_button = QPushButton("Choose…", self)
        self.browse_button.setObjectName("settingsChooseFolder")
        self.browse_button.setAccessibleName("Choose the default unlock folder")
        self.browse_button.clicked.connect(self._ask_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("settingsLockMode")
        self.mode_combo.setAccessibleName("When you lock a file from outside the vault")
        for value, text in LOCK_MODES:
            self.mode_combo.addItem(text, value)
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(self.settings.lock_mode))
        keep_note = QLabel("A moved original is removed only after the locked copy is "
                           "written, verified and safely on disk.", self)
        keep_note.setWordWrap(True)
        keep_note.setEnabled(False)
        self.theme_combo = QComboBox(self)
        self.theme_combo.setObjectName("settingsTheme")
        self.theme_combo.setAccessibleName("Theme")
        for value, text in THEMES:
            self.theme_combo.addItem(text, value)
        self.theme_combo.setCurrentIndex(self.theme_combo.findData(self.settings.theme))
        form = QFormLayout()
        form.addRow("Unlock files to:", folder_row)
        form.addRow("Locking a file:", self.mode_combo)
        form.addRow("", keep_note)
        form.addRow("Theme:", self.theme_combo)
        if vault is not None:
            about = QLabel(f"{vault.path}\nYou act as {vault.user}.", self)
            about.setObjectName("settingsVault")
            about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow("Vault:", about)
        self.problem = QLabel(self)
        self.problem.setObjectName("settingsProblem")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.folder_dialog: QFileDialog | None = None
        self.resize(560, self.sizeHint().height())
        self._check()

    def _check(self) -> None:
        text = self.folder_edit.text().strip()
        ok = bool(text) and Path(text).expanduser().is_dir()
        self.problem.setText("" if ok else "Choose an existing folder.")
        self.ok_button.setEnabled(ok)

    def _ask_folder(self) -> None:
        dialog = QFileDialog(self, "Default unlock folder", self.folder_edit.text())
        dialog.setObjectName("settingsFolderDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(self.folder_edit.setText)
        self.folder_dialog = dialog
        dialog.open()

    def accept(self) -> None:
        if not self.ok_button.isEnabled():
            return
        self.settings.unlock_folder = Path(self.folder_edit.text().strip()).expanduser()
        self.settings.lock_mode = str(self.mode_combo.currentData())
        theme = str(self.theme_combo.currentData())
        changed = theme != self.settings.theme
        self.settings.theme = theme
        self.settings.sync()
        if changed:
            apply_theme(theme)
        super().accept()
