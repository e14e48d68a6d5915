"""The STREAM front to back, fast and in flat memory: threads and buffers around the
chunk rules of ``stream.py`` (which this module applies and never restates).

The work is a three-stage pipeline over a few fixed 2 MiB buffers, so memory is flat
whatever the file size:

* the calling thread reads a block straight into a preallocated buffer (``readinto``)
  and ciphers it with ``encrypt_into``/``decrypt_into`` (no per-chunk allocation of
  payload bytes; the AEAD releases the GIL), handing one half of the block to a
  helper thread so both cores cipher at once;
* a writer thread writes finished blocks in order while the next ones are read and
  ciphered, through a small ring of output buffers that absorbs jitter.

Progress is reported and cancellation checked on the calling thread, between blocks.
Only ``threading`` and ``queue`` are used (not ``concurrent.futures``) to keep the
command line's start-up lean.
"""

from __future__ import annotations

import mmap
import os
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core.progress import CancelToken, ProgressFn
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

BLOCK_CHUNKS = 32  # 2 MiB of plaintext per block: big reads, yet cache-sized
RING = 3  # output buffers: one being written, one queued, one being filled
_SPLIT_MIN = 4  # blocks with fewer chunks are not worth a thread hand-off


def block_buffer(size: int) -> memoryview:
    """A zeroed working buffer of ``size`` bytes, mapped straight from the OS.

    Not from malloc: glibc raises its mmap threshold after a big block is freed, so
    2 MiB buffers freed by one operation would be kept in the heap (or in a thread's
    arena) and RSS would creep up by a few MiB per operation in a long-lived process.
    Mapped memory goes back to the OS as soon as the last view of it is dropped.
    """
    return memoryview(mmap.mmap(-1, size))


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
    """What :func:`encrypt_payload`/:func:`decrypt_payload` hash the payload into
    (``hashlib.sha256()``, for one)."""

    def update(self, data: memoryview, /) -> None: ...


