"""Recipient types: each wraps a file key into stanzas and unwraps it back.

Each type lives in its own module; only ``vault_app.core.keys`` ties them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from vault_app.core.header import Stanza

FILE_KEY_SIZE = 16


@runtime_checkable
class Recipient(Protocol):
    """Something a file key can be encrypted to."""

    def wrap(self, file_key: bytes) -> list[Stanza]: ...


@runtime_checkable
class Identity(Protocol):
    """Something that may decrypt a file key from a header's stanzas.

    ``unwrap`` returns the file key, or None when no stanza is addressed to it.
    It raises MalformedError for a stanza of its own type that breaks the rules.
    """

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None: ...
