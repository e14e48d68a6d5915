"""Advisory lock files in ``.vault/locks/``, safe in a folder other people write.

Members on different logins serialize their changes through lock files in the shared
folder, so the files are created by whoever comes first, with that person's permissions.
Two things went wrong with a general-purpose lock library there: a lock file created by
another member at a narrow umask could not be opened for writing (a traceback on the
second member's first unlock), and a symlink planted at a lock's name made opening it
truncate the link's target (filelock below 3.20.1, CVE-2025-68146). Here:

* the lock file is opened through :mod:`safe_fs` (never a link, a FIFO or a device),
  without ``O_TRUNC``;
* a lock file we cannot open for writing is opened read-only: ``flock`` works on any
  descriptor, so another member's narrow mode never blocks us;
* on systems without ``fcntl`` (Windows) the lock is taken with ``filelock``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator

from vault_app.core.errors import VaultBusyError
from vault_app.core.safe_fs import Folder, describe_entry_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_POLL = 0.05


def _open(folder: Folder, name: str, mode: int) -> int:
    try:
        return folder.open_raw(name, os.O_RDWR | os.O_CREAT, mode)
    except PermissionError:  # another member's lock file with a narrow mode
        return folder.open(name, os.O_RDONLY)
    except OSError as exc:
        raise describe_entry_error(exc, folder, name) from None


@contextlib.contextmanager
def hold(folder: Folder, name: str, *, mode: int, timeout: float,
         what: str) -> Iterator[None]:
    """Hold the exclusive lock ``folder/name`` for the block; ``what`` names it in errors."""
    if fcntl is None:  # pragma: no cover - Windows
        import filelock

        try:
            with filelock.FileLock(str(folder.path / name), timeout=timeout):
                yield
        except filelock.Timeout:
            raise VaultBusyError(f"timed out waiting for the lock on {what}") from None
        return
    fd = _open(folder, name, mode)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise VaultBusyError(f"timed out waiting for the lock on {what}")
            time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
