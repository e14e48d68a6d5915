"""The vault folder as the app touches it: the one place vault files are opened and written.

Everything below the vault root is shared ground (see ``safe_fs``): no link is followed,
no special file is read, what is read is bounded, and a new version of a file is published
only if the name then holds the very file written. Shared entries get the modes the vault
folder itself gives (``folder_modes``), never the writer's umask. Metadata files are JSON
parsed as hostile input (``safe_json``). Every operation module reaches the folder through
the session's ``VaultFolder``; none opens a vault path itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vault_app.core import lockfile, safe_fs, safe_json
from vault_app.core.errors import MalformedError, VaultError
from vault_app.core.folder_modes import Modes, modes_of
from vault_app.core.layout import LOCK_TIMEOUT, LOCKS, META
from vault_app.core.safe_fs import Folder


class VaultFolder:
    """The folder ``root`` of one vault (``root`` itself may be reached through a link)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modes: Modes | None = None
        self._resolved: Path | None = None

    @property
    def modes(self) -> Modes:
        """Modes for shared entries, from the vault folder's own permissions."""
        if self._modes is None:
            self._modes = modes_of(self.root)
        return self._modes

    def parts(self, path: Path) -> tuple[str, ...]:
        """``path`` as names below the root (never resolving a link below it)."""
        if self._resolved is None:
            self._resolved = self.root.resolve()
        return safe_fs.parts_of(self.root, path, resolved_root=self._resolved)

    # -- locked files and the folders that hold them -------------------------------------

    @contextlib.contextmanager
    def folder(self, parts: tuple[str, ...] | list[str], *,
               create: bool = False) -> Iterator[Folder]:
        """The folder ``root/parts...`` (made with the shared folder mode if asked)."""
        folder = safe_fs.open_folder(self.root, parts, create=create,
                                     mode=self.modes.folder if create else 0o700)
        try:
            yield folder
        finally:
            folder.close()

    def open_read(self, path: Path, *, buffered: bool = True) -> BinaryIO:
        """``path`` in the vault, opened for reading: a regular file, reached without links
        (``buffered=False``: a raw file, for chunk-sized positioned reads)."""
        *parents, name = self.parts(path)
        with self.folder(parents) as folder:
            fd = folder.open(name)
        raw = io.FileIO(fd, "rb", closefd=True)
        return io.BufferedReader(raw) if buffered else raw

    @contextlib.contextmanager
    def replace(self, path: Path, *, overwrite: bool) -> Iterator[BinaryIO]:
        """Write a new ``path`` in the vault (readable, to be verified before it is
        published); on success it is published with the shared file mode, checked to be
        the file written."""
        *parents, name = self.parts(path)
        with self.folder(parents) as folder, folder.replace(
                name, self.modes.file, overwrite=overwrite, readable=True) as out:
            yield out

    def lstat(self, path: Path) -> os.stat_result | None:
        *parents, name = self.parts(path)
        with self.folder(parents) as folder:
            return folder.lstat(name)

    def move(self, path: Path, to: Path) -> None:
        """Rename the vault entry ``path`` to ``to`` (also in the vault; its folder made
        with the shared mode if missing), neither reached through a link."""
        *src_parents, src_name = self.parts(path)
        *dst_parents, dst_name = self.parts(to)
        with self.folder(src_parents) as src, self.folder(dst_parents, create=True) as dst:
            src_at, src_fd = src._at(src_name)
            dst_at, dst_fd = dst._at(dst_name)
            try:
                os.rename(src_at, dst_at, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            except OSError as exc:
                raise safe_fs.describe_entry_error(exc, src, src_name) from None
            dst.fsync()
            src.fsync()

    def unlink_if(self, path: Path, expected: os.stat_result) -> bool:
        """Remove ``path`` only if it is still the file ``expected`` (device and inode)."""
        *parents, name = self.parts(path)
        with self.folder(parents) as folder:
            found = folder.lstat(name)
            if found is None or (found.st_dev, found.st_ino) != (expected.st_dev,
                                                                 expected.st_ino):
                return False
            folder.unlink(name)
            folder.fsync()
            return True

    # -- .vault/ ---------------------------------------------------------------------------

    def read_meta(self, name: str, *, limit: int = safe_json.MAX_BYTES) -> bytes | None:
        """``.vault/<name>`` (None if it does not exist), at most ``limit`` bytes."""
        with self.folder([META]) as meta:
            return meta.read(name, limit)

    def read_meta_json(self, name: str, *, what: str,
                       error: type[VaultError] = MalformedError) -> Any:
        """``.vault/<name>`` parsed as hostile JSON (None if the file does not exist)."""
        data = self.read_meta(name)
        return None if data is None else safe_json.loads(data, what=what, error=error)

    @contextlib.contextmanager
    def replace_meta(self, name: str) -> Iterator[BinaryIO]:
        """Write a new ``.vault/<name>``, published with the shared file mode."""
        with self.folder([META]) as meta, meta.replace(name, self.modes.file) as out:
            yield out

    def write_meta_json(self, name: str, data: Any) -> None:
        with self.replace_meta(name) as out:
            out.write(json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")

    def append_meta(self, name: str, data: bytes) -> None:
        """Append to ``.vault/<name>`` (created with the shared file mode) and sync."""
        with self.folder([META]) as meta:
            meta.append(name, data, self.modes.file)

    @contextlib.contextmanager
    def lock(self, name: str, *, what: str) -> Iterator[None]:
        """Hold ``.vault/locks/<name>.lock`` (made with the shared modes if missing)."""
        with self.folder([META, LOCKS], create=True) as locks, lockfile.hold(
                locks, f"{name}.lock", mode=self.modes.file, timeout=LOCK_TIMEOUT, what=what):
            yield
