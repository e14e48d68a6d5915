"""A locked file's content checked without its key: every segment hashed, on every core.

``vault verify`` reads every file whole. With one digest of the whole payload that was a
single SHA-256 front to back; with segment digests (``segments.py``) the segments are
independent, so a few threads each read a segment at its offset (``os.preadv``, no shared
file position) and hash it, with the GIL released for both. Memory: one segment buffer
per thread.
"""

from __future__ import annotations

import itertools
from typing import BinaryIO

from vault_app.core import segments, worker_threads
from vault_app.core.filling import CAN_PREAD, fill_at
from vault_app.core.ring import available_cores, block_buffer
from vault_app.core.stream import ENC_CHUNK, NONCE_SIZE

MAX_THREADS = 8


def hash_segments(src: BinaryIO, payload_at: int, payload_size: int,
                  cores: int | None = None, *,
                  chunks: int = segments.SEGMENT_CHUNKS) -> list[bytes]:
    """The digest of every segment (of ``chunks`` chunks) of the payload at ``payload_at``
    in ``src``. A segment the file no longer holds in full (it shrank) gets an empty
    digest, which no check accepts."""
    return _hash(src, payload_at, payload_size, cores, chunks, None)[0]


def hash_segments_twice(src: BinaryIO, payload_at: int, payload_size: int, chunks: int,
                        finer: int) -> tuple[list[bytes], list[bytes]]:
    """The digests of the segments of ``chunks`` chunks and of the smaller ones of
    ``finer`` chunks (which divides ``chunks``), in one read of the payload: a stream's
    copy is checked against the digests taken as it was sealed (the larger segments)
    while the digests its header lists (the smaller) are taken of those very bytes."""
    return _hash(src, payload_at, payload_size, None, chunks, finer)


def _hash(src: BinaryIO, payload_at: int, payload_size: int, cores: int | None,
          chunks: int, finer: int | None) -> tuple[list[bytes], list[bytes]]:
    count = segments.count_for_payload(payload_size, chunks)
    found: list[bytes] = [b""] * count
    fine: list[bytes] = [b""] * (segments.count_for_payload(payload_size, finer)
                                 if finer else 0)
    next_index = itertools.count().__next__  # atomic under the GIL
    positional = CAN_PREAD
    threads = max(1, min(MAX_THREADS, count, cores or available_cores())) if positional else 1

    errors: list[BaseException] = []

    def hash_some() -> None:
        buffer = block_buffer(NONCE_SIZE + chunks * ENC_CHUNK)
        try:
            while not errors and (index := next_index()) < count:
                start, length = segments.span(index, payload_size, chunks)
                view = buffer[:length]
                if fill_at(src, payload_at + start, view, positional=positional) != length:
                    continue
                found[index] = segments.digest(view)
                if finer:
                    per = chunks // finer
                    for small in range(index * per, min((index + 1) * per, len(fine))):
                        at, size = segments.span(small, payload_size, finer)
                        fine[small] = segments.digest(view[at - start : at - start + size])
        except BaseException as exc:  # raised on the calling thread
            errors.append(exc)

    workers = [worker_threads.start(hash_some, "vault-verify") for _ in range(threads - 1)]
    hash_some()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return found, fine
