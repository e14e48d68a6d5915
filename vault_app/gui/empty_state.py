"""What an empty vault (or no vault) shows in place of the file list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from vault_app.gui import icons
from vault_app.gui.units import home_relative

if TYPE_CHECKING:
    from vault_app.core.vault import Vault


class EmptyState(QWidget):
    """What an empty vault shows: what to do next, in words and two buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Empty vault")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        art = QLabel()
        self.art = art
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(art)
        self.headline = QLabel("Drop files here to lock them")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.headline.setFont(font)
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.headline)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.detail)
        row = QWidget()
        buttons = QVBoxLayout(row)
        self.lock_button = QPushButton(icons.icon("lock"), "Lock files…")
        self.lock_button.setAccessibleName("Lock files")
        self.open_button = QPushButton(icons.icon("folder"), "Open another vault…")
        self.open_button.setAccessibleName("Open another vault")
        for b in (self.lock_button, self.open_button):
            b.setMinimumWidth(220)
            buttons.addWidget(b, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(row)
        layout.addStretch(3)
        self.refresh_icons()

    def refresh_icons(self) -> None:
        self.art.setPixmap(icons.icon("lock").pixmap(64, 64))
        self.lock_button.setIcon(icons.icon("lock"))
        self.open_button.setIcon(icons.icon("folder"))

    def set_vault(self, vault: Vault | None) -> None:
        if vault is None:
            self.headline.setText("No vault open")
            self.detail.setText("Open a vault folder to see its locked files.")
            self.lock_button.setEnabled(False)
        else:
            self.headline.setText("Drop files here to lock them")
            self.detail.setText(
                f"This vault ({home_relative(vault.path)}) has no files yet. Files you "
                "drop here or add with Lock files… are encrypted for you and the vault's "
                "recovery key. You choose whether the original moves into the vault or "
                "stays where it is.")
            self.lock_button.setEnabled(True)
