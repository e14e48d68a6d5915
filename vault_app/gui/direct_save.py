"""Drag a locked file out in one gesture: the XDND Direct Save protocol (XDS) on X11.

A plain drag hands over a file that already exists, so dragging a locked file out would
need its plaintext written somewhere *before* the drop, and Qt cannot say where a drag
will land. XDS turns it round: the drag offers only the ``XdndDirectSave0`` type and
names the file in a property of the drag's source window; on the drop, the file
manager writes the full URL of the file it wants into that property and asks for the
``XdndDirectSave0`` data; the app reads the folder from the property, answers "S"
(saved), and unlocks the file straight into that folder on the change lane, with
progress, as "Unlock to…" does. No plaintext copy is staged anywhere.

pcmanfm (libfm), Thunar, Nemo, Caja and GTK 3 Nautilus accept XDS drops; a target
that does not (Dolphin, a desktop, a Qt file dialog) gets nothing, and the window says
how else to get a copy. Qt has no XDS support, so the two window properties are read
and written here through Xlib (``libX11``, present wherever Qt's X11 platform runs), on
Qt's own display connection, so they are ordered after Qt's own requests.
Only on the ``xcb`` platform; elsewhere (Wayland, Windows, macOS) ``DirectSave.open``
gives None and the window uses its unlocked-and-ready copy instead (``dnd.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QMimeData, QTimer, QUrl
from PySide6.QtGui import QGuiApplication

XDS = "XdndDirectSave0"


class _Xlib:
    """The few Xlib calls XDS needs, on Qt's display connection (``display``)."""

    def __init__(self, display: int) -> None:
        name = ctypes.util.find_library("X11") or "libX11.so.6"
        lib = ctypes.CDLL(name)
        lib.XInternAtom.restype = ctypes.c_ulong
        lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.XGetSelectionOwner.restype = ctypes.c_ulong
        lib.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        lib.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong,
                                        ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                        ctypes.c_char_p, ctypes.c_int]
        lib.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long,
            ctypes.c_int, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
        lib.XFree.argtypes = [ctypes.c_void_p]
        lib.XFlush.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._display = ctypes.c_void_p(display)

    def atom(self, name: str) -> int:
        return int(self._lib.XInternAtom(self._display, name.encode(), 0))

    def selection_owner(self, selection: str) -> int:
        return int(self._lib.XGetSelectionOwner(self._display, self.atom(selection)))

    def set_text(self, window: int, prop: str, value: bytes) -> None:
        self._lib.XChangeProperty(self._display, window, self.atom(prop),
                                  self.atom("text/plain"), 8, 0, value, len(value))
        self._lib.XFlush(self._display)

    def get_text(self, window: int, prop: str) -> bytes | None:
        kind, fmt = ctypes.c_ulong(), ctypes.c_int()
        count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = self._lib.XGetWindowProperty(
            self._display, window, self.atom(prop), 0, 4096, 0, 0, ctypes.byref(kind),
            ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after), ctypes.byref(data))
        if status != 0 or not data.value:
            return None
        try:
            return ctypes.string_at(data.value, count.value) if fmt.value == 8 else None
        finally:
            self._lib.XFree(data)


def target_folder(uri: bytes | None) -> Path | None:
    """The folder of the local file a drop target asked for (None: not a local file in
    an existing folder; then the answer is "F", and the target may try otherwise)."""
    if not uri:
        return None
    url = QUrl(uri.rstrip(b"\0").decode("utf-8", "replace"))
    if not url.isLocalFile() or url.host() not in ("", "localhost", os.uname().nodename):
        return None
    folder = Path(url.toLocalFile()).parent
    return folder if folder.is_dir() else None


class DirectSaveMime(QMimeData):
    """Offers only ``XdndDirectSave0``; asked for it, calls ``save(folder)`` and answers
    "S", or "F" when the target gave no usable folder."""

    def __init__(self, read_target: Callable[[], bytes | None],
                 save: Callable[[Path], None]) -> None:
        super().__init__()
        self._read_target = read_target
        self._save = save
        self.answered: bytes | None = None
        self.setData(XDS, b"")

    def retrieveData(self, mimetype: str, preferredType: Any) -> Any:
        if mimetype != XDS:
            return super().retrieveData(mimetype, preferredType)
        if self.answered is None:   # asked once per drop; a second ask gets the same
            folder = target_folder(self._read_target())
            self.answered = b"F" if folder is None else b"S"
            if folder is not None:
                QTimer.singleShot(0, lambda: self._save(folder))   # after the answer
        return QByteArray(self.answered)


class DirectSave:
    """XDS for the drags of one window (``open`` gives None where XDS cannot work)."""

    def __init__(self, xlib: _Xlib) -> None:
        self._x = xlib
        self._window = 0

    @classmethod
    def open(cls) -> DirectSave | None:
        app = QGuiApplication.instance()
        if not isinstance(app, QGuiApplication) or app.platformName() != "xcb":
            return None
        native = app.nativeInterface()
        display = native.display() if hasattr(native, "display") else 0
        if not display:
            return None
        try:
            return cls(_Xlib(display))
        except OSError:   # no libX11 to load
            return None

    def mime(self, name: str, save: Callable[[Path], None]) -> DirectSaveMime:
        """The drag's data: suggests ``name``; ``save(folder)`` runs after the drop.

        The name goes in as the drag starts: Qt owns the XDND selection with a window of
        its own, claimed when ``QDrag.exec`` starts, so a timer that fires inside the
        drag's event loop asks who owns it (on Qt's connection: after Qt's claim) and
        writes the property there."""
        self._window = 0

        def name_it() -> None:
            self._window = self._x.selection_owner("XdndSelection")
            if self._window:
                self._x.set_text(self._window, XDS, name.encode("utf-8"))

        QTimer.singleShot(0, name_it)
        return DirectSaveMime(self._read_target, save)

    def _read_target(self) -> bytes | None:
        return self._x.get_text(self._window, XDS) if self._window else None
