"""QApplication setup: names, app icon, and a palette that follows the system's light/dark."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from vault_app.gui import icons

APP_NAME = "Dataset Vault"
ORG_NAME = "Dataset Vault"


def dark_palette() -> QPalette:
    """A restrained dark palette (Fusion draws it well on every platform)."""
    p = QPalette()
    role, c = QPalette.ColorRole, QColor
    p.setColor(role.Window, c("#1f2328"))
    p.setColor(role.WindowText, c("#e6edf3"))
    p.setColor(role.Base, c("#161a1f"))
    p.setColor(role.AlternateBase, c("#1c2127"))
    p.setColor(role.ToolTipBase, c("#2d333b"))
    p.setColor(role.ToolTipText, c("#e6edf3"))
    p.setColor(role.Text, c("#e6edf3"))
    p.setColor(role.Button, c("#2d333b"))
    p.setColor(role.ButtonText, c("#e6edf3"))
    p.setColor(role.Highlight, c("#2f6fb3"))
    p.setColor(role.HighlightedText, c("#ffffff"))
    p.setColor(role.PlaceholderText, c("#8b949e"))
    p.setColor(role.Link, c("#58a6ff"))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, c("#6e7681"))
    return p


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply_palette(app: QApplication) -> None:
    """Fusion style with the system's scheme; re-applied when the system scheme changes."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if system_is_dark() else app.style().standardPalette())


def private_settings(folder: str) -> None:
    """Keep this process's QSettings in ``folder`` (self-test, screenshots): they must
    neither read nor change the user's own settings."""
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)


def create_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused if a test harness already made one)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        sys.argv[:1] if argv is None else argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setDesktopFileName("dataset-vault")
    from vault_app.gui.dialogs.settings import Settings, apply_theme

    apply_theme(Settings().theme, app)   # "system" (the default) follows the desktop
    app.setWindowIcon(icons.icon("app"))
    QGuiApplication.styleHints().colorSchemeChanged.connect(
        lambda _s: apply_palette(app) if Settings().theme == "system" else None)
    return app
