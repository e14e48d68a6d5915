"""What the window knows about the open vault as a whole, and when to read it again.

Besides its files, a vault has a state a person must see before they trust it: whether
they are a member (or only asked to be), and problems of the vault as a whole that
``Vault.health`` finds without reading files (a member registry put back to an older
copy, two copies changed apart, a sync tool's conflict copies of the vault's own
records). ``read_state`` gathers that on the read lane; ``MetaWatch`` says when the
vault's own records (``.vault/``, its join requests) changed on disk, so the banner
follows an approval, a rollback or a sync without F5.

A join request under this person's name is theirs only if it holds the keys of their own
keyring: anyone who can write the folder can write a request under any name, and the
fingerprint it shows is the one an admin would compare. So the state names the
fingerprint only after checking the keys, and says so loudly when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from vault_app.core.layout import META
from vault_app.core.members import fingerprint

if TYPE_CHECKING:
    from vault_app.core.vault import Vault

#: The folder of join requests in ``.vault/`` (``core/joining.py``).
REQUESTS = "requests"
#: Quiet time after the last change in ``.vault/`` before reading the state again.
SETTLE_MS = 300


@dataclass(frozen=True)
class OwnRequest:
    """A join request under the acting user's name: its fingerprint and whether it holds
    the keys of this account's keyring (False: someone else wrote it)."""

    fingerprint: str
    mine: bool
    file_owner: str | None


@dataclass(frozen=True)
class VaultState:
    """The vault as a whole, as the banner shows it."""

    #: ``Vault.health()``: each starts with "rollback:", "fork:" or "conflict:".
    problems: tuple[str, ...] = ()
    member: bool = True
    admin: bool = False
    #: Not a member: their pending request, if any.
    request: OwnRequest | None = None
    #: Pending join requests an admin could approve (counted for admins only).
    waiting: int = 0
    #: Why the acting user's own registry entry is not trusted (an edited registry, a
    #: swapped key): then they are neither a member nor someone who should ask to join.
    entry_problem: str | None = None


def read_state(vault: Vault) -> VaultState:
    """The vault's state for the acting user (read lane: reads ``.vault/`` and, only
    when a request under their name is waiting, their own keys to compare)."""
    problems = tuple(vault.health())
    registry = vault.registry
    if vault.user in registry.problems:
        return VaultState(problems, member=False,
                          entry_problem=registry.problems[vault.user])
    entry = registry.trusted.get(vault.user)
    member = entry is not None and entry.active and vault.user not in registry.problems
    admin = bool(member and entry is not None and entry.admin)
    if member and not admin:
        return VaultState(problems, member=True)
    requests, _problems = vault.join_requests()
    if admin:
        return VaultState(problems, member=True, admin=True, waiting=len(requests))
    own = next((r for r in requests if r.name == vault.user), None)
    if own is None:
        return VaultState(problems, member=False)
    mine = False
    if vault.keystore.exists(vault.user):
        keys = vault.keystore.load(vault.user)
        mine = fingerprint(keys.recipient, keys.signing_public) == own.fingerprint
    return VaultState(problems, member=False,
                      request=OwnRequest(own.fingerprint, mine, own.file_owner))


class MetaWatch(QObject):
    """``changed`` a moment after the vault's records (``.vault/``, ``.vault/requests/``)
    changed on disk: every write there is a rename or a new file, which a folder watch
    sees."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root: Path | None = None
        self.watcher = QFileSystemWatcher(self)
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self._settled)
        self.watcher.directoryChanged.connect(lambda _path: self._timer.start())

    def watch(self, root: Path | None) -> None:
        """Watch the records of the vault at ``root`` (None: nothing)."""
        self._root = root
        self._rewatch()

    def _rewatch(self) -> None:
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        if self._root is None:
            return
        folders = [self._root / META, self._root / META / REQUESTS]
        found = [str(f) for f in folders if f.is_dir()]
        if found:
            self.watcher.addPaths(found)

    def _settled(self) -> None:
        self._rewatch()   # the requests folder may have just been made
        self.changed.emit()
