"""QApplication setup: names, app icon, the chosen theme (``theme.py``), following the
system's light/dark when the choice is "system"."""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from vault_app.gui import icons
from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.theme import apply_palette, apply_theme

APP_NAME = "Dataset Vault"
ORG_NAME = "Dataset Vault"


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
    apply_theme(Settings().theme, app)   # "system" (the default) follows the desktop
    app.setWindowIcon(icons.icon("app"))
    QGuiApplication.styleHints().colorSchemeChanged.connect(
        lambda _s: apply_palette(app) if Settings().theme == "system" else None)
    return app
