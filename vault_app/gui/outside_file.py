"""A locked file outside every open vault: a partner's age file, or a vault file copied
out. Double-clicking one used to give only a status-bar line ("not in an open vault");
now the window says what can be done with it and offers exactly that:

* it is locked for your key: Preview (in memory), Unlock to… (a folder you choose), or
  Import into the open vault (a copy locked the vault's way; the original stays);
* it comes from a vault you have opened before (its signed record names that vault's
  recovery key): Open its vault;
* it is not locked for you: say so, and offer your public key to send to whoever
  locked it.

The file's header is read on the read lane first (``probe``); nothing is decrypted
until the person chooses. A part of ``MainWindow`` (see ``window_part.py``).
"""

from __future__ import annotations

import functools
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from vault_app.core.errors import ErrorKind, VaultError
from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.units import home_relative
from vault_app.gui.window_part import WindowPart

if TYPE_CHECKING:
    from vault_app.core.keystore import Keystore, UserKeys
    from vault_app.core.progress import CancelToken, ProgressFn
    from vault_app.core.vault import FileInfo, Vault

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"


@dataclass(frozen=True)
class OutsideFacts:
    """What the header says, read before anything is offered."""

    readable: bool           # locked for the acting user's key
    recipient: str           # that user's public key (to send to whoever locked it)
    recovery: str | None     # the recovery key of the vault it comes from, if any


def _keys(keystore: Keystore, user: str) -> UserKeys:
    return keystore.load(user)


def probe(path: Path, keystore: Keystore, user: str) -> OutsideFacts:
    """Read lane: is it locked for me, and which vault signed it?"""
    from vault_app.core import age
    from vault_app.core.file_head import read_head_from
    from vault_app.core.reader import AgeReader

    keys = _keys(keystore, user)
    recovery = None
    with age.open_input(path) as handle:
        armored = handle.read(len(ARMOR_BEGIN)) == ARMOR_BEGIN
        if not armored:   # (an armored file carries no vault record worth matching)
            history = read_head_from(handle, path).history
            if history:
                recovery = history[-1].recovery
    try:
        AgeReader(path, identities=[keys.identity]).close()   # header MAC checked
    except VaultError as exc:
        if exc.kind not in (ErrorKind.WRONG_KEY, ErrorKind.NO_ACCESS):
            raise
        return OutsideFacts(False, keys.recipient, recovery)
    return OutsideFacts(True, keys.recipient, recovery)


def open_outside(path: Path, keystore: Keystore, user: str, verify: bool) -> BinaryIO:
    """The plaintext, read in place (the preview); with ``verify`` the content must be
    the signed content, when the file carries a vault record: each segment is checked as
    it is read (older files: the whole payload's digest, on opening)."""
    from vault_app.core import segments
    from vault_app.core.atomic import describe_os_error
    from vault_app.core.file_head import read_head_from
    from vault_app.core.reader import AgeReader

    identity = _keys(keystore, user).identity
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the reader closes it
    except OSError as exc:
        raise describe_os_error(exc, path) from None
    try:
        armored = handle.read(len(ARMOR_BEGIN)) == ARMOR_BEGIN
        head = None if armored else read_head_from(handle, path)
        current = head.history[-1] if head is not None and head.history else None
        whole = listed = None
        if verify and current is not None and head is not None:
            if current.segments_sha256:
                listed = head.segments or segments.Listed(segments.SEGMENT_CHUNKS, ())
                segments.check_list(listed, current.segments_sha256, head.payload_size)
            else:
                whole = current.payload_sha256
        handle.seek(0)
        return io.BufferedReader(AgeReader(handle, identities=[identity], payload_sha256=whole,
                                           segment_digests=listed, owns_source=True,
                                           name=str(path)))
    except BaseException:
        handle.close()
        raise


def unlock_outside(path: Path, keystore: Keystore, user: str, folder: Path, *,
                   progress: ProgressFn, cancel: CancelToken) -> Path:
    """Change lane: decrypt with the acting user's key into ``folder`` (the signed
    content digest, if any, is enforced; the plaintext appears only if it all checks)."""
    from vault_app.core.vault import recover_file

    return recover_file(path, _keys(keystore, user).identity, folder, progress=progress,
                        cancel=cancel)


def import_into(vault: Vault, path: Path, slot: Path, *, progress: ProgressFn,
                cancel: CancelToken) -> FileInfo:
    """Change lane: a copy of ``path``, locked into ``vault`` the vault's way. The
    plaintext passes through the private staging ``slot`` and is removed either way."""
    from vault_app.core.vault import recover_file

    try:
        plain = recover_file(path, vault.keys().identity, slot, cancel=cancel)
        return vault.lock(plain, keep=False, progress=progress, cancel=cancel)
    finally:
        shutil.rmtree(slot, ignore_errors=True)


