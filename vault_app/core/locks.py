"""The vault's cross-process locks: one per locked file, one for the member registry, one
for the audit log, as lock files in ``.vault/locks/``.

Every read-modify-write of shared vault state runs under one of these, so two members (or
two windows) changing the same thing at once serialize instead of losing a change. The
lock files get the shared mode: every member's login must be able to take them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import filelock

from vault_app.core.atomic import describe_os_error
from vault_app.core.errors import VaultBusyError
from vault_app.core.layout import LOCK_TIMEOUT, LOCKS
from vault_app.core.vault_io import shared_mode


@contextlib.contextmanager
def _hold(meta: Path, name: str, busy: str) -> Iterator[None]:
    """Hold ``.vault/locks/<name>.lock``; ``busy`` is the message if it stays taken."""
    locks = meta / LOCKS
    lock = filelock.FileLock(str(locks / f"{name}.lock"), timeout=LOCK_TIMEOUT,
                             mode=shared_mode())
    try:
        locks.mkdir(exist_ok=True)
        lock.acquire()
    except filelock.Timeout:
        raise VaultBusyError(busy) from None
    except OSError as exc:  # e.g. a read-only vault: changes need write access
        raise describe_os_error(exc, locks) from None
    try:
        yield
    finally:
        lock.release()


def registry_lock(meta: Path) -> contextlib.AbstractContextManager[None]:
    """Serializes changes to the member registry (read, add or remove, write)."""
    return _hold(meta, "registry", "timed out waiting for the lock on registry")


def audit_lock(meta: Path) -> contextlib.AbstractContextManager[None]:
    """Serializes appends to the audit log and its signed checkpoint."""
    return _hold(meta, "audit", "timed out waiting for the audit log lock")


def file_lock(meta: Path, root: Path, locked: Path) -> contextlib.AbstractContextManager[None]:
    """Serializes changes to one locked file. Keyed by the path inside the vault, so
    machines that mount a shared vault at different places (or reach it through
    symlinks) still take the same lock."""
    target = locked.resolve()
    try:
        name = target.relative_to(root.resolve()).as_posix()
    except ValueError:
        name = str(target)
    key = hashlib.sha256(os.fsencode(name)).hexdigest()[:32]
    return _hold(meta, f"file-{key}", f"timed out waiting for the lock on file-{key}")
