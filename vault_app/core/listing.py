"""What is in a vault: each locked file's header facts (the folder walk is ``walk.py``).

``Listing`` reads headers into ``FileInfo`` rows: ``info`` always re-reads one
file; ``files`` lists them all, keeping unchanged files' rows in memory and reading a
first listing's headers on a few threads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vault_app.core import age, worker_threads
from vault_app.core.acl import Role, Status
from vault_app.core.atomic import describe_os_error
from vault_app.core.conflicts import duplicate_ids, duplicate_verdict
from vault_app.core.errors import AgeError, KeyFormatError
from vault_app.core.file_head import read_head
from vault_app.core.layout import display_name
from vault_app.core.registry_store import Stamp
from vault_app.core.session import Session
from vault_app.core.value_class import replace, value_class
from vault_app.core.verify import judge
from vault_app.core.walk import scan

_LIST_THREADS = 4  # threads reading headers in a first listing
_LIST_BATCH = 128  # files per task: few enough tasks that hand-offs cost nothing
_CACHE_LIMIT = 100_000  # rows kept; past it the cache starts over


@value_class
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
    file_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "locked_size": self.locked_size,
                "size": self.size, "modified": self.modified, "owner": self.owner,
                "author": self.author, "acl": {k: v.value for k, v in self.acl.items()},
                "readers": self.readers, "signature": self.signature,
                "signature_detail": self.signature_detail, "file_id": self.file_id}


def with_duplicates(infos: list[FileInfo], root: Path) -> list[FileInfo]:
    """``infos``, with every file that shares its file id with another marked a conflict."""
    others = duplicate_ids((i.path, i.file_id) for i in infos)
    if not others:
        return infos
    marked = []
    for info in infos:
        if info.path in others and info.signature != Status.CONFLICT.value:
            verdict = duplicate_verdict(others[info.path], root)
            info = replace(info, signature=verdict.status.value,
                                       signature_detail=verdict.detail)
        marked.append(info)
    return marked



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
            signature=verdict.status.value, signature_detail=verdict.detail,
            file_id=current.file_id if current else None)

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
            return with_duplicates([self._cached_info(p) for p in paths], self._session.path)
        from concurrent.futures import ThreadPoolExecutor

        def batch(start: int) -> list[FileInfo]:
            return [self._cached_info(p) for p in paths[start : start + _LIST_BATCH]]

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vault-list",
                                initializer=worker_threads.block_ending_signals) as pool:
            return with_duplicates(
                [info for part in pool.map(batch, range(0, len(paths), _LIST_BATCH))
                 for info in part], self._session.path)

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
