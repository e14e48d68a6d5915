"""What the window's actions do: lock, unlock, preview, share, revoke, verify, reveal,
members, settings.

A part of ``MainWindow`` (mixed in), kept apart from the window's construction. Every
change goes to the change lane of ``self.tasks`` and names the files it touches, so the
file list refreshes those rows when it succeeds; a failure shows the error dialog
(``Tasks``' default) unless said otherwise. Reads (the header a dialog needs, verify)
go to the read lane. Every dialog opens non-blocking (``open()``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.gui import verdicts
from vault_app.gui.dialogs.errors import show_error
from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.dnd import expand
from vault_app.gui.file_model import Entry
from vault_app.gui.lock_choice import LockBatch, ask_lock_choice
from vault_app.gui.reveal import reveal
from vault_app.gui.units import home_relative
from vault_app.gui.window_part import Button, WindowPart

if TYPE_CHECKING:
    from vault_app.core.vault import FileInfo, FileVerdict, Vault


class FileActions(WindowPart):
    """The actions on the vault's files (a part of ``MainWindow``)."""

    # -- lock ---------------------------------------------------------------------------------
    def lock_action(self) -> None:
        if self._need_vault() is None:
            return
        plain = [e.path for e in self.selected_entries() if not e.locked]
        if plain:
            self.lock_files(plain)
        else:
            self._ask_files("Choose files to lock into the vault", self.lock_files)

    def lock_files(self, paths: list[Path], keep: bool | None = None) -> None:
        """Lock these files (folders expand to their files), one change each. Files from
        outside the vault: ``keep`` says whether the originals stay; None asks (Move or
        Copy) unless the person chose to be remembered."""
        vault = self._need_vault()
        if vault is None:
            return
        files = expand(paths)
        locked = [p for p in files if p.name.endswith(LOCKED_SUFFIX)
                  and vault.path not in p.parents]
        skipped = [p for p in files if p.name.endswith(LOCKED_SUFFIX)
                   or vault.meta in p.parents]
        todo = [p for p in files if p not in skipped]
        if locked and not todo:
            self.open_target(locked[0])   # already locked: offer what can be done with it
            return
        if skipped:
            self.statusBar().showMessage(
                f"Left {len(skipped)} file(s) alone: already locked, or the vault's own "
                "data.", 8000)
        if not todo:
            return
        mode = Settings().lock_mode
        outside = [p for p in todo if vault.path not in p.parents]
        if keep is None and mode == "ask" and outside:
            ask_lock_choice(self, todo, vault.path.name,
                            lambda keep: self._queue_locks(vault, todo, keep))
            return
        self._queue_locks(vault, todo, mode == "copy" if keep is None else keep)

    def _queue_locks(self, vault: Vault, todo: list[Path], keep: bool) -> None:
        if self.lock_batch is None or self.lock_batch.keep != keep:
            self.lock_batch = LockBatch(vault.path.name, keep)
        batch = self.lock_batch
        for src in todo:
            try:
                size = src.stat().st_size
            except OSError as exc:
                show_error(self, exc, action=f"lock {src.name}")
                continue
            batch.sources.append(src)
            self.tasks.change(functools.partial(vault.lock, src, keep=keep),
                              label=f"Locking {src.name}", what=f"lock {src.name}",
                              total_bytes=size,
                              touches=functools.partial(_lock_touches, src),
                              on_success=functools.partial(self._locked, batch),
                              on_failure=functools.partial(self._lock_failed, batch, src))

    def _locked(self, batch: LockBatch, info: FileInfo) -> None:
        batch.locked.append(info.path)

    def _lock_failed(self, batch: LockBatch, src: Path, exc: BaseException) -> None:
        batch.failed += 1
        show_error(self, exc, action=f"lock {src.name}")

    def _report_locks(self) -> None:
        """The change lane is idle: say where the batch's files went (notice above the
        list) and select them."""
        batch, self.lock_batch = self.lock_batch, None
        if batch is None or not batch.sources:
            return
        found = self.select_paths(batch.locked) if batch.locked else []
        actions: tuple[tuple[str, Callable[[], object]], ...] = ()
        if found:
            first = found[0]
            actions = (("Show in file manager", lambda: reveal(first, self.url_opener)),)
        self.notice.show_notice(batch.summary(), "done" if batch.locked else "info",
                                actions)

    # -- unlock ---------------------------------------------------------------------------------
    def unlock_action(self) -> None:
        locked = [e for e in self.selected_entries() if e.locked]
        if locked and self._need_vault():
            self._ask_folder("Unlock a copy into which folder?",
                             lambda folder: self.unlock_to(locked, folder),
                             Settings().unlock_folder)

    def unlock_to(self, entries: list[Entry], folder: Path) -> None:
        clash = [e for e in entries if (folder / e.path.name[: -len(LOCKED_SUFFIX)]).exists()]
        if clash:
            names = ", ".join(e.path.name[: -len(LOCKED_SUFFIX)] for e in clash[:5])
            self._confirm("Replace existing files?",
                          f"{folder} already has {names}.", "Replace",
                          lambda: self._queue_unlock(entries, folder, overwrite=True),
                          icon=QMessageBox.Icon.Warning)
        else:
            self._queue_unlock(entries, folder, overwrite=False)

    def _queue_unlock(self, entries: list[Entry], folder: Path, *, overwrite: bool) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        for e in entries:
            self.tasks.change(
                functools.partial(vault.unlock, e.path, folder, overwrite=overwrite),
                label=f"Unlocking {e.name}", what=f"unlock {e.name}", total_bytes=e.size,
                touches=lambda out: (out,), on_success=self._unlocked,
                on_failure=functools.partial(self._unlock_failed, e))

    def _unlocked(self, out: Path) -> None:
        self.notice.show_notice(
            f"Unlocked a copy of {out.name} to {home_relative(out.parent)}. It is not "
            "encrypted there: delete it when you are done.", "done",
            (("Show in file manager", lambda: reveal(out, self.url_opener)),))

    def _unlock_failed(self, entry: Entry, exc: BaseException) -> None:
        """The list shows what the unlock found (a damaged file turns red), and why."""
        self._read_failed(entry.path, exc)
        show_error(self, exc, action=f"unlock {entry.name}")

    # -- preview, share, revoke --------------------------------------------------------------
    def preview_action(self) -> None:
        from vault_app.gui.dialogs.preview import PreviewDialog

        entry = self._one_locked()
        if entry is None or self.vault is None:
            return
        dlg = PreviewDialog(self.vault, entry.path, self.tasks, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.failed.connect(functools.partial(self._read_failed, entry.path))
        dlg.open()

    def _read_failed(self, path: Path, exc: BaseException) -> None:
        """A full read (Preview) found the file bad: the list says so too."""
        status = verdicts.status_of_error(exc)
        if status is not None:
            self.model.set_verdict(path, status, str(exc))

    def share_action(self) -> None:
        """Read the file's access list (read lane), then open the Share dialog on it."""
        entry = self._one_locked()
        vault = self.vault
        if entry is None or vault is None:
            return
        self.tasks.read(functools.partial(vault.info, entry.path), what=f"share {entry.name}",
                        on_success=functools.partial(self._open_share, vault))

    def _open_share(self, vault: Vault, info: FileInfo) -> None:
        from vault_app.gui.dialogs.share import ShareDialog

        try:
            dlg = ShareDialog(vault, info, self.tasks, self)
        except Exception as exc:
            show_error(self, exc, action=f"share {info.name}")
            return
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.applied.connect(lambda new: self.statusBar().showMessage(
            f"Changed who can read {new.name}.", 5000))
        dlg.open()

    def revoke_action(self) -> None:
        entry = self._one_locked()
        if entry is None or self.vault is None:
            return
        if entry.info is None:
            self.model.request_rows([self.model.row_of(entry.path) or 0])
            self.statusBar().showMessage("Still reading the file's access list; try again.",
                                         4000)
            return
        others = [u for u in entry.info.readers if u != self.vault.user]
        if not others:
            self.statusBar().showMessage(f"Nobody else can read {entry.name}.", 5000)
            return
        dlg = QInputDialog(self)
        dlg.setObjectName("chooseReader")
        dlg.setWindowTitle("Revoke access")
        dlg.setLabelText(f"Who should no longer read {entry.name}?")
        dlg.setComboBoxItems(others)
        dlg.setOkButtonText("Continue…")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.textValueSelected.connect(lambda user: self._confirm_revoke(entry, user))
        dlg.open()

    def _confirm_revoke(self, entry: Entry, user: str) -> None:
        self._confirm(
            "Revoke access?",
            f"{user} will no longer be able to read {entry.name}.", "Revoke and re-encrypt",
            lambda: self.revoke(entry, user),
            info="The file is re-encrypted with a fresh key that is not given to them. "
                 "Copies they already made or unlocked stay readable to them: no tool can "
                 "take those back.", icon=QMessageBox.Icon.Warning)

    def revoke(self, entry: Entry, user: str) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        self.tasks.change(functools.partial(vault.revoke, entry.path, user),
                          label=f"Revoking {user} from {entry.name}",
                          what=f"revoke {user}'s access", total_bytes=entry.size,
                          touches=(entry.path,))

    # -- verify, reveal -------------------------------------------------------------------------
    def verify_action(self) -> None:
        vault = self._need_vault()
        if vault is None:
            return
        chosen = [e.path for e in self.selected_entries() if e.locked]
        if not chosen and not any(e.locked for e in self.model.entries()):
            self.statusBar().showMessage("There are no locked files to verify.", 5000)
            return
        if not chosen:   # the whole vault: also what spans files (conflicts, audit log)
            self.tasks.read(vault.verify, what="verify the vault",
                            label="Verifying the vault", on_success=self._verified)
            return
        self.tasks.read(functools.partial(vault.verify, chosen), what="verify files",
                        label=f"Verifying {len(chosen)} file(s)", on_success=self._verified)

    def _verified(self, results: list[FileVerdict]) -> None:
        """The list and the details follow what Verify found (red for a bad file, until
        it changes); the dialog words each problem, the core's detail goes under
        "Show Details…"."""
        for r in results:
            self.model.set_verdict(r.path, r.status.value, r.detail)
        bad = [(r.path, r.status.value, r.detail) for r in results if not r.ok]
        files = sum(1 for r in results if self.model.row_of(r.path) is not None)
        if not bad:
            box = QMessageBox(QMessageBox.Icon.Information, "Verify",
                              f"All {files} file(s) are fine.", Button.Ok, self)
            box.setInformativeText(verdicts.sentence("valid"))
        else:
            ours = sum(1 for p, _s, _d in bad if self.model.row_of(p) is not None)
            records = " and the vault's own records" if ours < len(bad) else ""
            headline = (f"{ours} of {files} file(s){records} need attention." if ours
                        else "The vault's own records need attention.")
            box = QMessageBox(QMessageBox.Icon.Warning, "Verify", headline, Button.Ok, self)
            vault = self.vault
            name = (vault.display_name if vault is not None else (lambda p: p.name))
            # a file in the list: what its status means; the vault's own records
            # (registry, audit log): the core's words, which name what went wrong
            lines = [f"{name(p)}: " + (verdicts.sentence(s) if self.model.row_of(p) is not None
                                       else verdicts.without_marker(d))
                     for p, s, d in bad[:8]]
            if len(bad) > 8:
                lines.append(f"… and {len(bad) - 8} more (Show Details…).")
            box.setInformativeText("\n\n".join(lines))
            box.setDetailedText("\n".join(f"{name(p)}: {s}: {d}" for p, s, d in bad))
        box.setObjectName("verifyResult")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 420px; }")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def reveal_action(self) -> None:
        entries = self.selected_entries()
        if entries:
            reveal(entries[0].path, self.url_opener)

    # -- vault-wide: open, members, settings, about ------------------------------------------
    def open_vault_action(self) -> None:
        start = self.vault.path.parent if self.vault else None
        self._ask_folder("Open a vault folder", self.open_vault_at, start)

    def members_action(self) -> None:
        from vault_app.gui.dialogs.members import MembersDialog

        vault = self._need_vault()
        if vault is None:
            return
        dlg = MembersDialog(vault, self.tasks, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.meta_watch.changed.connect(dlg.refresh)   # a request arrives, a sync lands
        dlg.open()

    def settings_action(self) -> None:
        from vault_app.gui.dialogs.settings import SettingsDialog

        dlg = SettingsDialog(self.vault, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def about(self) -> None:
        QMessageBox.about(self, "About Dataset Vault",
                          "Dataset Vault keeps dataset files locked with standard age "
                          "encryption, keys in your OS keyring and a per-file access list.")


def _lock_touches(src: Path, info: FileInfo) -> tuple[Path, Path]:
    """A lock writes the locked file and removes (or, as asked, keeps) the plain one."""
    return src, info.path
