"""The vault's cross-process locks: one per locked file, one for the member registry, one
for the audit log, as lock files in ``.vault/locks/``.

Every read-modify-write of shared vault state runs under one of these, so two members (or
two windows) changing the same thing at once serialize instead of losing a change. The
lock files are opened without following links and get the vault's shared mode
(``vault_folder``/``lockfile``): every member's login must be able to take them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from vault_app.core.digests import sha256_hex
from vault_app.core.vault_folder import VaultFolder


def registry_lock(folder: VaultFolder) -> contextlib.AbstractContextManager[None]:
    """Serializes changes to the member registry (read, add or remove, write)."""
    return folder.lock("registry", what="registry")


def audit_lock(folder: VaultFolder) -> contextlib.AbstractContextManager[None]:
    """Serializes appends to the audit log and its signed checkpoints."""
    return folder.lock("audit", what="the audit log")


def file_lock(folder: VaultFolder, locked: Path) -> contextlib.AbstractContextManager[None]:
    """Serializes changes to one locked file. Keyed by the path inside the vault (never
    resolving links below its root), so machines that mount a shared vault at different
    places still take the same lock."""
    name = "/".join(folder.parts(locked))
    key = sha256_hex(os.fsencode(name))[:32]
    return folder.lock(f"file-{key}", what=f"file-{key}")
