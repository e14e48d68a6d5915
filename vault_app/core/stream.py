"""The age STREAM payload: 64 KiB ChaCha20-Poly1305 chunks with a last-chunk flag.

One implementation, built for speed and flat memory: large reads into preallocated
buffers, ``encrypt_into``/``decrypt_into`` (no per-chunk allocation of payload bytes),
the cipher split over two threads (the AEAD releases the GIL), and writes overlapped
on a writer thread. Memory is a few fixed buffers, whatever the file size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core.errors import MalformedError, PayloadError, TruncatedError
from vault_app.core.kdf import hkdf_sha256
from vault_app.core.progress import CancelToken, ProgressFn

CHUNK = 64 * 1024
TAG = 16
ENC_CHUNK = CHUNK + TAG
NONCE_SIZE = 16
BLOCK_CHUNKS = 32  # 2 MiB of plaintext per block


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def chunk_nonce(counter: int, final: bool) -> bytes:
    if counter >= 1 << 88:
        raise PayloadError("the payload is too large for the STREAM counter")
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def encrypted_size(plain_size: int) -> int:
    """Payload size (nonce included) of ``plain_size`` plaintext bytes."""
    chunks = max(1, -(-plain_size // CHUNK))
    return NONCE_SIZE + plain_size + chunks * TAG


def plaintext_size(payload_size: int) -> int:
    """Inverse of :func:`encrypted_size`; raises TruncatedError on impossible sizes."""
    body = payload_size - NONCE_SIZE
    full, rem = divmod(body, ENC_CHUNK)
    if body < TAG or (rem and rem < TAG) or (rem == TAG and full > 0):
        raise TruncatedError("the payload has an impossible length")
    return full * CHUNK + (rem - TAG if rem else 0)


def _read_full(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src`` until full or end of file; return bytes read."""
    done = 0
    readinto = getattr(src, "readinto", None)
    while done < len(view):
        if readinto is not None:
            n = readinto(view[done:])
        else:
            data = src.read(len(view) - done)
            n = len(data)
            view[done : done + n] = data
        if not n:
            break
        done += n
    return done


class _Pipeline:
    """Runs the cipher on two threads and the writes on a third, overlapping the I/O.

    Output buffers alternate, so one can be written while the next is filled.
    """

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._cipher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-cipher")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-writer")
        self._pending: Future[object] | None = None

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.flush()
        finally:
            self._cipher.shutdown(wait=True)
            self._writer.shutdown(wait=True)

    def split(self, count: int, work: Callable[[int, int], int]) -> int:
        """Run ``work(lo, hi)`` over two halves of ``range(count)`` at once.

        ``work`` returns ``hi`` on success or the index of the first failed chunk;
        so does this.
        """
        if count < 4:
            return work(0, count)
        mid = count // 2
        other = self._cipher.submit(work, mid, count)
        try:
            first = work(0, mid)
        finally:
            second = other.result()
        return first if first < mid else second

    def write(self, view: memoryview) -> None:
        """Queue a write after the previous one (whose buffer is then free again)."""
        self.flush()
        self._pending = self._writer.submit(self._dst.write, view)

    def flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()


def _seal_range(aead: ChaCha20Poly1305, src: memoryview, dst: memoryview, first_counter: int,
                end: int, final_index: int, lo: int, hi: int) -> int:
    """Encrypt chunks ``lo..hi`` of ``src[:end]``; chunk ``final_index`` gets the last flag."""
    for i in range(lo, hi):
        start = i * CHUNK
        stop = min(start + CHUNK, end)
        out = i * ENC_CHUNK
        aead.encrypt_into(chunk_nonce(first_counter + i, i == final_index), src[start:stop],
                          None, dst[out : out + stop - start + TAG])
    return hi


def _open_range(aead: ChaCha20Poly1305, src: memoryview, dst: memoryview, first_counter: int,
                end: int, final_index: int, lo: int, hi: int) -> int:
    """Decrypt chunks ``lo..hi``; return ``hi``, or the index of the first bad chunk."""
    for i in range(lo, hi):
        start = i * ENC_CHUNK
        stop = min(start + ENC_CHUNK, end)
        out = i * CHUNK
        try:
            aead.decrypt_into(chunk_nonce(first_counter + i, i == final_index), src[start:stop],
                              None, dst[out : out + stop - start - TAG])
        except InvalidTag:
            return i
    return hi


