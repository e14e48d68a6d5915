"""Streaming plumbing for vault operations: hashing, the decrypt-to-encrypt pipe, copies.

Kept apart from the operations (``file_ops.py``, ``sharing.py``) so they read as the
recipe they are. Every streaming helper works on already-open files and holds a few
fixed-size buffers at most.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from typing import BinaryIO

from vault_app.core.digests import sha256
from vault_app.core.errors import ErrorKind, FileOperationError

COPY_BLOCK = 8 << 20


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
    digest = sha256()
    handle.seek(offset)
    while block := handle.read(COPY_BLOCK):
        digest.update(block)
    return digest.hexdigest()
