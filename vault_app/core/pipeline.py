"""The STREAM front to back on every core, in flat memory: the chunk rules of
``stream.py`` (which this module applies and never restates) run on the ordered block
pipeline of ``ring.py``.

A block is 32 chunks (2 MiB of plaintext), a whole number of segments of the content
digests (``segments.py``: 1 to 32 chunks each): a worker seals (or opens) a whole block
and hashes its segments, while the finishing thread writes the blocks in order (or
authenticates them only, with no output). The cipher (``cryptography``'s
``encrypt_into``/``decrypt_into``) and SHA-256 release the GIL while they work, so the
workers run side by side (two threads: 1.7-1.9x one, ``benchmarks/bench_floor.py``); what
does not spread is writing the one output file, which the kernel does a write at a time.
"""

from __future__ import annotations

import os
from functools import partial
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core import segments
from vault_app.core.errors import SignatureError
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.ring import Ring, Slot, layout
from vault_app.core.stream import (
    CHUNK,
    ENC_CHUNK,
    NONCE_SIZE,
    TAG,
    Nonces,
    chunk_failure,
    open_plan,
    open_run,
    payload_aead,
    payload_key,
    seal_plan,
    seal_run,
)

BLOCK_CHUNKS = segments.SEGMENT_CHUNKS  # a block: 2 MiB, 1 to 32 segments


def _advise_sequential(src: BinaryIO) -> None:
    """Tell the kernel we read ``src`` once, front to back (more read-ahead on disks)."""
    advise = getattr(os, "posix_fadvise", None)
    try:
        fd = src.fileno()
        if advise is not None:
            advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    except (AttributeError, OSError, ValueError):  # not a real file: nothing to advise
        pass


def _write_all(dst: BinaryIO, view: memoryview) -> None:
    """``dst.write`` until all of ``view`` is out: a raw (unbuffered) file may take less."""
    while view:
        n = dst.write(view)
        if n is None or n >= len(view):  # None: a writer that does not count
            return
        if n <= 0:
            raise OSError("the output accepted no data (short write)")
        view = view[n:]


class Digest(Protocol):
    """What :func:`encrypt_payload`/:func:`decrypt_payload` hash the payload into, in
    order (``digests.sha256()``, for one)."""

    def update(self, data: memoryview, /) -> None: ...


def encrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    nonce: bytes | None = None,
    digest: Digest | None = None,
    segment_digests: list[bytes] | None = None,
    segment_chunks: int = segments.SEGMENT_CHUNKS,
    cores: int | None = None,
) -> int:
    """Write the nonce and the encrypted STREAM of ``src`` to ``dst``; return plaintext size.

    ``digest``, if given, is updated with every byte written (nonce included), in order.
    ``segment_digests``, if given, receives the digest of every segment written
    (``segments.py``; ``segment_chunks`` chunks each), hashed by the workers. ``cores``
    (default: all this process may use) shapes the run; the output is the same.
    """
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    dst.write(nonce)
    if digest is not None:
        digest.update(memoryview(nonce))
    _advise_sequential(src)
    found: dict[int, list[bytes]] = {}

    def work(slot: Slot, nonces: Nonces) -> None:
        count, final_index = seal_plan(slot.n, slot.final)
        seal_run(aead, slot.src, slot.dst, slot.index * BLOCK_CHUNKS, slot.n, final_index,
                 nonces, 0, count)
        slot.size, slot.plain = slot.n + count * TAG, slot.n
        if segment_digests is not None:
            found[slot.index] = [
                segments.digest(slot.dst[start:end], nonce if slot.index == 0 and not start
                                else b"")
                for start, end in _cuts(slot.size, segment_chunks)]

    def write(slot: Slot) -> None:
        _write_all(dst, slot.dst[: slot.size])

    def hash_out(slot: Slot) -> None:
        assert digest is not None
        digest.update(slot.dst[: slot.size])

    then = hash_out if digest is not None else None
    ring = Ring(work, write, then, BLOCK_CHUNKS * CHUNK, BLOCK_CHUNKS * ENC_CHUNK,
                layout(cores))
    size = ring.run(src, progress, cancel)
    if segment_digests is not None:
        segment_digests.extend(d for index in range(len(found)) for d in found[index])
    return size


