"""A payload of unknown length (a pipe, standard input, a ``vault://`` write) sealed
before its header can be written.

The header lists one digest per segment (``segments.py``) and comes before the payload,
at its final length, so a lock normally writes a placeholder sized from the plaintext's
size first. A stream's size is known only at its end: its payload is sealed into an
unnamed temporary file first (ciphertext only: the plaintext never touches the disk),
then copied after the header. The copy is checked by hashing the published payload's
segments again, on every core, against the digests the pipeline's workers took of the
very buffers they sealed: that proves the published bytes are the ones encrypted, as the
block-by-block read-back of a sized lock does. The header lists segments of the size the
stream's length calls for (``segments.chunks_for``); where that is smaller than the
pipeline's 32 chunks, they are hashed in the same read of the copy. Costs one more write
and read of the ciphertext than a lock of a file (and, under 2 GiB, one more hashing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from vault_app.core import age
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.segment_check import hash_segments, hash_segments_twice
from vault_app.core.segments import SEGMENT_CHUNKS

_COPY = 4 << 20


@contextlib.contextmanager
def sealed_apart(file_key: bytes, plain: BinaryIO, *, progress: ProgressFn | None,
                 cancel: CancelToken | None) -> Iterator[tuple[BinaryIO, int, list[bytes]]]:
    """Seal ``plain`` into an unnamed temporary file: yields it (at its start), the
    plaintext size and the segment digests; the file is gone when the block ends."""
    import tempfile  # here, not at the top: only `lock -` needs it (start-up: every command)

    with tempfile.TemporaryFile(prefix="vault-payload-") as spill:
        digests: list[bytes] = []
        size = age.seal_payload(file_key, plain, spill, progress=progress, cancel=cancel,
                                segment_digests=digests)
        spill.flush()
        spill.seek(0)
        yield spill, size, digests


def copy_checked(spill: BinaryIO, out: BinaryIO, start: int, sealed: list[bytes],
                 chunks: int) -> tuple[bool, list[bytes]]:
    """Copy the sealed payload after the header (``out`` is at ``start``). Returns
    whether the payload as read back from ``out`` has every one of the ``sealed`` digests
    (segments of 32 chunks, as the pipeline took them), and the digests of its segments
    of ``chunks`` chunks, for the header (``segments.chunks_for`` of the stream's size:
    known only now), taken of the same bytes in the same read."""
    import shutil

    shutil.copyfileobj(spill, out, _COPY)
    out.flush()
    written = out.tell() - start
    if chunks == SEGMENT_CHUNKS:
        return hash_segments(out, start, written) == sealed, sealed
    found, listed = hash_segments_twice(out, start, written, SEGMENT_CHUNKS, chunks)
    return found == sealed, listed
