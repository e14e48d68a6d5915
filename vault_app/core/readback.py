"""Verify a locked file by reading back each block as soon as it is written.

Locking removes the plaintext, so the new file must be proved to hold what was encrypted
first. Each write goes through :class:`ReadBackVerifier`, which reads the same bytes back
from the file (``os.preadv`` where there is one, which leaves the file position alone)
and compares them with the buffer they were written from. That proves the file holds
exactly the ciphertext made from the plaintext, at the cost of a read from the page
cache and a ``memcmp`` (about a tenth of decrypting it again, which the earlier version
of this check did). The writes come from the pipeline's finishing thread, in order,
while later blocks are still being encrypted.
"""

from __future__ import annotations

from typing import BinaryIO

from vault_app.core import filling
from vault_app.core.errors import PayloadError
from vault_app.core.filling import fill_at
from vault_app.core.pipeline import BLOCK_CHUNKS
from vault_app.core.stream import ENC_CHUNK, plaintext_size

#: Where the read-back reads at an offset without moving the file position (else it
#: seeks, reads and seeks back); a module name so tests can take the other path.
CAN_PREAD = filling.CAN_PREAD


class ReadBackVerifier:
    """A write-through wrapper for the payload's output that checks what landed.

    Pass it to :func:`~vault_app.core.age.seal_payload` as ``dst`` (its writes must all
    go through it, the nonce included); after that returns, :meth:`finish` returns the
    plaintext size the checked bytes hold, or raises the first difference or read error.
    Call :meth:`abort` instead if the write failed.
    """

    def __init__(self, handle: BinaryIO, start: int) -> None:
        self._handle = handle
        self._start = start
        self._written = start  # where the next write lands
        self._problem: Exception | None = None
        # The bytes read back land here. A bytearray, for ``==`` on it is one memcmp
        # with any buffer; allocated here, on the caller's thread, for one block.
        self._back: bytearray | None = bytearray(BLOCK_CHUNKS * ENC_CHUNK)

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        n = self._handle.write(view)
        n = len(view) if n is None else n
        self._handle.flush()  # past Python's buffer, so the read sees it
        if self._problem is None:
            try:
                self._check(view[:n], self._written)
            except OSError as exc:
                self._problem = exc
        self._written += n
        return n

    def flush(self) -> None:
        self._handle.flush()

    def _check(self, view: memoryview, offset: int) -> None:
        back = self._back
        if back is None or len(view) > len(back):
            raise ValueError("a write larger than a block")
        got = self._read_at(memoryview(back)[: len(view)], offset)
        same = got == len(view) and (back == view if len(view) == len(back)
                                     else back[: len(view)] == view)
        if not same:
            self._problem = PayloadError(
                f"the file as read back differs from what was written (bytes {offset}.. "
                f"of {offset + len(view)}): a failing or full disk?")

    def _read_at(self, view: memoryview, offset: int) -> int:
        if CAN_PREAD:
            return fill_at(self._handle, offset, view, positional=True)
        done = fill_at(self._handle, offset, view, positional=False)
        self._handle.seek(offset + len(view))  # back where the next write goes
        return done

    def finish(self) -> int:
        """The plaintext size the checked bytes hold; raises the first problem found."""
        self._handle.flush()
        self._back = None
        if self._problem is not None:
            raise self._problem
        return plaintext_size(self._written - self._start)

    def abort(self) -> None:
        """The write failed: nothing to report, and the buffer goes."""
        self._back = None