class OutsideFiles(WindowPart):
    """What the window offers for a locked file outside every open vault."""

    keystore: Keystore
    #: Shows a "Show in file manager" notice for an unlocked copy (file_actions.py).
    _unlocked: Callable[[Path], None]

    def acting_user(self) -> str:
        from vault_app.core.vault import default_user

        return self.vault.user if self.vault is not None else default_user()

    def offer_outside(self, path: Path) -> None:
        """Read the header (read lane), then ask what to do with the file."""
        user = self.acting_user()
        def ask(facts: OutsideFacts) -> None:
            self._ask_outside(path, user, facts)

        self.tasks.read(functools.partial(probe, path, self.keystore, user),
                        what=f"open {path.name}", on_success=ask)

    def _vault_of(self, facts: OutsideFacts) -> Path | None:
        """A vault opened before whose recovery key the file's record names."""
        from vault_app.core.vault import Vault

        if facts.recovery is None:
            return None
        for folder in Settings().recent_vaults:
            if self.vault is not None and folder == self.vault.path:
                continue
            try:
                if Vault.open(folder, keystore=self.keystore).recovery_recipient \
                        == facts.recovery:
                    return folder
            except (VaultError, OSError):
                continue
        return None

    def _ask_outside(self, path: Path, user: str, facts: OutsideFacts) -> QMessageBox:
        name = path.name[: -len(".age")] if path.name.endswith(".age") else path.name
        box = QMessageBox(QMessageBox.Icon.Question, "Locked file",
                          f"{path.name} is a locked file outside your vault.",
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("outsideFile")
        box.setTextFormat(Qt.TextFormat.PlainText)
        actions: dict[object, Callable[[], object]] = {}
        home = self._vault_of(facts)
        if facts.readable:
            info = ("It is locked for you, so you can read it here: preview it, unlock a "
                    "copy into a folder, or import it into your vault (a copy locked the "
                    "vault's way; the original stays where it is).")
            preview = box.addButton("Preview", QMessageBox.ButtonRole.ActionRole)
            actions[preview] = lambda: self._preview_outside(path, name, user, facts)
            unlock = box.addButton("Unlock to…", QMessageBox.ButtonRole.ActionRole)
            actions[unlock] = lambda: self._ask_folder(
                "Unlock a copy into which folder?",
                lambda folder: self._unlock_outside(path, user, folder),
                Settings().unlock_folder)
            if self.vault is not None:
                vault = self.vault
                add = box.addButton(f"Import into {vault.path.name}",
                                    QMessageBox.ButtonRole.AcceptRole)
                actions[add] = lambda: self._import(vault, path)
            box.setDefaultButton(preview)
        else:
            info = (f"It is not locked for you ({user}), so it cannot be opened here. Ask "
                    "whoever locked it to lock it again for your public key:\n"
                    f"{facts.recipient}")
            copy = box.addButton("Copy my public key", QMessageBox.ButtonRole.ActionRole)
            actions[copy] = lambda: QGuiApplication.clipboard().setText(facts.recipient)
        if home is not None:
            info += (f"\n\nIt comes from the vault {home.name} ({home_relative(home)}), "
                     "which you have opened before.")
            go = box.addButton("Open its vault", QMessageBox.ButtonRole.ActionRole)
            actions[go] = lambda: self.open_vault_at(home)
        box.setInformativeText(info)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: actions[b]() if b in actions else None)
        box.open()
        return box

    def _preview_outside(self, path: Path, name: str, user: str,
                         facts: OutsideFacts) -> None:
        from vault_app.gui.dialogs.preview import PreviewDialog

        opener = functools.partial(open_outside, path, self.keystore, user)
        dlg = PreviewDialog(None, path, self.tasks, self, opener=opener, name=name)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def _unlock_outside(self, path: Path, user: str, folder: Path) -> None:
        self.tasks.change(functools.partial(unlock_outside, path, self.keystore, user,
                                            folder),
                          label=f"Unlocking {path.name}", what=f"unlock {path.name}",
                          total_bytes=path.stat().st_size, on_success=self._unlocked)

    def _import(self, vault: Vault, path: Path) -> None:
        slot = self.staging.new_slot()
        self.tasks.change(functools.partial(import_into, vault, path, slot),
                          label=f"Importing {path.name}", what=f"import {path.name}",
                          total_bytes=path.stat().st_size,
                          touches=lambda info: (info.path,),
                          on_success=lambda info: self._imported(path, info))

    def _imported(self, path: Path, info: FileInfo) -> None:
        self.select_path(info.path)
        self.notice.show_notice(
            f"Imported {path.name} into {info.path.parent.name}: "
            f"{home_relative(info.path)}. The original is still in "
            f"{home_relative(path.parent)}.", "done")
