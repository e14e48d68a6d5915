"""Drag and drop: files dropped in are locked; a locked file dragged out is unlocked.

Dropping in: local file URLs (folders expand to the regular files inside them, hidden
names skipped) are handed to the window, which locks them (asking Move or Copy the
first time, ``lock_choice.py``). While files hover over the window, ``DropHint`` says
what a drop will do.

Dragging out, in one gesture: on X11 the drag uses XDND Direct Save (``direct_save.py``):
the file manager names the drop folder and the file is unlocked straight into it on the
change lane, as "Unlock to…" does; nothing is staged. A target that does not take it,
or a desktop without X11, gets the unlocked-and-ready way instead: "Unlock a copy to
drag" (offered above the list, never as a dialog in the middle of a drag) unlocks a
copy into a private staging folder (0700, under $XDG_RUNTIME_DIR, which is RAM-backed
on most Linux systems, else the temp folder), the rows say "Ready to drag", and the
next drag carries the copy's URL; the file manager copies it. The staged plaintext is
deleted a little after that drag, after STAGING_LIFETIME_MS if no drag comes, and when
the app quits. Trade-off: for that short time a plaintext copy exists in the staging
folder, readable only by this OS user; copies above DRAG_OUT_LIMIT are not staged.

``FileTableView`` is the list's side of it, ``DragAndDrop`` the window's (a part of
``MainWindow``, see ``window_part.py``).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableView, QWidget

from vault_app.gui import icons
from vault_app.gui.file_model import Entry
from vault_app.gui.units import human_size
from vault_app.gui.window_part import WindowPart

if TYPE_CHECKING:
    from vault_app.core.progress import CancelToken, ProgressFn
    from vault_app.core.vault import Vault
    from vault_app.gui.direct_save import DirectSave, DirectSaveMime

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
        self._handed: set[Path] = set()   # slots given to a drag

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
        self._handed.discard(slot)
        shutil.rmtree(slot, ignore_errors=True)

    def hand_over(self, slot: Path) -> None:
        """The copies in ``slot`` go to a drag: removed after its drop, not when unclaimed."""
        self._handed.add(slot)

    def discard_unclaimed(self, slot: Path) -> None:
        """Remove ``slot`` unless a drag took its copies."""
        if slot not in self._handed:
            self.discard(slot)

    def discard_later(self, slot: Path, msecs: int = STAGING_LIFETIME_MS) -> None:
        QTimer.singleShot(msecs, lambda: self.discard(slot))

    def clear(self) -> None:
        self._handed.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class DropHint(QLabel):
    """Covers the list while files hover over the window: "Drop to lock into Vault".
    Transparent to the pointer, so the drop still lands on the list below."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropHint")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # opaque enough to hide what is below it: one message, not two on top of each other
        self.setStyleSheet("QLabel#dropHint { background: rgba(222, 235, 250, 245); "
                           "border: 3px dashed #2e7ddc; border-radius: 8px; "
                           "color: #123a66; font-size: 18pt; }")
        parent.installEventFilter(self)
        self.hide()

    def show_for(self, vault_name: str) -> None:
        self.setText(f"Drop to lock into {vault_name}")
        self._fit()
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._fit()
        return False

    def _fit(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect().adjusted(6, 6, -6, -6))