def _retry_full_chunk(aead: ChaCha20Poly1305, src: memoryview, dst: memoryview,
                      first_counter: int, index: int, was_final: bool) -> bool:
    """A full chunk failed: does it open with the other last-chunk flag?

    As in age, such a chunk is authentic and is released before the error that
    follows (data after the final chunk, or no final chunk at all).
    """
    start = index * ENC_CHUNK
    try:
        aead.decrypt_into(chunk_nonce(first_counter + index, not was_final),
                          src[start : start + ENC_CHUNK], None,
                          dst[index * CHUNK : (index + 1) * CHUNK])
    except InvalidTag:
        return False
    return True


def encrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    nonce: bytes | None = None,
) -> int:
    """Write the nonce and the encrypted STREAM of ``src`` to ``dst``; return plaintext size.

    The last chunk of each full block is held back until more input proves it is
    not the final one.
    """
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    dst.write(nonce)
    inview = memoryview(bytearray(BLOCK_CHUNKS * CHUNK))
    outbufs = [memoryview(bytearray(BLOCK_CHUNKS * ENC_CHUNK)) for _ in range(2)]
    counter = carry = total = turn = 0
    with _Pipeline(dst) as pipe:
        while True:
            if cancel is not None:
                cancel.check()
            n = carry + _read_full(src, inview[carry:])
            eof = n < len(inview)
            count = max(1, -(-n // CHUNK)) if eof else BLOCK_CHUNKS - 1
            size = n if eof else count * CHUNK
            out = outbufs[turn % 2]
            final_index = count - 1 if eof else -1
            pipe.split(count, partial(_seal_range, aead, inview, out, counter, n, final_index))
            pipe.write(out[: size + count * TAG])
            counter += count
            total += size
            turn += 1
            if progress is not None:
                progress(total)
            if eof:
                pipe.flush()
                return total
            inview[:CHUNK] = inview[size : size + CHUNK]
            carry = CHUNK


def decrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """Decrypt the STREAM from ``src`` (starting at its nonce) to ``dst``.

    Only authenticated plaintext is ever written: on a bad chunk, the good chunks
    before it have been written and PayloadError is raised. Returns plaintext size.
    """
    nonce = src.read(NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise MalformedError("the payload nonce is missing or short (truncated file?)")
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    inview = memoryview(bytearray(BLOCK_CHUNKS * ENC_CHUNK))
    outbufs = [memoryview(bytearray(BLOCK_CHUNKS * CHUNK)) for _ in range(2)]
    counter = carry = total = turn = 0
    with _Pipeline(dst) as pipe:
        while True:
            if cancel is not None:
                cancel.check()
            n = carry + _read_full(src, inview[carry:])
            eof = n < len(inview)
            deferred: PayloadError | None = None
            if not eof:
                count, final_index = BLOCK_CHUNKS - 1, -1
            else:
                full, rem = divmod(n, ENC_CHUNK)
                if rem == 0:
                    count, final_index = full, full - 1
                    if full == 0:
                        deferred = TruncatedError("the payload has no chunks (truncated file?)")
                elif rem < TAG:
                    count, final_index = full, -1
                    deferred = TruncatedError("the last chunk is cut short (truncated file?)")
                elif rem == TAG and counter + full > 0:
                    count, final_index = full, -1
                    deferred = PayloadError("the last chunk is empty, which age forbids")
                else:
                    count, final_index = full + 1, full
            out = outbufs[turn % 2]
            good = pipe.split(count, partial(_open_range, aead, inview, out, counter, n,
                                             final_index))
            if good < count:
                was_final = good == final_index
                full_size = (good + 1) * ENC_CHUNK <= n
                if full_size and _retry_full_chunk(aead, inview, out, counter, good, was_final):
                    good += 1
                    deferred = (
                        TruncatedError("the file ends without a final chunk (truncated?)")
                        if was_final
                        else PayloadError("data follows the final chunk (appended or tampered)")
                    )
                else:
                    deferred = PayloadError(
                        f"chunk {counter + good} failed authentication: the file was "
                        "tampered with or damaged"
                    )
            size = n - count * TAG if (eof and good == count and final_index >= 0) else good * CHUNK
            if size:
                pipe.write(out[:size])
            total += size
            turn += 1
            if deferred is not None:
                pipe.flush()
                raise deferred
            counter += count
            if progress is not None:
                progress(total)
            if eof:
                pipe.flush()
                return total
            consumed = count * ENC_CHUNK
            inview[:ENC_CHUNK] = inview[consumed : consumed + ENC_CHUNK]
            carry = ENC_CHUNK
