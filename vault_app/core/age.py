"""The one safe recipe on top of the format: encrypt to recipients, decrypt with identities.

Ties together header, recipients, armor and STREAM (the only module that does), as
age's ``age.go`` does. Besides whole-file encryption and decryption it offers the steps
of the recipe one by one, for callers that interleave their own work: read a header
and authenticate it (:func:`read_head`, :func:`open_head`), seal a header
(:func:`seal_header`), seal and open a payload front to back (:func:`seal_payload`,
:func:`open_payload`) or open it for random access (:func:`open_random_access`).
File-to-file functions write atomically, so no partial or unauthenticated output
ever appears at the destination.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from vault_app.core import armor as _armor
from vault_app.core.atomic import atomic_output, describe_os_error
from vault_app.core.errors import (
    ErrorKind,
    FileOperationError,
    MalformedError,
    NoIdentityMatchError,
)
from vault_app.core.header import Header, LineReader, Stanza, build_header, read_header
from vault_app.core.pipeline import Digest, decrypt_payload, encrypt_payload
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.recipients import FILE_KEY_SIZE, Identity, Recipient
from vault_app.core.recipients.scrypt import STANZA_TYPE as SCRYPT
from vault_app.core.recipients.scrypt import ScryptRecipient
from vault_app.core.segments import SEGMENT_CHUNKS, Listed
from vault_app.core.stream import NONCE_SIZE, RandomAccess, payload_aead, plaintext_size
from vault_app.core.value_class import value_class


@value_class
class Decrypted:
    """What a successful decryption learned: the header (with any extra stanzas) and size."""

    header: Header
    size: int


def new_file_key() -> bytes:
    return os.urandom(FILE_KEY_SIZE)


def wrap_stanzas(file_key: bytes, recipients: Sequence[Recipient]) -> list[Stanza]:
    """Wrap ``file_key`` for every recipient; enforce the scrypt-alone rule at once."""
    if not recipients:
        raise ValueError("at least one recipient is required")
    if any(isinstance(r, ScryptRecipient) for r in recipients) and len(recipients) > 1:
        raise ValueError("a passphrase cannot be combined with other recipients")
    stanzas: list[Stanza] = []
    for recipient in recipients:
        stanzas.extend(recipient.wrap(file_key))
    return stanzas


def unwrap_file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """Find the file key with any identity and verify the header MAC with it."""
    if any(s.type == SCRYPT for s in header.stanzas) and len(header.stanzas) != 1:
        raise MalformedError("a passphrase-encrypted file must have only one stanza")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            header.verify_mac(file_key)
            return file_key
    raise NoIdentityMatchError("no identity matched any of the file's recipients")


# -- the recipe's steps ------------------------------------------------------------------------


def read_head(src: LineReader) -> Header:
    """Read and parse the header at ``src``, leaving ``src`` at the payload (its nonce).

    Nothing is authenticated yet (no key is needed to list a file's stanzas): use
    :func:`open_head`, or :func:`unwrap_file_key` on the result, before trusting it.
    """
    return read_header(src)


def open_head(src: LineReader, *, identities: Sequence[Identity] | None = None,
              file_key: bytes | None = None) -> tuple[Header, bytes]:
    """Read the header at ``src`` and authenticate it: return it and its file key.

    Give ``identities`` (any that unwrap the file key) or an already-known
    ``file_key``; either way the header MAC is verified. ``src`` is left at the payload.
    """
    if (identities is None) == (file_key is None):
        raise ValueError("give exactly one of identities or file_key")
    header = read_head(src)
    return header, authenticate_head(header, identities=identities, file_key=file_key)


def authenticate_head(header: Header, *, identities: Sequence[Identity] | None = None,
                      file_key: bytes | None = None) -> bytes:
    """Authenticate a header already read (:func:`read_head`): its file key, unwrapped
    with ``identities`` or given as ``file_key``, with the header MAC verified."""
    if file_key is None:
        if identities is None:
            raise ValueError("give exactly one of identities or file_key")
        return unwrap_file_key(header, identities)
    header.verify_mac(file_key)
    return file_key


def content_size(header: Header, file_size: int) -> int:
    """The plaintext size of a binary age file of ``file_size`` bytes with ``header``,
    from its length alone (TruncatedError if no payload can be that long)."""
    return plaintext_size(file_size - len(header.encode()))


def seal_header(file_key: bytes, stanzas: Sequence[Stanza]) -> Header:
    """A header for ``stanzas`` (recipients' and extra ones), MACed with ``file_key``."""
    return build_header(file_key, stanzas)


def seal_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO, *,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 digest: Digest | None = None,
                 segment_digests: list[bytes] | None = None,
                 segment_chunks: int = SEGMENT_CHUNKS) -> int:
    """Encrypt ``src`` as the payload (nonce first) to ``dst``, which is already past
    the header; return the plaintext size. ``digest`` gets every payload byte written;
    ``segment_digests`` receives the digest of each segment (``segments.py``) of
    ``segment_chunks`` chunks."""
    return encrypt_payload(file_key, src, dst, progress=progress, cancel=cancel, digest=digest,
                           segment_digests=segment_digests, segment_chunks=segment_chunks)


def open_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO | None, *,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 digest: Digest | None = None,
                 segment_digests: Listed | None = None) -> int:
    """Decrypt the payload at ``src`` (past the header) to ``dst``; return its size.

    Only authenticated chunks are released, in order; ``dst=None`` authenticates every
    chunk and keeps nothing. ``digest`` gets every payload byte read; with
    ``segment_digests`` each segment must have its listed digest before it is opened.
    """
    return decrypt_payload(file_key, src, dst, progress=progress, cancel=cancel, digest=digest,
                           segment_digests=segment_digests)