class FileTableView(QTableView):
    """The file list: accepts file drops from outside, starts drags of locked files."""

    files_dropped = Signal(list)      # list[Path] (already expanded)
    #: Files from outside hover over the list (True), or left or were dropped (False).
    drag_hover = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        #: Set by the window: the staged copies' mime data, or None (no drag now).
        self.drag_provider: Callable[[], QMimeData | None] | None = None
        self.after_drag: Callable[[], None] | None = None

    # -- drops in ------------------------------------------------------------------------
    def _external(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
        return event.source() is not self and bool(local_paths(event.mimeData()))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.drag_hover.emit(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drag_hover.emit(False)
        super().dragLeaveEvent(event)

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
        self.drag_hover.emit(False)
        self.files_dropped.emit(expand(local_paths(event.mimeData())))

    # -- drags out -----------------------------------------------------------------------
    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        if self.drag_provider is None:
            return
        mime = self.drag_provider()
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(icons.icon("file-plain").pixmap(32, 32))
        try:
            drag.exec(Qt.DropAction.CopyAction)
        finally:
            after, self.after_drag = self.after_drag, None
            if after is not None:
                after()


def unlock_copies(vault: Vault, paths: Sequence[Path], sizes: Sequence[int], slot: Path, *,
                  progress: ProgressFn, cancel: CancelToken) -> list[Path]:
    """Unlock each locked file into the staging ``slot`` (change lane). On a failure or a
    cancel the slot is removed: no plaintext is left behind for a drag that never comes."""
    outputs: list[Path] = []
    offset = 0
    try:
        for path, size in zip(paths, sizes, strict=True):
            def step(done: int, base: int = offset) -> None:
                progress(base + done)

            outputs.append(vault.unlock(path, slot, progress=step, cancel=cancel))
            offset += size
    except BaseException:
        shutil.rmtree(slot, ignore_errors=True)
        raise
    return outputs


class DragAndDrop(WindowPart):
    """Drops on the window lock files; locked rows dragged out are unlocked where they
    are dropped (a part of ``MainWindow``)."""

    #: XDS on X11 (``direct_save.py``), else None: the unlocked-and-ready way only.
    direct_save: DirectSave | None

    # -- drags out ---------------------------------------------------------------------------
    def _prepare_drag_out(self) -> QMimeData | None:
        """What a drag of the selected locked rows carries: their staged copies if ready,
        else (X11) a direct save into the drop folder; else nothing, and the window
        offers to unlock copies to drag."""
        vault = self.vault
        entries = [e for e in self.selected_entries() if e.locked]
        if vault is None or not entries:
            return None
        copies = [e.staged for e in entries]
        if all(c is not None and c.is_file() for c in copies):
            return self._hand_over([c for c in copies if c is not None])
        if self.direct_save is not None:
            name = entries[0].path.name[: -len(".age")]
            mime = self.direct_save.mime(name, functools.partial(self._save_into, entries))
            self.view.after_drag = functools.partial(self._after_direct_drag, entries, mime)
            return mime
        self._offer_copy_to_drag(entries)
        return None

    def _save_into(self, entries: list[Entry], folder: Path) -> None:
        """The file manager named the drop folder: unlock there (asks before replacing)."""
        self.unlock_to(entries, folder)

    def _after_direct_drag(self, entries: list[Entry], mime: DirectSaveMime) -> None:
        if mime.answered is None:   # dropped where direct save is not understood
            self._offer_copy_to_drag(entries, missed=True)

    def _offer_copy_to_drag(self, entries: list[Entry], *, missed: bool = False) -> None:
        """Another way to a plain copy, offered above the list (never a dialog that pops
        up while the pointer is already over the drop target)."""
        total = sum(e.size for e in entries)
        what = entries[0].name if len(entries) == 1 else f"{len(entries)} files"
        lead = ("Nothing was unlocked: that place does not take files dragged out of "
                "Dataset Vault." if missed else
                f"Dragging {what} out needs a plain copy of it first.")
        actions: list[tuple[str, Callable[[], object]]] = []
        if self.vault is not None and total <= DRAG_OUT_LIMIT:
            vault = self.vault
            actions.append(("Unlock a copy to drag",
                            lambda: self._stage(vault, entries)))
        actions.append(("Unlock to…", self.act_unlock.trigger))
        self.notice.show_notice(
            f"{lead} Unlock a copy to drag ({human_size(total)}, kept privately for two "
            "minutes), or unlock it straight into a folder with Unlock to….", "info",
            tuple(actions))

    def _stage(self, vault: Vault, entries: list[Entry]) -> None:
        slot = self.staging.new_slot()
        paths = [e.path for e in entries]
        sizes = [e.size for e in entries]
        label = (f"Unlocking {entries[0].name}" if len(entries) == 1
                 else f"Unlocking {len(entries)} files to drag out")
        self.tasks.change(functools.partial(unlock_copies, vault, paths, sizes, slot),
                          label=label, what="unlock a copy to drag out",
                          total_bytes=sum(sizes),
                          on_success=functools.partial(self._staged, paths, slot))

    def _staged(self, paths: list[Path], slot: Path, copies: list[Path]) -> None:
        for path, copy in zip(paths, copies, strict=True):
            self.model.set_staged(path, copy)
        what = copies[0].name if len(copies) == 1 else f"the {len(copies)} files"
        self.notice.show_notice(
            f"Ready to drag: drag {what} out of the list and drop it where you want the "
            "plain copy.", "done")
        # (the window as context: no call after it is gone)
        QTimer.singleShot(STAGING_LIFETIME_MS, self, functools.partial(self._expire, slot))

    def _hand_over(self, copies: list[Path]) -> QMimeData:
        """Each staged copy is handed to one drag: the rows go back to "Locked", and the
        copies are removed a little after the drop."""
        slots = {c.parent for c in copies}
        for slot in slots:
            self.staging.hand_over(slot)
        self._unmark(slots)
        self.view.after_drag = functools.partial(self._discard_after_drop, slots)
        return file_urls_mime(copies)

    def _discard_after_drop(self, slots: set[Path]) -> None:
        for slot in slots:
            self.staging.discard_later(slot)

    def _expire(self, slot: Path) -> None:
        """No drag took the copies in ``slot`` in time: remove them."""
        self._unmark({slot})
        self.staging.discard_unclaimed(slot)

    def _unmark(self, slots: set[Path]) -> None:
        """Rows whose copy is in one of ``slots`` are no longer ready to drag."""
        for e in self.model.entries():
            if e.staged is not None and e.staged.parent in slots:
                self.model.set_staged(e.path, None)

    # -- drops on the window (empty state, details pane) ------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.vault is not None and local_paths(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.view.drag_hover.emit(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.view.drag_hover.emit(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.view.drag_hover.emit(False)
        paths = local_paths(event.mimeData())
        if self.vault is None or not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.view.files_dropped.emit(expand(paths))   # as if dropped on the list
