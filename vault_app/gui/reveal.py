"""Reveal a file in the file manager: select it where the desktop supports that.

On Linux desktops the freedesktop FileManager1 D-Bus call (Nautilus, Dolphin, Nemo,
Caja, Thunar…) opens the folder with the file selected. Elsewhere, or when no such
service runs, the folder is opened with the desktop's default handler.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl

SERVICE = "org.freedesktop.FileManager1"


def show_items_over_dbus(path: Path) -> bool:
    """Ask a running FileManager1 service to show ``path`` selected; False if none runs."""
    if sys.platform != "linux" or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:  # a trimmed bundle may leave QtDBus out: then just open the folder
        from PySide6.QtDBus import QDBusConnection, QDBusMessage
    except ImportError:
        return False

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    registered = bus.interface().isServiceRegistered(SERVICE)
    if not registered.isValid() or not registered.value():
        return False
    message = QDBusMessage.createMethodCall(SERVICE, "/org/freedesktop/FileManager1",
                                            SERVICE, "ShowItems")
    message.setArguments([[QUrl.fromLocalFile(str(path)).toString()], ""])
    return bool(bus.send(message))


def reveal(path: Path, open_url: Callable[[QUrl], Any]) -> None:
    if not show_items_over_dbus(path):
        open_url(QUrl.fromLocalFile(str(path.parent)))
