"""One read of a locked file's header, as every vault operation starts with it.

Reads only the header (never the payload): the recipient stanzas, the signed ACL history
(if the file has one), and where the payload starts, with the file's size and time from
the same open handle, so they describe the same file even if it is replaced meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from vault_app.core import age, segments
from vault_app.core.acl import Record, split_header
from vault_app.core.atomic import describe_os_error
from vault_app.core.header import Header, Stanza
from vault_app.core.value_class import value_class
from vault_app.core.vault_folder import VaultFolder


@value_class
class Head:
    """What a header read tells: the header, its parts, and where the payload starts."""

    header: Header
    recipients: list[Stanza]
    history: list[Record] | None
    header_len: int
    file_size: int
    mtime: float
    segments: segments.Listed | None = None  # the segment digests the header lists, if any

    @property
    def payload_size(self) -> int:
        return self.file_size - self.header_len


def read_head(path: Path, *, folder: VaultFolder | None = None) -> Head:
    """The header of ``path``; inside a vault pass its ``folder`` (no links followed)."""
    try:
        with folder.open_read(path) if folder is not None else path.open("rb") as handle:
            return read_head_from(handle, path)
    except OSError as exc:
        raise describe_os_error(exc, path) from None


def read_head_from(handle: BinaryIO, path: Path) -> Head:
    """The header of the open file ``handle`` (``path`` names it in messages); the handle
    is left at the payload, so what follows is read from the same file."""
    handle.seek(0)
    try:
        header = age.read_head(handle)
        stat = os.fstat(handle.fileno())
    except OSError as exc:
        raise describe_os_error(exc, path) from None
    recipients, listed, history = split_header(header.stanzas)
    digests = segments.decode_stanza(listed) if listed is not None else None
    return Head(header, recipients, history, len(header.encode()), stat.st_size, stat.st_mtime,
                digests)
