"""The STREAM front to back on every core, in flat memory: threads and buffers around the
chunk rules of ``stream.py`` (which this module applies and never restates).

Three stages over a ring of fixed block buffers, so memory is the same whatever the file
size and however many cores there are:

* the calling thread reads blocks in order into free slots of the ring (``readinto``),
  checks for cancellation and reports progress between blocks;
* worker threads, one per core up to :data:`MAX_WORKERS`, each seal or open a whole
  block (``encrypt_into``/``decrypt_into`` into the slot's output buffer), in any order;
* one more thread finishes the blocks in their order: it writes each to ``dst`` and
  hands the slot back to the reader (through one more thread that feeds an ordered
  digest of the payload, when one is asked for).

Why this shape: ``cryptography`` holds the GIL while it seals or opens a chunk, so the
cipher itself runs on one core at a time, whichever worker calls it. What spreads over
the other cores is everything else, which releases the GIL: reading, writing, hashing
(``hashlib``, on large buffers). A block is a batch of 32 chunks (2 MiB): big
enough that a hand-off between threads costs little next to its work, small enough that
a few of them in flight keep the ring at 12-20 MiB.

An input that fits in one block (small files, the test vectors) is done on the calling
thread alone: no thread is started for it.
"""

from __future__ import annotations

import itertools
import mmap
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core import segments
from vault_app.core.errors import SignatureError
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

BLOCK_CHUNKS = segments.SEGMENT_CHUNKS  # a block is a segment (2 MiB): hashed whole
MAX_WORKERS = 3  # past this the cipher, which holds the GIL, is what limits


def available_cores() -> int:
    """The cores this process may run on (``taskset`` and cgroups included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Layout:
    """How a run is shaped: worker threads, and slots (block buffers) in the ring."""

    workers: int
    slots: int


def layout(cores: int | None = None) -> Layout:
    """A worker per core (up to :data:`MAX_WORKERS`), and two slots more than workers:
    one being read, and one read ahead while the block before it is held until the input
    proves whether that block is the last. At most 5 slots of 4 MiB (a block in, a block
    out): the ring stays at 20 MiB however many cores there are."""
    workers = max(1, min(MAX_WORKERS, cores if cores is not None else available_cores()))
    return Layout(workers, workers + 2)


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
    """What :func:`encrypt_payload`/:func:`decrypt_payload` hash the payload into, in
    order (``hashlib.sha256()``, for one)."""

    def update(self, data: memoryview, /) -> None: ...


class _Slot:
    """One block's buffers, and what the stages learn about the block in them."""

    def __init__(self, in_size: int, out_size: int) -> None:
        self.src = block_buffer(in_size)
        self.dst = block_buffer(out_size)
        self.index = 0
        self.n = 0  # bytes read into src
        self.final = False  # the input ends with this block
        self.size = 0  # bytes of dst to release
        self.plain = 0  # plaintext bytes this block stands for (progress)
        self.error: BaseException | None = None  # released after the block's good part


#: ``work(slot, nonces)`` seals or opens the block in ``slot`` (on any worker thread).
Work = Callable[[_Slot, Nonces], None]
#: ``finish(slot)`` takes a worked block, in block order (on a finishing thread).
Finish = Callable[[_Slot], None]


