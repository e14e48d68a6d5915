"""Drag and drop: files dropped in are locked; a locked file dragged out is unlocked.

Dropping in: local file URLs (folders expand to the regular files inside them, hidden
names skipped) are handed to the window, which queues one lock task per file.

Dragging out: Qt cannot tell where a drag will land, so a copy cannot be unlocked straight
into the drop folder. After the user confirms, the copy is unlocked (through the
TaskRunner, with progress) into a private staging folder (0700, under $XDG_RUNTIME_DIR,
which is RAM-backed on most Linux systems, else the temp folder) and its URL is what the
drag carries; the file manager copies it to the drop folder. The staged plaintext is
deleted a little later (the file manager copies after the drop ends) and when the app
quits. Trade-off: for that short time a plaintext copy exists in the staging folder,
readable only by this OS user. Files above DRAG_OUT_LIMIT are refused; "Unlock to…" writes
straight to the chosen folder with no staging.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

from vault_app.gui import icons

DRAG_OUT_LIMIT = 512 * 1024 * 1024
STAGING_LIFETIME_MS = 120_000


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders a drop carries (remote URLs are ignored)."""
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders replaced by the regular files inside them (no hidden names,
    no symlinks), in a stable order."""
    out: list[Path] = []
    for path in paths:
        if path.is_symlink():
            continue
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    child = Path(folder) / name
                    if not name.startswith(".") and child.is_file() and not child.is_symlink():
                        out.append(child)
    return out


def file_urls_mime(paths: Iterable[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


class Staging:
    """A private folder for plaintext copies handed to a drag; emptied soon after."""

    def __init__(self) -> None:
        self._dir: Path | None = None

    @property
    def folder(self) -> Path:
        if self._dir is None or not self._dir.is_dir():
            runtime = os.environ.get("XDG_RUNTIME_DIR")
            base = runtime if runtime and os.path.isdir(runtime) else None
            self._dir = Path(tempfile.mkdtemp(prefix="dataset-vault-drag-", dir=base))
            os.chmod(self._dir, 0o700)
        return self._dir

    def new_slot(self) -> Path:
        """A fresh subfolder (names in two drags never collide)."""
        return Path(tempfile.mkdtemp(dir=self.folder))

    def discard(self, slot: Path) -> None:
        shutil.rmtree(slot, ignore_errors=True)

    def discard_later(self, slot: Path, msecs: int = STAGING_LIFETIME_MS) -> None:
        QTimer.singleShot(msecs, lambda: self.discard(slot))

    def clear(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class FileTableView(QTableView):
    """The file list: accepts file drops from outside, starts drags of locked files."""

    files_dropped = Signal(list)      # list[Path] (already expanded)
    drag_prepared = Signal(object)    # QMimeData about to be dragged out (tests, status)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        #: Set by the window: confirm, unlock into staging, return the mime data (or None).
        self.drag_provider: Callable[[], QMimeData | None] | None = None
        self.after_drag: Callable[[], None] | None = None

    # -- drops in ------------------------------------------------------------------------
    def _external(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
        return event.source() is not self and bool(local_paths(event.mimeData()))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if not self._external(event):
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.files_dropped.emit(expand(local_paths(event.mimeData())))

    # -- drags out -----------------------------------------------------------------------
    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        if self.drag_provider is None:
            return
        mime = self.drag_provider()
        if mime is None:
            return
        self.drag_prepared.emit(mime)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(icons.icon("file-plain").pixmap(32, 32))
        try:
            drag.exec(Qt.DropAction.CopyAction)
        finally:
            if self.after_drag is not None:
                self.after_drag()
