"""What is in a vault: the one folder walk, and each locked file's header facts.

``walk_vault`` is the walk behind ``Vault.scan`` and the window's first paint (no header
reads). ``Listing`` reads headers into ``FileInfo`` rows: ``info`` always re-reads one
file; ``files`` lists them all, keeping unchanged files' rows in memory and reading a
first listing's headers on a few threads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_app.core import age
from vault_app.core.acl import Role, Status
from vault_app.core.atomic import describe_os_error
from vault_app.core.errors import AgeError, KeyFormatError
from vault_app.core.file_head import read_head
from vault_app.core.layout import LOCKED_SUFFIX, display_name
from vault_app.core.registry_store import Stamp
from vault_app.core.session import Session
from vault_app.core.verify import judge

_LIST_THREADS = 4  # threads reading headers in a first listing
_LIST_BATCH = 128  # files per task: few enough tasks that hand-offs cost nothing
_CACHE_LIMIT = 100_000  # rows kept; past it the cache starts over


@dataclass(frozen=True)
class FileInfo:
    path: Path
    name: str
    locked_size: int
    size: int | None
    modified: float
    owner: str | None
    author: str | None
    acl: dict[str, Role]
    readers: list[str]
    signature: str
    signature_detail: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "locked_size": self.locked_size,
                "size": self.size, "modified": self.modified, "owner": self.owner,
                "author": self.author, "acl": {k: v.value for k, v in self.acl.items()},
                "readers": self.readers, "signature": self.signature,
                "signature_detail": self.signature_detail}


def walk_vault(root: Path | str, *, plain_top_level: bool = False,
               folders: list[str] | None = None) -> Iterator[tuple[os.DirEntry[str], bool]]:
    """The one walk of a vault folder: ``(entry, locked)`` for every ``*.age`` regular file
    below ``root`` (hidden names and symlinked folders skipped), plus, with
    ``plain_top_level``, the plain regular files directly in ``root``. ``folders``, if
    given, receives every folder walked. Entries that vanish meanwhile are skipped.
    """
    top = str(root)
    stack = [top]
    while stack:
        folder = stack.pop()
        if folders is not None:
            folders.append(folder)
        try:
            listing = os.scandir(folder)
        except OSError:
            continue
        with listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.name.endswith(LOCKED_SUFFIX):
                        if entry.is_file():
                            yield entry, True
                    elif (plain_top_level and folder == top
                          and entry.is_file(follow_symlinks=False)):
                        yield entry, False
                except OSError:
                    continue


def scan(root: Path) -> list[Path]:
    """Every ``*.age`` file under the vault (hidden folders skipped); no header reads."""
    return sorted(Path(entry.path) for entry, locked in walk_vault(root) if locked)


class Listing:
    """Header facts of a session's locked files, remembered for re-listings."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[Path, tuple[tuple[int, int, int, int, Stamp | None], FileInfo]] = {}

    def info(self, locked: Path) -> FileInfo:
        """Header-only facts and signature status of one locked file (always re-read)."""
        session = self._session
        try:
            head = read_head(locked, folder=self._session.folder)
        except (AgeError, KeyFormatError) as exc:
            return self._unreadable(locked, str(exc))
        verdict = judge(session, head, locked)
        try:
            size: int | None = age.content_size(head.header, head.file_size)
        except AgeError:
            size = None
        current = head.history[-1] if head.history else None
        acl = {n: Role(r) for n, r in current.acl.items()} if current else {}
        return FileInfo(
            path=locked, name=self._name(locked), locked_size=head.file_size, size=size,
            modified=head.mtime, owner=(current.owners[0] if current and current.owners
                                        else None),
            author=current.author if current else None, acl=acl,
            readers=sorted(current.readers) if current else [],
            signature=verdict.status.value, signature_detail=verdict.detail)

    def files(self) -> list[FileInfo]:
        """Every locked file's info; unchanged files come from memory on a re-listing.

        A first listing of a large vault is mostly Ed25519 signature checks, which release
        the GIL: batches of files are read on a few threads (as the window's header pool
        does), in order.
        """
        self._session.registry  # noqa: B018 - refreshes the registry stamp the cache key uses
        paths = scan(self._session.path)
        workers = min(_LIST_THREADS, os.cpu_count() or 1)
        if workers < 2 or len(paths) < 2 * _LIST_BATCH:
            return [self._cached_info(p) for p in paths]
        from concurrent.futures import ThreadPoolExecutor

        def batch(start: int) -> list[FileInfo]:
            return [self._cached_info(p) for p in paths[start : start + _LIST_BATCH]]

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vault-list") as pool:
            return [info for part in pool.map(batch, range(0, len(paths), _LIST_BATCH))
                    for info in part]

    def _cached_info(self, locked: Path) -> FileInfo:
        """``info`` remembered per (inode, mtime, ctime, size, registry version), for listings:
        changes rewrite files through a rename (new inode), so a re-listing re-reads only
        the files that changed. Operations never use it; they re-read the header.
        """
        try:
            stat = os.lstat(locked)
        except OSError as exc:
            return self._unreadable(locked, str(describe_os_error(exc, locked)))
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size,
               self._session.registry_store.stamp)
        cached = self._cache.get(locked)
        if cached is not None and cached[0] == key:
            return cached[1]
        info = self.info(locked)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[locked] = (key, info)
        return info

    def _name(self, locked: Path) -> str:
        return display_name(locked.absolute(), self._session.path)

    def _unreadable(self, locked: Path, why: str) -> FileInfo:
        try:
            stat = os.lstat(locked)
            size, mtime = stat.st_size, stat.st_mtime
        except OSError:
            size, mtime = 0, 0.0
        return FileInfo(locked, self._name(locked), size, None, mtime, None, None, {},
                        [], Status.UNREADABLE.value, why)
