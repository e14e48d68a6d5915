"""The analyst's entry point: ``vault_app.open(path)`` gives a decrypting, seekable file.

Returns a buffered binary reader over an :class:`~vault_app.core.reader.AgeReader`,
so ``pandas.read_csv`` and ``pandas.read_parquet`` read a locked file directly and
no plaintext ever reaches the disk.
"""

from __future__ import annotations

import getpass
import importlib
import io
import os
from collections.abc import Iterable
from pathlib import Path

from vault_app.core.age import decrypt, open_input
from vault_app.core.errors import FileOperationError, KeyFormatError
from vault_app.core.header import VERSION_LINE
from vault_app.core.keys import parse_identities, parse_identity
from vault_app.core.reader import AgeReader
from vault_app.core.recipients import Identity
from vault_app.core.recipients.scrypt import PromptingScryptIdentity, ScryptIdentity
from vault_app.core.stream import CHUNK

PathLike = str | os.PathLike[str]
Identities = str | Identity | Iterable[Identity | str]


def _as_identities(identities: Identities) -> list[Identity]:
    """Accept identity objects, ``AGE-SECRET-KEY-…`` strings, or identity-file text."""
    if isinstance(identities, str):
        return parse_identities(identities)
    if isinstance(identities, Identity):
        return [identities]
    found = [parse_identity(i) if isinstance(i, str) else i for i in identities]
    if not found:
        raise KeyFormatError("no identities given")
    return found


def _ask_passphrase() -> bytes:
    return getpass.getpass("Passphrase for the identity file: ").encode()


def read_identity_file(path: PathLike, passphrase: str | None = None) -> list[Identity]:
    """Parse an identity file; a passphrase-encrypted one (as age allows) is opened in memory."""
    with open_input(Path(path)) as handle:
        raw = handle.read()
    if raw.startswith(VERSION_LINE) or raw.lstrip().startswith(b"-----BEGIN AGE"):
        unlock: Identity = (ScryptIdentity(passphrase.encode()) if passphrase is not None
                            else PromptingScryptIdentity(_ask_passphrase))
        plain = io.BytesIO()
        decrypt(io.BytesIO(raw), plain, [unlock])
        raw = plain.getvalue()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"{path}: is not an identity file (not text)") from None
    return parse_identities(text)


def _vault_reader(locked: Path, vault: PathLike | None, user: str | None) -> AgeReader:
    """Resolve the vault holding ``locked`` and read it with the acting user's keys."""
    try:
        vault_module = importlib.import_module("vault_app.core.vault")
    except ImportError:
        raise FileOperationError(
            "vaults are not available in this build",
            hint="pass identities= or identity_file= to vault_app.open",
        ) from None
    vault_class = vault_module.Vault
    root = Path(vault) if vault is not None else vault_class.find(locked.resolve().parent)
    if root is None:
        raise FileOperationError(
            f"{locked}: is not inside a vault",
            hint="pass vault=DIR, or identities= / identity_file= to read a plain age file",
        )
    reader = vault_class.open(root, user=user).open_reader(locked)
    if not isinstance(reader, AgeReader):
        raise TypeError("Vault.open_reader must return an AgeReader")
    return reader


def open_locked(
    path: PathLike,
    *,
    identities: Identities | None = None,
    identity_file: PathLike | None = None,
    vault: PathLike | None = None,
    user: str | None = None,
    passphrase: str | None = None,
) -> io.BufferedReader:
    """Open a locked (age) file for reading, decrypting on the fly with random access.

    With ``identities`` and/or ``identity_file`` those keys are used (``passphrase``
    opens an encrypted identity file; otherwise it is asked for). Without them, the
    vault containing ``path`` (or ``vault``) is opened as ``user`` (default: the
    acting user) and that user's key comes from the keystore.
    """
    locked = Path(path)
    keys: list[Identity] = []
    if identities is not None:
        keys += _as_identities(identities)
    if identity_file is not None:
        keys += read_identity_file(identity_file, passphrase)
    if identities is not None or identity_file is not None:
        reader = AgeReader(locked, identities=keys)
    else:
        reader = _vault_reader(locked, vault, user)
    return io.BufferedReader(reader, CHUNK)