class _Ring:
    """Read in order (calling thread), work (workers), finish in order (one thread, and
    one more for a second ordered step: the two overlap on consecutive blocks)."""

    def __init__(self, work: Work, finish: Finish, then: Finish | None, in_chunk: int,
                 out_chunk: int, shape: Layout) -> None:
        self._work = work
        self._finish = finish
        self._then = then
        self._shape = shape
        self.in_block = BLOCK_CHUNKS * in_chunk
        self._out_block = BLOCK_CHUNKS * out_chunk
        self._slots: list[_Slot] = []
        self._free: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[_Slot | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[_Slot | None] = queue.SimpleQueue()
        self._finished: queue.SimpleQueue[_Slot | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._finishers: list[threading.Thread] = []
        self._failure: BaseException | None = None  # the first, in block order
        self.finished = 0  # plaintext bytes finished, in order
        self.blocks = 0  # blocks read

    def _slot(self) -> _Slot:
        """A free slot; a new one while the ring is not full yet."""
        if len(self._slots) < self._shape.slots and self._free.empty():
            slot = _Slot(self.in_block, self._out_block)
            self._slots.append(slot)
            return slot
        return self._free.get()

    def run(self, src: BinaryIO, progress: ProgressFn | None,
            cancel: CancelToken | None) -> int:
        """Every block of ``src`` through the stages; the plaintext size. The first
        failure (in block order) is raised once every block in flight is back."""
        with _PROMPT:
            return self._run(src, progress, cancel)

    def _run(self, src: BinaryIO, progress: ProgressFn | None,
             cancel: CancelToken | None) -> int:
        held: _Slot | None = None  # read, but not known yet to be the last block or not
        reading: _Slot | None = None
        try:
            for index in itertools.count():
                if cancel is not None:
                    cancel.check()
                if self._failure is not None:
                    break
                if progress is not None and index:
                    progress(self.finished)
                reading = self._slot()
                reading.index, reading.n = index, _read_full(src, reading.src[: self.in_block])
                reading.final = reading.n < self.in_block
                self.blocks = index + (reading.n > 0 or index == 0)
                if held is None and reading.final:  # all of it in one block: no threads
                    self._alone(reading)
                    break
                if held is not None:
                    held.final = reading.n == 0
                    self._dispatch(held)
                    held = None
                if reading.n == 0:
                    break
                if reading.final:
                    self._dispatch(reading)
                    reading = None
                    break
                held, reading = reading, None
        except BaseException as exc:
            self._fail(exc)
        finally:
            for slot in (held, reading):
                if slot is not None:
                    self._free.put(slot)
            self._stop(progress, cancel)
        if self._failure is not None:
            raise self._failure
        return self.finished

    def _alone(self, slot: _Slot) -> None:
        """The whole input in one block, on the calling thread."""
        self._work(slot, Nonces())
        self._finish(slot)
        self.finished += slot.plain
        if slot.error is not None:
            raise slot.error
        if self._then is not None:
            self._then(slot)

    def _dispatch(self, slot: _Slot) -> None:
        if not self._finishers:
            steps = [self._finish_in_order] + ([self._then_in_order] if self._then else [])
            for step in steps:
                thread = threading.Thread(target=step, name="vault-finish", daemon=True)
                thread.start()
                self._finishers.append(thread)
        if len(self._threads) < self._shape.workers:
            worker = threading.Thread(target=self._serve, name="vault-work", daemon=True)
            worker.start()
            self._threads.append(worker)
        self._jobs.put(slot)

    def _serve(self) -> None:
        nonces = Nonces()
        while (slot := self._jobs.get()) is not None:
            if self._failure is None:
                try:
                    self._work(slot, nonces)
                except BaseException as exc:  # raised on the calling thread, in order
                    slot.error = exc
                    slot.size = 0
            self._done.put(slot)

    def _finish_in_order(self) -> None:
        waiting: dict[int, _Slot] = {}
        following = 0
        while (slot := self._done.get()) is not None:
            waiting[slot.index] = slot
            while following in waiting:
                slot = waiting.pop(following)
                following += 1
                if self._failure is None:
                    try:
                        self._finish(slot)
                        self.finished += slot.plain
                        if slot.error is not None:
                            raise slot.error
                    except BaseException as exc:
                        self._fail(exc)
                slot.error = None
                (self._finished if self._then is not None else self._free).put(slot)

    def _then_in_order(self) -> None:
        assert self._then is not None
        while (slot := self._finished.get()) is not None:
            if self._failure is None:
                try:
                    self._then(slot)
                except BaseException as exc:
                    self._fail(exc)
            self._free.put(slot)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc

    def _stop(self, progress: ProgressFn | None, cancel: CancelToken | None) -> None:
        """Wait for every slot to come back (reporting progress and checking for a
        cancel as they do, unless something failed), then end the threads."""
        for _ in range(len(self._slots)):
            self._free.get()
            if self._failure is None:
                try:
                    if progress is not None:
                        progress(self.finished)
                    if cancel is not None:
                        cancel.check()
                except BaseException as exc:
                    self._fail(exc)
        for _ in self._threads:
            self._jobs.put(None)
        for worker in self._threads:
            worker.join()
        if self._finishers:
            self._done.put(None)
            self._finished.put(None)
            for thread in self._finishers:
                thread.join()


class _PromptSwitching:
    """While any pipeline runs, a thread back from a system call (a write, a read, a
    hash) waits at most :attr:`INTERVAL` for the GIL.

    The interpreter's default switch interval, 5 ms, lets a worker sealing block after
    block (the cipher holds the GIL) keep it that long, and the reader and the writer,
    whose work is all in system calls, stall behind it. Counted, so pipelines on several
    threads at once restore the interval once, after the last.
    """

    INTERVAL = 0.0002

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._saved = 0.0

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.INTERVAL, self._saved))
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                sys.setswitchinterval(self._saved)


