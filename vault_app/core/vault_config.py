"""A vault's identity: its signed config (``.vault/config.json``), how a new vault's
metadata is created, and the known-vaults pin that makes a swapped config noticed.

The config names the vault, its first admin and that admin's signing key (the root of
all trust in the registry), the recovery recipient and the vault's policy. It is signed
by the first admin; on top of that, each account remembers the first admin's key of
every vault it opened (trust on first use), so replacing the whole ``.vault/`` folder,
signature and all, is refused too.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from vault_app.core import signing
from vault_app.core.acl import Role
from vault_app.core.atomic import atomic_output, describe_os_error, fsync_dir
from vault_app.core.errors import (
    ErrorKind,
    KeyFormatError,
    NotAVaultError,
    Remedy,
    VaultError,
    VaultFormatError,
)
from vault_app.core.folder_modes import modes_of
from vault_app.core.keys import is_post_quantum
from vault_app.core.layout import CONFIG, LOCKS, MEMBERS, META
from vault_app.core.members import Registry
from vault_app.core.vault_folder import VaultFolder

CONFIG_FORMAT = "dataset-vault.org/v1"
_CONFIG_DOMAIN = b"dataset-vault.org/v1/config\n"


def new_config(admin: signing.Signer, signing_key: str, recovery_recipient: str, *,
               post_quantum: bool, clock: signing.Clock | None) -> dict[str, Any]:
    """A fresh vault's config, signed by its first admin ``admin`` (public key
    ``signing_key``)."""
    import uuid  # here, not at the top: only `init` needs it, every command imports this

    config: dict[str, Any] = {
        "format": CONFIG_FORMAT,
        "vault_id": str(uuid.uuid4()),
        "created": signing.now_iso(clock),
        "root_admin": admin.name,
        "root_signing_key": signing_key,
        "recovery_recipient": recovery_recipient,
        "policy": {"recipient_type": "pq" if post_quantum else "x25519",
                   "default_acl": {}, "default_share_role": Role.READER.value},
    }
    config["signature"] = signing.sign(admin, _CONFIG_DOMAIN + signing.canonical(config))
    return config


def create_metadata(path: Path, config: dict[str, Any], registry: Registry) -> None:
    """Create ``path/.vault`` with ``config`` and ``registry``, all at once: it is built in
    a hidden staging folder and renamed into place, so a failed init leaves no half vault
    (and two racing inits cannot both win). Its folders and files get the modes the vault
    folder gives (``folder_modes``), whatever the creator's umask."""
    import shutil  # here, not at the top: only `init` needs them (start-up is every
    import tempfile  # command's)

    meta = path / META
    modes = modes_of(path)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".vault-init-", dir=path))
    except OSError as exc:
        raise describe_os_error(exc, path) from None
    try:
        (staging / LOCKS).mkdir()
        for folder in (staging, staging / LOCKS):
            os.chmod(folder, modes.folder)
        for name, data in ((CONFIG, config), (MEMBERS, registry.to_json())):
            with atomic_output(staging / name) as out:
                out.write(json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
                os.fchmod(out.fileno(), modes.file)
        os.rename(staging, meta)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            if meta.exists():
                raise VaultError(f"{path} is already a vault", kind=ErrorKind.EXISTS) from None
            raise describe_os_error(exc, meta) from None
        raise
    fsync_dir(path)


def load_config(path: Path) -> dict[str, Any]:
    """The config of the vault at ``path``, once its first admin's signature checks out."""
    config_path = path / META / CONFIG
    try:
        os.lstat(path / META)
    except FileNotFoundError:
        raise NotAVaultError(f"{path} is not a vault (no {META}/{CONFIG})") from None
    except OSError as exc:  # e.g. a team folder this login is not in the group of
        raise folder_refused(exc, path) from None
    config = VaultFolder(path).read_meta_json(CONFIG, what=str(config_path),
                                              error=VaultFormatError)
    if config is None:
        raise NotAVaultError(f"{path} is not a vault (no {META}/{CONFIG})")
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise VaultFormatError(f"{config_path}: unknown vault format")
    body = {k: v for k, v in config.items() if k != "signature"}
    if not signing.verify(str(config.get("root_signing_key", "")),
                          str(config.get("signature", "")),
                          _CONFIG_DOMAIN + signing.canonical(body)):
        raise VaultFormatError("the vault config's signature does not verify "
                               "(edited config or swapped recovery key)")
    return config


def folder_refused(exc: OSError, path: Path) -> VaultError:
    """The error for a vault folder the OS will not let this login into."""
    error = describe_os_error(exc, path)
    if exc.errno in (errno.EACCES, errno.EPERM):
        error.remedy = Remedy.JOIN_GROUP
    return error


def check_policy(post_quantum: bool, recipient: str, name: str) -> None:
    """Refuse ``name``'s ``recipient`` if it is not of the vault's recipient type."""
    if post_quantum != is_post_quantum(recipient):
        kind = "post-quantum (age1pq1…)" if post_quantum else "X25519 (age1…)"
        raise KeyFormatError(f"{name}'s key does not fit this vault's policy: it needs {kind}")
