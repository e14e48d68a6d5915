"""File plumbing for vault operations: shared modes, metadata writes, hashing, pipes,
atomic read-back, copies.

Kept apart from the operations (``file_ops.py``, ``sharing.py``) so they read as the
recipe they are. Every streaming helper works on already-open files and holds a few
fixed-size buffers at most.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from vault_app.core.atomic import atomic_output
from vault_app.core.errors import ErrorKind, FileOperationError

COPY_BLOCK = 8 << 20


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting (briefly) and restoring
    os.umask(mask)
    return mask


def shared_mode(directory: bool = False) -> int:
    """Permissions for vault files other logins must read (ciphertext and public
    metadata): what the umask allows, as for any file the user creates. Plaintext and
    keys never get these; they stay 0600."""
    return (0o777 if directory else 0o666) & ~current_umask()


def share_with_members(path: Path, *, directory: bool = False) -> None:
    """Public vault metadata gets the umask's permissions (atomic_output made it 0600):
    members on other logins must read the config and the registry."""
    with contextlib.suppress(OSError):
        os.chmod(path, shared_mode(directory))


def write_metadata(path: Path, data: Mapping[str, Any], *, overwrite: bool) -> None:
    """Write a public metadata file (config, registry) atomically, readable by members."""
    with atomic_output(path, overwrite=overwrite) as out:
        out.write(json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
    share_with_members(path)


class Pipe:
    """A bounded in-memory pipe between a decrypting thread and an encrypting reader."""

    _EOF = b""

    def __init__(self, depth: int = 4) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._buf = memoryview(b"")
        self._closed = threading.Event()

    # writer side (thread)
    def write(self, data: bytes | memoryview) -> int:
        self._put(bytes(data))
        return len(data)

    def finish(self, error: BaseException | None = None) -> None:
        self._put(error if error is not None else self._EOF)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the reading side stopped")

    # reader side
    def close(self) -> None:
        self._closed.set()

    def readinto(self, view: memoryview) -> int:
        while not self._buf:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return 0
            self._buf = memoryview(item)
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        out = bytearray(size if size >= 0 else 1 << 20)
        n = self.readinto(memoryview(out))
        return bytes(out[:n])


def _publish_mode(fd: int, dest: Path, overwrite: bool) -> None:
    """The temp file stays 0600 while written; only the complete, synced ciphertext gets
    the shared mode (an existing file's mode is kept). No fchmod on Windows."""
    with contextlib.suppress(OSError, AttributeError):
        os.fchmod(fd, dest.stat().st_mode & 0o777 if overwrite and dest.exists()
                  else shared_mode())


def atomic_rw(dest: Path, *, overwrite: bool) -> contextlib.AbstractContextManager[BinaryIO]:
    """Like atomic_output, but the temp file is readable so it can be verified first, and
    the result gets the shared (umask) mode: ciphertext that other members must read."""
    return atomic_output(dest, overwrite=overwrite, readable=True,
                         before_publish=lambda fd: _publish_mode(fd, dest, overwrite))


def copy_range(src: BinaryIO, dst: BinaryIO, offset: int, count: int) -> None:
    """Copy ``count`` bytes from ``src`` at ``offset`` to ``dst``'s position, in the kernel."""
    dst.flush()
    done = 0
    copy_range = getattr(os, "copy_file_range", None)  # Linux only
    try:
        while copy_range is not None and done < count:
            n = copy_range(src.fileno(), dst.fileno(), count - done, offset + done)
            if n == 0:
                break
            done += n
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    if done < count:
        src.seek(offset + done)
        dst.seek(0, os.SEEK_END)
        remaining = count - done
        while remaining:
            block = src.read(min(COPY_BLOCK, remaining))
            if not block:
                raise FileOperationError("the file shrank while it was being copied",
                                         kind=ErrorKind.BUSY)
            dst.write(block)
            remaining -= len(block)
    dst.seek(0, os.SEEK_END)


def payload_digest(handle: BinaryIO, offset: int) -> str:
    """SHA-256 of everything in the open file ``handle`` from ``offset`` on."""
    digest = hashlib.sha256()
    handle.seek(offset)
    while block := handle.read(COPY_BLOCK):
        digest.update(block)
    return digest.hexdigest()