def _cuts(sealed: int, chunks: int) -> list[tuple[int, int]]:
    """Where the segments of ``chunks`` chunks lie in a block of ``sealed`` bytes."""
    step = chunks * ENC_CHUNK
    return [(at, min(at + step, sealed)) for at in range(0, max(sealed, 1), step)]


def decrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO | None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    digest: Digest | None = None,
    segment_digests: segments.Listed | None = None,
    cores: int | None = None,
) -> int:
    """Decrypt the STREAM from ``src`` (starting at its nonce) to ``dst``.

    Only authenticated plaintext is ever written, in order: on a bad chunk, the good
    chunks before it have been written and PayloadError is raised. Returns plaintext
    size. With ``dst=None`` every chunk is authenticated and the plaintext dropped.
    ``digest``, if given, is updated with every payload byte read (nonce included), in
    order: the bytes hashed are exactly the bytes decrypted, in one read pass.
    ``segment_digests``, if given, are the signed digests of the payload's segments: each
    block's segments are hashed and checked before it is opened (SignatureError if one
    differs, or if the payload has another number of segments: found at the last block).
    """
    nonce = src.read(NONCE_SIZE)
    aead = payload_aead(file_key, nonce)
    if digest is not None:
        digest.update(memoryview(nonce))
    _advise_sequential(src)

    def write(slot: Slot) -> None:
        if dst is not None and slot.size:
            _write_all(dst, slot.dst[: slot.size])

    def hash_in(slot: Slot) -> None:
        assert digest is not None
        digest.update(slot.src[: slot.n])

    then = hash_in if digest is not None else None
    ring = Ring(partial(_open_block, aead, nonce, segment_digests), write, then,
                BLOCK_CHUNKS * ENC_CHUNK, BLOCK_CHUNKS * CHUNK, layout(cores))
    size = ring.run(src, progress, cancel)
    return size


def _open_block(aead: ChaCha20Poly1305, nonce: bytes, expected: segments.Listed | None,
                slot: Slot, nonces: Nonces) -> None:
    """Open the sealed block in ``slot``: its authentic plaintext, and the error (if any)
    that ends the stream after it (a chunk that opens with the other last-chunk flag is
    authentic and released before its error, as age does). With ``expected`` segment
    digests, the block is first checked against its own."""
    if expected is not None:
        per_block = BLOCK_CHUNKS // expected.chunks
        cuts = _cuts(slot.n, expected.chunks)
        if slot.final and slot.index * per_block + len(cuts) != len(expected.digests):
            raise SignatureError("the content's length is not the signed length")
        for number, (start, end) in enumerate(cuts):
            first = nonce if slot.index == 0 and not start else b""
            segments.check(slot.index * per_block + number,
                           segments.digest(slot.src[start:end], first), expected.digests,
                           expected.chunks)
    counter = slot.index * BLOCK_CHUNKS
    count, final_index, deferred = open_plan(slot.n, counter, slot.final)
    good = open_run(aead, slot.src, slot.dst, counter, slot.n, final_index, nonces, 0, count)
    if good < count:
        at = good * ENC_CHUNK
        released, deferred = chunk_failure(aead, slot.src[at : min(at + ENC_CHUNK, slot.n)],
                                           counter + good, good == final_index,
                                           slot.dst[good * CHUNK : (good + 1) * CHUNK])
        good += released
    whole = slot.final and good == count and final_index >= 0
    slot.size = slot.plain = slot.n - count * TAG if whole else good * CHUNK
    slot.error = deferred


__all__ = ["BLOCK_CHUNKS", "Digest", "decrypt_payload", "encrypt_payload"]
