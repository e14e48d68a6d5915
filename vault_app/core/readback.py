"""Verify a locked file by reading it back while it is still being written.

Locking removes the plaintext, so the new file must be proved readable first: every
chunk read back from the file and authenticated. Doing that as a second pass after the
write costs a full extra read and decryption on the critical path; here a thread
follows the writer instead, reading each block back (``os.preadv``, which leaves the
writer's file position alone) soon after it is written and authenticating it (the
plaintext is dropped). The work is the same; it overlaps the encryption.

The bytes checked are the bytes in the file, not the buffers they were written from.
Where ``os.preadv`` is missing (Windows) the same check runs after the write instead.
"""

from __future__ import annotations

import os
import threading
from typing import BinaryIO

from vault_app.core.age import open_payload
from vault_app.core.progress import CancelToken

#: Reading at an offset, straight into a buffer, without moving the writer's position
#: (``os.preadv``: Linux, the BSDs, macOS 11+; not Windows).
CAN_PREAD = hasattr(os, "preadv")


class _Aborted(Exception):
    """The write failed or was cancelled: the follower stops reading."""


class ReadBackVerifier:
    """A write-through wrapper for the payload's output that verifies what landed.

    Pass it to :func:`~vault_app.core.age.seal_payload` as ``dst``; after that returns call
    :meth:`finish`, which waits for the follower and returns the plaintext size it
    authenticated (raising the first error it met). Call :meth:`abort` if the write
    failed, so the follower stops and the thread is joined.
    """

    def __init__(self, handle: BinaryIO, start: int, file_key: bytes,
                 cancel: CancelToken | None = None) -> None:
        self._handle = handle
        self._pos = start  # the follower's read position in the file
        self._written = start  # bytes of the file known to be on it (past the OS buffers)
        self._done = False
        self._aborted = False
        self._cond = threading.Condition()
        self._result: int | BaseException | None = None
        self._file_key = file_key
        self._cancel = cancel
        self._concurrent = CAN_PREAD
        self._thread: threading.Thread | None = None
        if self._concurrent:
            self._thread = threading.Thread(target=self._follow, name="vault-verify",
                                            daemon=True)
            self._thread.start()

    # The writer's side (the stream's writer thread).

    def write(self, data: bytes | memoryview) -> int:
        n = self._handle.write(data)
        self._handle.flush()  # past Python's buffer, so the follower's pread sees it
        with self._cond:
            self._written += len(data)
            self._cond.notify()
        return len(data) if n is None else n

    def flush(self) -> None:
        self._handle.flush()

    # The follower's side: what open_payload reads from (the STREAM's own rules).

    def read(self, size: int) -> bytes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        done = 0
        while done < size and (n := self.readinto(view[done:])):
            done += n
        return bytes(buffer[:done])

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer).cast("B")
        with self._cond:
            while not (self._aborted or self._done or self._written - self._pos >= len(view)):
                self._cond.wait()
            if self._aborted:
                raise _Aborted
            want = min(len(view), self._written - self._pos)
        got = self._read_at(view[:want], self._pos) if want else 0
        self._pos += got
        return got

    def _read_at(self, view: memoryview, offset: int) -> int:
        if self._concurrent:
            return int(os.preadv(self._handle.fileno(), [view], offset))
        self._handle.seek(offset)  # after the write: nobody else moves the position
        data = self._handle.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _follow(self) -> None:
        try:
            self._result = open_payload(self._file_key, self, None,  # type: ignore[arg-type]
                                        cancel=self._cancel)
        except _Aborted:
            self._result = None
        except BaseException as exc:  # reported by finish()
            self._result = exc
            with self._cond:  # the writer no longer needs to wake anyone
                self._aborted = True

    # The caller's side.

    def finish(self) -> int:
        """Wait for the follower; return the authenticated plaintext size, or raise."""
        self._handle.flush()
        with self._cond:
            self._done = True
            self._cond.notify_all()
        if self._thread is None:
            self._follow()
        else:
            self._thread.join()
        result = self._result
        if isinstance(result, BaseException):
            raise result
        if result is None:  # pragma: no cover - only after abort()
            raise RuntimeError("the read-back verification was aborted")
        return result

    def abort(self) -> None:
        """Stop the follower (the write failed); never raises."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
