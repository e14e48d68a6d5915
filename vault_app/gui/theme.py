"""Light and dark: the palettes, and applying the theme the settings ask for.

Its own module so that both the application setup (``app.py``, at start and when the
desktop switches scheme) and the Settings dialog (when the choice changes) use it
without importing each other.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


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


def apply_theme(theme: str, app: QApplication | None = None) -> None:
    """Light or dark palette as chosen; "system" hands the choice back to the platform."""
    instance = app or QApplication.instance()
    if not isinstance(instance, QApplication):
        return
    hints = QGuiApplication.styleHints()
    if theme == "system":
        hints.unsetColorScheme()
        apply_palette(instance)
        return
    hints.setColorScheme(Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light)
    instance.setStyle("Fusion")
    instance.setPalette(dark_palette() if theme == "dark"
                        else instance.style().standardPalette())
