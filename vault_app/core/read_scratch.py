"""The working buffers of random-access reads (``reader.py``), kept for the process.

A read takes one, fills it with ciphertext (a batch of chunks, or a whole segment that it
hashes and checks), decrypts from it and hands it back; reads on several threads each
have their own. Spare ones are kept between readers rather than mapped afresh at each
open: pandas opens a file for every ``read_parquet``, and on a virtual machine fresh
pages cost more than hashing the segment in them. They hold ciphertext only, at most
:data:`KEEP` of them (8 MiB) are kept, and a buffer remembers which reader checked the
segment it holds, so that check never vouches for another file.
"""

from __future__ import annotations

import os
import threading

from vault_app.core.ring import block_buffer
from vault_app.core.stream import Nonces

KEEP = 4  # spare buffers kept: a read and up to three helpers (reader.MAX_HELPERS)


class Scratch:
    """One read's buffer, its nonce buffer, and the segments it holds (checked, for the
    reader named by ``reader``)."""

    def __init__(self) -> None:
        self._view: memoryview | None = None
        self.nonces = Nonces()
        self.reader: object = None  # the token of the reader whose segments it holds
        self.held = (0, 0)  # those segments (first, end), checked when they were read

    def holds(self, first: int, end: int) -> bool:
        return self.held[0] <= first and end <= self.held[1]

    def buffer(self, size: int) -> memoryview:
        """At least ``size`` bytes (mapped anew, and forgetting its segments, if smaller)."""
        if self._view is None or len(self._view) < size:
            self._view = block_buffer(size)
            self.held = (0, 0)
        return self._view


_spare: list[Scratch] = []
_guard = threading.Lock()


def _fresh_in_child() -> None:
    """A forked child starts with no spare buffers and a lock no parent thread holds."""
    global _spare, _guard
    _spare, _guard = [], threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_in_child)


def take(reader: object) -> Scratch:
    """A buffer for a read by the reader whose token is ``reader``."""
    with _guard:
        scratch = _spare.pop() if _spare else Scratch()
    if scratch.reader is not reader:  # another reader's segments are no use here
        scratch.reader, scratch.held = reader, (0, 0)
    return scratch


def give_back(scratch: Scratch) -> None:
    with _guard:
        if len(_spare) < KEEP:
            _spare.append(scratch)