_PROMPT = _PromptSwitching()


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
    cores: int | None = None,
) -> int:
    """Write the nonce and the encrypted STREAM of ``src`` to ``dst``; return plaintext size.

    ``digest``, if given, is updated with every byte written (nonce included), in order.
    ``segment_digests``, if given, receives the digest of every segment written
    (``segments.py``), hashed by the workers. ``cores`` (default: all this process may
    use) shapes the run; the output is the same.
    """
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    dst.write(nonce)
    if digest is not None:
        digest.update(memoryview(nonce))
    _advise_sequential(src)
    found: dict[int, bytes] = {}

    def work(slot: _Slot, nonces: Nonces) -> None:
        count, final_index = seal_plan(slot.n, slot.final)
        seal_run(aead, slot.src, slot.dst, slot.index * BLOCK_CHUNKS, slot.n, final_index,
                 nonces, 0, count)
        slot.size, slot.plain = slot.n + count * TAG, slot.n
        if segment_digests is not None:
            found[slot.index] = segments.digest(slot.dst[: slot.size],
                                                nonce if slot.index == 0 else b"")

    def write(slot: _Slot) -> None:
        _write_all(dst, slot.dst[: slot.size])

    def hash_out(slot: _Slot) -> None:
        assert digest is not None
        digest.update(slot.dst[: slot.size])

    then = hash_out if digest is not None else None
    size = _Ring(work, write, then, CHUNK, ENC_CHUNK, layout(cores)).run(src, progress, cancel)
    if segment_digests is not None:
        segment_digests.extend(found[index] for index in range(len(found)))
    return size


def decrypt_payload(
    file_key: bytes,
    src: BinaryIO,
    dst: BinaryIO | None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    digest: Digest | None = None,
    segment_digests: Sequence[bytes] | None = None,
    cores: int | None = None,
) -> int:
    """Decrypt the STREAM from ``src`` (starting at its nonce) to ``dst``.

    Only authenticated plaintext is ever written, in order: on a bad chunk, the good
    chunks before it have been written and PayloadError is raised. Returns plaintext
    size. With ``dst=None`` every chunk is authenticated and the plaintext dropped.
    ``digest``, if given, is updated with every payload byte read (nonce included), in
    order: the bytes hashed are exactly the bytes decrypted, in one read pass.
    ``segment_digests``, if given, are the signed digests of the payload's segments: each
    block is hashed and checked before it is opened (SignatureError if it differs, or if
    the payload has another number of segments).
    """
    nonce = src.read(NONCE_SIZE)
    aead = payload_aead(file_key, nonce)
    if digest is not None:
        digest.update(memoryview(nonce))
    _advise_sequential(src)

    def write(slot: _Slot) -> None:
        if dst is not None and slot.size:
            _write_all(dst, slot.dst[: slot.size])

    def hash_in(slot: _Slot) -> None:
        assert digest is not None
        digest.update(slot.src[: slot.n])

    then = hash_in if digest is not None else None
    ring = _Ring(partial(_open_block, aead, nonce, segment_digests), write, then, ENC_CHUNK,
                 CHUNK, layout(cores))
    size = ring.run(src, progress, cancel)
    if segment_digests is not None and ring.blocks != len(segment_digests):
        raise SignatureError("the content's length is not the signed length")
    return size


def _open_block(aead: ChaCha20Poly1305, nonce: bytes, expected: Sequence[bytes] | None,
                slot: _Slot, nonces: Nonces) -> None:
    """Open the sealed block in ``slot``: its authentic plaintext, and the error (if any)
    that ends the stream after it (a chunk that opens with the other last-chunk flag is
    authentic and released before its error, as age does). With ``expected`` segment
    digests, the block is first checked against its own."""
    if expected is not None:
        sealed = slot.src[: slot.n]
        segments.check(slot.index, segments.digest(sealed, nonce if slot.index == 0 else b""),
                       expected)
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


__all__ = ["BLOCK_CHUNKS", "Digest", "Layout", "available_cores", "block_buffer",
           "decrypt_payload", "encrypt_payload", "layout"]
