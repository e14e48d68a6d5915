"""The analyst's entry point: ``vault_app.open(path)`` gives a decrypting, seekable file.

Returns a buffered binary reader over an :class:`~vault_app.core.reader.AgeReader`,
so ``pandas.read_csv`` and ``pandas.read_parquet`` read a locked file directly and
no plaintext ever reaches the disk.
"""

from __future__ import annotations

import getpass
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.core.age import decrypt, open_input
from vault_app.core.errors import KeyFormatError
from vault_app.core.keys import parse_identities, parse_identity, prompting_passphrase_identity
from vault_app.core.reader import AgeReader
from vault_app.core.recipients import Identity
from vault_app.core.stream import CHUNK

if TYPE_CHECKING:  # the vault code loads only when a vault is used
    from vault_app.core.key_session import KeySession

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


def identities_from_bytes(raw: bytes, name: str, ask: Callable[[], bytes]) -> list[Identity]:
    """Parse identity-file bytes; a passphrase-encrypted file (as age allows) is opened in
    memory with the passphrase from ``ask``, called only if it is encrypted."""
    if raw.lstrip().startswith((b"age-encryption.org/", b"-----BEGIN AGE")):
        plain = io.BytesIO()
        decrypt(io.BytesIO(raw), plain, [prompting_passphrase_identity(ask)])
        raw = plain.getvalue()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"{name}: is not an identity file (not text)") from None
    return parse_identities(text)


def read_identity_file(path: PathLike, passphrase: str | None = None) -> list[Identity]:
    """Parse an identity file, plain or passphrase-encrypted."""
    with open_input(Path(path)) as handle:
        raw = handle.read()
    ask = (lambda: passphrase.encode()) if passphrase is not None else _ask_passphrase
    return identities_from_bytes(raw, str(path), ask)


def _vault_reader(locked: Path, vault: PathLike | None, user: str | None,
                  session: KeySession | None) -> AgeReader:
    """Read ``locked`` with the acting user's keys, unlocked by ``session``.

    Where a vault's keys come from (an argument, ``VAULT_PASSPHRASE_FILE``, a prompt,
    a notebook's password box) is the session's ``ask``, chosen by the caller
    (``vault_app.analyst`` for ``vault_app.open`` and ``vault://``): one rule, one place.
    """
    if session is None:
        raise TypeError("open_locked needs identities, an identity file or a key session")
    return session.vault_for(locked, vault=vault, user=user).open_reader(locked)


def open_locked(
    path: PathLike,
    *,
    identities: Identities | None = None,
    identity_file: PathLike | None = None,
    vault: PathLike | None = None,
    user: str | None = None,
    passphrase: str | None = None,
    session: KeySession | None = None,
) -> io.BufferedReader:
    """Open a locked (age) file for reading, decrypting on the fly with random access.

    With ``identities`` and/or ``identity_file`` those keys are used. Without them, the
    vault containing ``path`` (or ``vault``) is opened as ``user`` (default:
    ``VAULT_USER`` or the login name), with that user's key from the keystore (OS
    keyring, or the passphrase-protected key file); the file's signature is checked.
    ``passphrase`` opens an encrypted identity file. For a vault file, ``session`` (a
    :class:`KeySession`) unlocks the user's keys, asking where its ``ask`` says, and keeps
    them between opens.
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
        reader = _vault_reader(locked, vault, user, session)
    return io.BufferedReader(reader, CHUNK)
