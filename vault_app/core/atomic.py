"""Atomic file output: temp file beside the destination (0600), fsync, rename.

On any failure the destination is untouched and the temp file is removed, so a
crash, a full disk or a cancel never leaves a partial file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from vault_app.core.errors import FileOperationError

TEMP_SUFFIX = ".vault-tmp"


def describe_os_error(exc: OSError, path: Path | str) -> FileOperationError:
    """Turn an OSError into a FileOperationError a person can act on."""
    name = str(path)
    code = exc.errno
    if code == errno.ENOENT:
        return FileOperationError(f"{name}: no such file or folder")
    if code == errno.EISDIR:
        return FileOperationError(f"{name}: is a folder, not a file")
    if code in (errno.EACCES, errno.EPERM):
        return FileOperationError(f"{name}: permission denied",
                                  hint="check that you may write to that folder")
    if code == errno.EROFS:
        return FileOperationError(f"{name}: the file system is read-only")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return FileOperationError(f"{name}: not enough disk space (nothing was changed)",
                                  hint="free some space and try again")
    return FileOperationError(f"{name}: {exc.strerror or 'input/output error'}")


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(folder: Path, stem: str) -> int:
    """Remove temp files for this destination left by processes that died (kill -9, crash).

    Temp names carry their writer's pid, so a live writer's file is never touched.
    They can hold the start of a plaintext (mode 0600): removing them on the next
    run keeps that window short. Returns how many were removed.
    """
    prefix = f".{stem}."
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        pid_text = name[len(prefix) : -len(TEMP_SUFFIX)].split(".", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_no_clobber(tmp: Path, dest: Path) -> None:
    """Give ``tmp`` the name ``dest`` unless ``dest`` exists (no overwrite race where
    hard links work; a checked rename on file systems without them, e.g. FAT)."""
    try:
        os.link(tmp, dest)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS,
                             errno.EXDEV, errno.EMLINK):
            raise
        if dest.exists() or dest.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists") from None
        os.replace(tmp, dest)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_output(dest: Path | str, *, overwrite: bool = False, readable: bool = False,
                  before_publish: Callable[[int], None] | None = None) -> Iterator[BinaryIO]:
    """Yield a 0600 file to write; on clean exit it replaces ``dest`` atomically.

    ``readable`` opens the temp file ``w+b`` so the caller can verify what it wrote
    before it is published; ``before_publish(fd)`` runs after the fsync and before the
    rename (e.g. to give finished ciphertext a shared mode).
    """
    dest = Path(dest)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise FileOperationError(f"{dest}: already exists",
                                 hint="choose another name, or remove the existing file")
    if dest.is_dir():
        raise FileOperationError(f"{dest}: is a folder, not a file")
    # The temp name is longer than the real one: keep it within NAME_MAX (255 bytes).
    stem = os.fsdecode(os.fsencode(dest.name)[:100])
    remove_stale_temps(folder, stem)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.{os.getpid()}.", suffix=TEMP_SUFFIX,
                                        dir=folder)
    except OSError as exc:
        raise describe_os_error(exc, folder) from None
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "w+b" if readable else "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
                if before_publish is not None:
                    before_publish(handle.fileno())
            if overwrite:
                os.replace(tmp, dest)
            else:
                _link_no_clobber(tmp, dest)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileOperationError(f"{dest}: already exists") from None
            raise describe_os_error(exc, dest) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(folder)