def open_random_access(src: BinaryIO, payload_at: int, file_key: bytes) -> RandomAccess:
    """The payload of the seekable age file ``src``, which starts at ``payload_at`` and
    runs to the end of ``src``, for random access (age's ``DecryptReaderAt``).

    Its nonce is read here; the chunks are read by the caller, where
    :meth:`RandomAccess.span` says.
    """
    end = src.seek(0, io.SEEK_END)
    src.seek(payload_at)
    nonce = src.read(NONCE_SIZE)
    return RandomAccess(payload_aead(file_key, nonce), end - payload_at)


# -- whole files -------------------------------------------------------------------------------


def encrypt(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Sequence[Recipient],
    *,
    armor: bool = False,
    extra_stanzas: Sequence[Stanza] = (),
    file_key: bytes | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Header:
    """Encrypt ``src`` to ``dst`` for ``recipients``; extra stanzas ride in the header."""
    file_key = new_file_key() if file_key is None else file_key
    header = seal_header(file_key, [*wrap_stanzas(file_key, recipients), *extra_stanzas])
    if not armor:
        dst.write(header.encode())
        seal_payload(file_key, src, dst, progress=progress, cancel=cancel)
        return header
    armored = _armor.ArmoredWriter(dst)
    try:
        armored.write(header.encode())
        seal_payload(file_key, src, armored,  # type: ignore[arg-type]
                     progress=progress, cancel=cancel)
    except BaseException:
        armored.abandon()
        raise
    armored.close()
    return header


def _buffered(src: BinaryIO) -> io.BufferedReader:
    if isinstance(src, io.BufferedReader):
        return src
    return io.BufferedReader(src, 1 << 16)  # type: ignore[arg-type]


def open_source(src: BinaryIO, armored: bool | None = None) -> io.BufferedReader:
    """Return a buffered binary reader positioned at the header, armor removed.

    ``armored=None`` detects armor from the first bytes.
    """
    buffered = _buffered(src)
    if armored is None:
        armored = _armor.is_armored(buffered)
    if armored:
        return io.BufferedReader(_armor.ArmoredReader(buffered), 1 << 16)
    return buffered


def decrypt(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[Identity],
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    armored: bool | None = None,
) -> Decrypted:
    """Decrypt ``src`` (binary or armored) to ``dst``.

    To a stream, authenticated chunks are released as they verify; use
    :func:`decrypt_file` for all-or-nothing output.
    """
    reader = open_source(src, armored)
    header, file_key = open_head(reader, identities=identities)
    size = open_payload(file_key, reader, dst, progress=progress, cancel=cancel)
    return Decrypted(header, size)


@contextlib.contextmanager
def open_input(path: Path | str) -> Iterator[BinaryIO]:
    """Open a regular file for reading, with errors a person can act on."""
    path = Path(path)
    if path.is_dir():
        raise FileOperationError(f"{path}: is a folder, not a file", path=path,
                                 kind=ErrorKind.IS_A_FOLDER)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise describe_os_error(exc, path) from None
    with handle:
        yield handle


def encrypt_file(
    src_path: Path | str,
    dst_path: Path | str,
    recipients: Sequence[Recipient],
    *,
    armor: bool = False,
    extra_stanzas: Sequence[Stanza] = (),
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Header:
    """Encrypt a file to a new file, atomically (temp, fsync, rename)."""
    with open_input(src_path) as src, atomic_output(dst_path, overwrite=overwrite) as dst:
        return encrypt(src, dst, recipients, armor=armor, extra_stanzas=extra_stanzas,
                       progress=progress, cancel=cancel)


def decrypt_file(
    src_path: Path | str,
    dst_path: Path | str,
    identities: Sequence[Identity],
    *,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Decrypted:
    """Decrypt a file to a new file; the destination appears only if all of it verified."""
    with open_input(src_path) as src, atomic_output(dst_path, overwrite=overwrite) as dst:
        return decrypt(src, dst, identities, progress=progress, cancel=cancel)
