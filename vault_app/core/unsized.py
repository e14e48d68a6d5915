"""A payload of unknown length (a pipe, standard input, a ``vault://`` write) sealed
before its header can be written.

The header lists one digest per segment (``segments.py``) and comes before the payload,
at its final length, so a lock normally writes a placeholder sized from the plaintext's
size first. A stream's size is known only at its end: its payload is sealed into an
unnamed temporary file first (ciphertext only: the plaintext never touches the disk),
then copied after the header. The copy is checked by hashing the published payload's
segments again, on every core, against the digests the pipeline's workers took of the
very buffers they sealed: that proves the published bytes are the ones encrypted, as the
block-by-block read-back of a sized lock does. Costs one more write and read of the
ciphertext than a lock of a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from vault_app.core import age
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.segment_check import hash_segments

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


def copy_checked(spill: BinaryIO, out: BinaryIO, start: int, digests: list[bytes]) -> bool:
    """Copy the sealed payload after the header (``out`` is at ``start``); True if the
    payload as read back from ``out`` has every one of ``digests``."""
    import shutil

    shutil.copyfileobj(spill, out, _COPY)
    out.flush()
    written = out.tell() - start
    return hash_segments(out, start, written) == digests
