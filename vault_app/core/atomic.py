"""Atomic file output: temp file beside the destination (0600), fsync, rename.

On any failure the destination is untouched and the temp file is removed, so a
crash, a full disk or a cancel never leaves a partial file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from vault_app.core.errors import ErrorKind, FileOperationError

TEMP_SUFFIX = ".vault-tmp"


# errno -> (kind, what the message says); anything else is ``io`` with the OS's words.
_BY_ERRNO: dict[int, tuple[ErrorKind, str]] = {
    errno.ENOENT: (ErrorKind.NOT_FOUND, "no such file or folder"),
    errno.ENOTDIR: (ErrorKind.NOT_FOUND, "a part of the path is not a folder"),
    errno.EISDIR: (ErrorKind.IS_A_FOLDER, "is a folder, not a file"),
    errno.ELOOP: (ErrorKind.NOT_A_FILE, "is a symbolic link (or a loop of links), not a file"),
    errno.EEXIST: (ErrorKind.EXISTS, "already exists"),
    errno.EACCES: (ErrorKind.PERMISSION, "permission denied"),
    errno.EPERM: (ErrorKind.PERMISSION, "permission denied"),
    errno.EROFS: (ErrorKind.READ_ONLY, "the file system is read-only"),
    errno.ENOSPC: (ErrorKind.NO_SPACE, "not enough disk space (nothing was changed)"),
    errno.EDQUOT: (ErrorKind.NO_SPACE, "not enough disk space (nothing was changed)"),
    errno.EFBIG: (ErrorKind.NO_SPACE, "not enough disk space (nothing was changed)"),
}


def describe_os_error(exc: OSError, path: Path | str) -> FileOperationError:
    """Turn an OSError into a FileOperationError: its kind from the errno, its path kept.

    No hint: each client words the advice for the kind (free space, check permissions).
    """
    known = _BY_ERRNO.get(exc.errno) if exc.errno is not None else None
    kind, words = known or (ErrorKind.IO, exc.strerror or "input/output error")
    return FileOperationError(f"{path}: {words}", path=path, kind=kind)


def pid_alive(pid: int) -> bool:
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
        if not pid_text.isdigit() or pid_alive(int(pid_text)):
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


def create_exclusive(folder: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new 0600 file ``folder/prefix<random>suffix``, opened read-write: what
    ``tempfile.mkstemp`` does (exclusive create, no link followed), without importing
    ``tempfile`` (with ``shutil`` and ``random``, 5 ms of every command's start-up)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue  # 48 random bits: only a planted name collides; pick another
    raise FileExistsError(errno.EEXIST, "no unused temporary name", str(folder))


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
        raise FileOperationError(f"{dest}: already exists", path=dest, kind=ErrorKind.EXISTS,
                                 hint="choose another name, or remove the existing file")
    if dest.is_dir():
        raise FileOperationError(f"{dest}: is a folder, not a file", path=dest,
                                 kind=ErrorKind.IS_A_FOLDER)
    # The temp name is longer than the real one: keep it within NAME_MAX (255 bytes).
    stem = os.fsdecode(os.fsencode(dest.name)[:100])
    remove_stale_temps(folder, stem)
    try:
        fd, tmp_name = create_exclusive(folder, f".{stem}.{os.getpid()}.", TEMP_SUFFIX)
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
            raise describe_os_error(exc, dest) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(folder)