class _Hasher:
    """Hashes blocks in order on its own thread, overlapping the cipher and the writes
    (hashlib releases the GIL for big buffers).

    :meth:`feed` waits while ``depth`` blocks are still being hashed, so once it has
    returned ``depth`` times after a block was fed, that block's buffer may be reused.
    """

    def __init__(self, digest: Digest, depth: int) -> None:
        self._digest = digest
        self._jobs: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self._free = threading.Semaphore(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="vault-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (view := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    self._digest.update(view)
                except BaseException as exc:  # raised on the calling thread by close()
                    self._error = exc
            self._free.release()

    def feed(self, view: memoryview) -> None:
        self._free.acquire()
        self._jobs.put(view)

    def close(self) -> None:
        """Wait until every block is hashed; raise the hash's error, if any."""
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


#: ``work(nonces, lo, hi)`` ciphers chunks ``lo..hi`` of a block (``stream.seal_run`` or
#: ``stream.open_run`` with the block bound); it returns ``hi`` on success or the index
#: of the first chunk that failed authentication.
Work = Callable[[Nonces, int, int], int]


class _Pipeline:
    """A cipher helper thread and a writer thread around the calling thread.

    ``dst.write`` runs only on the writer thread, in block order; its errors are
    raised on the calling thread at the next :meth:`write` or :meth:`flush`.
    """

    def __init__(self, dst: BinaryIO | None) -> None:
        self._dst = dst
        self._nonces = Nonces()
        self._jobs: queue.SimpleQueue[tuple[Work, int, int] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
        self._writes: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self._free = threading.Semaphore(RING - 1)  # writes queued ahead of the writer
        self._error: BaseException | None = None
        self._helper: threading.Thread | None = None  # started by the first large block
        self._writer: threading.Thread | None = None  # none when there is nothing to write
        if dst is not None:
            self._writer = threading.Thread(target=self._write, name="vault-writer",
                                            daemon=True)
            self._writer.start()

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.flush()
        finally:
            if self._writer is not None:
                self._writes.put(None)
                self._writer.join()
            if self._helper is not None:
                self._jobs.put(None)
                self._helper.join()

    # The helper and writer threads.

    def _help(self) -> None:
        nonces = Nonces()
        while (job := self._jobs.get()) is not None:
            work, lo, hi = job
            try:
                self._done.put(work(nonces, lo, hi))
            except BaseException as exc:  # handed to the calling thread
                self._done.put(exc)

    def _write(self) -> None:
        assert self._dst is not None
        while (view := self._writes.get()) is not None:
            if self._error is None:
                try:
                    _write_all(self._dst, view)
                except BaseException as exc:  # raised on the calling thread
                    self._error = exc
            self._free.release()

    # The calling thread's side.

    def split(self, count: int, work: Work) -> int:
        """Run ``work`` over the two halves of ``range(count)`` at once; see :data:`Work`."""
        if count < _SPLIT_MIN:
            return work(self._nonces, 0, count)
        if self._helper is None:
            self._helper = threading.Thread(target=self._help, name="vault-cipher", daemon=True)
            self._helper.start()
        mid = count // 2
        self._jobs.put((work, mid, count))
        try:
            first = work(self._nonces, 0, mid)
        finally:
            second = self._done.get()
        if isinstance(second, BaseException):
            raise second
        return first if first < mid else second

    def write(self, view: memoryview) -> None:
        """Queue ``view`` for writing; blocks while ``RING - 1`` writes are pending.

        The buffer behind ``view`` is reused ``RING`` blocks later, by which time its
        write has finished (the semaphore guarantees it).
        """
        self._raise_write_error()
        if self._writer is None:  # authenticating only: the plaintext is dropped
            return
        self._free.acquire()
        self._writes.put(view)

    def flush(self) -> None:
        """Wait until every queued write is done; raise the writer's error, if any."""
        for _ in range(RING - 1):
            self._free.acquire()
        for _ in range(RING - 1):
            self._free.release()
        self._raise_write_error()

    def _raise_write_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def encrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    nonce: bytes | None = None,
    digest: Digest | None = None,
) -> int:
    """Write the nonce and the encrypted STREAM of ``src`` to ``dst``; return plaintext size.

    ``digest``, if given, is updated with every byte written (nonce included), on a
    thread of its own.
    """
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    dst.write(nonce)
    _advise_sequential(src)
    inview = block_buffer(BLOCK_CHUNKS * CHUNK)
    outbufs = [block_buffer(BLOCK_CHUNKS * ENC_CHUNK) for _ in range(RING)]
    hasher = None
    if digest is not None:
        digest.update(memoryview(nonce))
        hasher = _Hasher(digest, RING - 1)  # as the writer: a buffer is refilled RING later
    try:
        return _encrypt_blocks(aead, src, dst, inview, outbufs, hasher, progress, cancel)
    finally:
        if hasher is not None:
            hasher.close()


def _encrypt_blocks(aead: ChaCha20Poly1305, src: BinaryIO, dst: BinaryIO, inview: memoryview,
                    outbufs: list[memoryview], hasher: _Hasher | None,
                    progress: ProgressFn | None, cancel: CancelToken | None) -> int:
    counter = carry = total = turn = 0
    with _Pipeline(dst) as pipe:
        while True:
            if cancel is not None:
                cancel.check()
            n = carry + _read_full(src, inview[carry:])
            eof = n < len(inview)
            count, final_index = seal_plan(n, eof)
            size = n if eof else count * CHUNK
            out = outbufs[turn % RING]
            pipe.split(count, partial(seal_run, aead, inview, out, counter, n, final_index))
            pipe.write(out[: size + count * TAG])
            if hasher is not None:
                hasher.feed(out[: size + count * TAG])
            counter += count
            total += size
            turn += 1
            if progress is not None:
                progress(total)
            if eof:
                pipe.flush()
                return total
            inview[:CHUNK] = inview[size : size + CHUNK]  # the held-back chunk
            carry = CHUNK


def decrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO | None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    digest: Digest | None = None,
) -> int:
    """Decrypt the STREAM from ``src`` (starting at its nonce) to ``dst``.

    Only authenticated plaintext is ever written: on a bad chunk, the good chunks
    before it have been written and PayloadError is raised. Returns plaintext size.
    With ``dst=None`` every chunk is authenticated and the plaintext dropped (a check
    of the file, with no writer thread and one output buffer).
    ``digest``, if given, is updated with every payload byte read (nonce included),
    on a thread of its own: the bytes hashed are exactly the bytes decrypted, in
    one read pass.
    """
    nonce = src.read(NONCE_SIZE)
    aead = payload_aead(file_key, nonce)
    _advise_sequential(src)
    # With a digest, the input is read into a ring of buffers: one is decrypted while
    # the ones before it are still being hashed.
    inbufs = [block_buffer(BLOCK_CHUNKS * ENC_CHUNK) for _ in range(1 if digest is None else RING)]
    hasher = None
    if digest is not None:
        digest.update(memoryview(nonce))
        hasher = _Hasher(digest, RING - 1)
    try:
        return _decrypt_blocks(aead, src, dst, inbufs, hasher, progress, cancel)
    finally:
        if hasher is not None:
            hasher.close()


def _decrypt_blocks(aead: ChaCha20Poly1305, src: BinaryIO, dst: BinaryIO | None,
                    inbufs: list[memoryview], hasher: _Hasher | None,
                    progress: ProgressFn | None, cancel: CancelToken | None) -> int:
    outbufs = [block_buffer(BLOCK_CHUNKS * CHUNK) for _ in range(1 if dst is None else RING)]
    counter = carry = total = turn = 0
    inview = inbufs[0]
    with _Pipeline(dst) as pipe:
        while True:
            if cancel is not None:
                cancel.check()
            n = carry + _read_full(src, inview[carry:])
            if hasher is not None:
                hasher.feed(inview[carry:n])
            eof = n < len(inview)
            count, final_index, deferred = open_plan(n, counter, eof)
            out = outbufs[turn % len(outbufs)]
            good = pipe.split(count, partial(open_run, aead, inview, out, counter, n,
                                             final_index))
            if good < count:  # released (if authentic after all) before its error
                at = good * ENC_CHUNK
                released, deferred = chunk_failure(aead, inview[at : min(at + ENC_CHUNK, n)],
                                                   counter + good, good == final_index,
                                                   out[good * CHUNK : (good + 1) * CHUNK])
                good += released
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
            block, inview = inview, inbufs[turn % len(inbufs)]
            inview[:ENC_CHUNK] = block[consumed : consumed + ENC_CHUNK]  # the held-back chunk
            carry = ENC_CHUNK
