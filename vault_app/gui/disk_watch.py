"""Changes made on disk by someone else (the CLI, a sync client, a bad disk, a person
with write access) show in the list without F5.

A file system watcher (inotify on Linux) watches the vault's folders (files added,
removed, renamed) and its locked files (rewritten in place: a directory watch does not
see that). A change is handled once the window's own queue is idle (its own writes
update their rows themselves) and a moment after the last event, so a burst of
changes costs one rescan. A locked file that changed is read again *in full* on the
read lane (``Vault.verify``: signature, then the whole content against its signed
digest), because its header may well be intact while its content is not: the row says
"Checking…", then turns red if the check fails. Files above ``AUTO_CHECK_LIMIT`` get
their header read only; Verify checks them on request.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from vault_app.gui.file_model import FileTableModel

if TYPE_CHECKING:
    from vault_app.core.vault import Vault
    from vault_app.gui.tasks import Tasks

#: Folders and locked files watched at most (inotify watches are a per-user budget).
FOLDER_LIMIT = 256
FILE_LIMIT = 2000
#: A changed file up to this size is checked in full at once; larger ones on Verify.
AUTO_CHECK_LIMIT = 1 << 30
#: Quiet time after the last event before acting on a burst of them.
SETTLE_MS = 300


def check_file(vault: Vault, path: Path) -> tuple[str, str]:
    """The full check of one file (read lane): ``(status, detail)`` as Verify gives it."""
    for verdict in vault.verify([path]):
        if verdict.path == path:
            return verdict.status.value, verdict.detail
    return "unreadable", "it could not be checked"


class DiskWatch(QObject):
    """Keeps ``model`` in step with the disk; ``checked(path)`` after each full check."""

    checked = Signal(object)   # Path

    def __init__(self, model: FileTableModel, tasks: Tasks, parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self._model = model
        self._tasks = tasks
        self.watcher = QFileSystemWatcher(self)
        self._pending: set[Path] = set()
        self._rescan_timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._rescan_timer.timeout.connect(self._rescan)
        self._files_timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._files_timer.timeout.connect(self._files_changed)
        self.watcher.directoryChanged.connect(lambda _p: self._rescan_timer.start())
        self.watcher.fileChanged.connect(self._on_file)

    def watch(self) -> None:
        """Watch what the last scan listed (call after every scan)."""
        for old in (self.watcher.directories(), self.watcher.files()):
            if old:
                self.watcher.removePaths(old)
        if self._model.vault is None:
            return
        folders = self._model.folders[:FOLDER_LIMIT]
        files = [str(e.path) for e in self._model.entries() if e.locked][:FILE_LIMIT]
        if folders or files:
            self.watcher.addPaths(folders + files)

    def _on_file(self, path: str) -> None:
        self._pending.add(Path(path))
        self._files_timer.start()

    def _quiet(self, timer: QTimer) -> bool:
        """Not while the window's own change runs: its rows update when it ends."""
        if self._tasks.busy():
            timer.start()
            return False
        return True

    def _rescan(self) -> None:
        if self._quiet(self._rescan_timer):
            self.rescan()

    def rescan(self) -> None:
        """Rescan the vault (F5 does this too) and check the files that changed."""
        changed = self._model.refresh()
        self.watch()
        for path in changed:
            self.check(path)

    def _files_changed(self) -> None:
        if not self._quiet(self._files_timer):
            return
        pending, self._pending = self._pending, set()
        changed = self._model.restat(pending)
        watched = set(self.watcher.files())
        again = [str(p) for p in pending if str(p) not in watched and p.exists()]
        if again:   # replaced by a rename: the watch went with the old file
            self.watcher.addPaths(again)
        for path in changed:
            self.check(path)

    def check(self, path: Path) -> None:
        """Read a changed locked file in full on the read lane; the row shows the result."""
        vault = self._model.vault
        row = self._model.row_of(path)
        if vault is None or row is None or not self._model.entry(row).locked:
            return
        try:
            size = os.stat(path).st_size
        except OSError:
            return   # gone already: the rescan removes the row
        if size > AUTO_CHECK_LIMIT:
            return
        self._model.set_checking(path, True)
        self._tasks.read(functools.partial(check_file, vault, path), owner=self,
                         on_success=functools.partial(self._checked, vault, path),
                         on_failure=functools.partial(self._failed, vault, path))

    def _checked(self, vault: Vault, path: Path, result: tuple[str, str]) -> None:
        if self._model.vault is vault:
            self._model.set_verdict(path, *result)
            self.checked.emit(path)

    def _failed(self, vault: Vault, path: Path, exc: BaseException) -> None:
        self._checked(vault, path, ("unreadable", str(exc) or type(exc).__name__))
