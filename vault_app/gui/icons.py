"""The app's own SVG icons (``resources/icons`` beside this module, shipped in the
wheel as package data), recoloured for dark palettes.

The SVGs are drawn on a 24 px grid with one ink colour (``INK``); in a dark palette that
ink is swapped for the palette's text colour so outline icons stay visible. Coloured
status icons (shields, app icon) keep their colours.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

INK = "#2f3e4e"
NAMES = ("lock", "unlock", "share", "preview", "verify", "shield-ok", "shield-bad",
         "shield-unknown", "folder", "members", "settings", "revoke", "reveal", "refresh",
         "file-plain", "file-locked", "app")
SIZES = (16, 24, 32, 48)


def icons_dir() -> Path:
    """``resources/icons`` beside this module: in a source tree, an installed wheel or
    an editable install alike; in a frozen bundle, at the same place under the bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "vault_app" / "gui" / "resources" / "icons"
    return Path(__file__).resolve().parent / "resources" / "icons"


def _dark() -> bool:
    app = QGuiApplication.instance()
    if not isinstance(app, QGuiApplication):
        return False
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def svg_text(name: str, *, dark: bool = False) -> str:
    if name not in NAMES:
        raise KeyError(f"no icon named {name!r}")
    text = (icons_dir() / f"{name}.svg").read_text(encoding="utf-8")
    return text.replace(INK, "#e6edf3") if dark else text


def _render(svg: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


@cache
def _icon(name: str, dark: bool) -> QIcon:
    svg = svg_text(name, dark=dark)
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(_render(svg, size))
    return icon


def icon(name: str) -> QIcon:
    """The named icon for the current palette (cached; needs a QGuiApplication)."""
    return _icon(name, _dark())


def alert_color() -> QColor:
    """The red of a damaged or untrusted file's row, readable on the current palette."""
    return QColor("#ff7b72" if _dark() else "#c62828")


def alert_background() -> QColor:
    """A red tint behind such a row, so that it shows at a glance."""
    return QColor(120, 20, 20, 110) if _dark() else QColor("#fdecea")


def signature_icon(status: str | None) -> QIcon:
    if status == "valid":
        return icon("shield-ok")
    if status in ("invalid", "unreadable", "conflict", "rollback"):
        return icon("shield-bad")
    if status is None:
        return QIcon()
    return icon("shield-unknown")
