"""Random-access reading of an age file: a read-only, seekable binary file object.

The STREAM payload is a row of independently authenticated 64 KiB chunks at fixed
offsets, so reading plaintext offset X needs only the chunk(s) covering X: one
positioned read and one AEAD call per chunk, whatever the file size. Nothing is
released before its chunk verifies, the last chunk must verify as the final one
before the end of the file is reported, and memory stays a few fixed buffers.

The header is read and authenticated by the recipe (``age.open_head``) and the chunk
rules (where a chunk lies, which is final, what a failure is called) are
``stream.RandomAccess``'s (from ``age.open_random_access``); this module is the file
object around them: positioned reads, a small cache of chunks, ``read`` and ``seek``.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from vault_app.core import age, read_scratch, segments, worker_threads
from vault_app.core import armor as _armor
from vault_app.core.atomic import describe_os_error
from vault_app.core.digests import sha256
from vault_app.core.errors import (
    ErrorKind,
    FileOperationError,
    PayloadError,
    SignatureError,
    TruncatedError,
)
from vault_app.core.filling import CAN_PREAD, fill_at
from vault_app.core.header import Header
from vault_app.core.read_scratch import Scratch
from vault_app.core.recipients import Identity
from vault_app.core.ring import available_cores
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE

BATCH_CHUNKS = 16  # whole chunks fetched with one read: 1 MiB of plaintext
MAX_HELPERS = 3  # helper threads one read may use beside its own
_CORES = available_cores()
CACHE_CHUNKS = 4  # decrypted chunks kept for small, unaligned reads

Source = str | os.PathLike[str] | BinaryIO


def _read_at(src: BinaryIO, pos: int, view: memoryview) -> int:
    """Fill ``view`` from ``src`` at absolute offset ``pos`` (seeking: ``src`` may be any
    file object, armored input included); return bytes read."""
    return fill_at(src, pos, view, positional=False)


class _HeaderLines:
    """``readline`` over positioned reads, so the header parser needs no buffered file."""

    def __init__(self, src: BinaryIO, start: int) -> None:
        self._src = src
        self._pos = start
        self._buf = bytearray()

    @property
    def consumed_to(self) -> int:
        """Offset just past the last line handed out: the payload starts here."""
        return self._pos - len(self._buf)

    def readline(self, size: int = -1, /) -> bytes:
        while b"\n" not in self._buf and (size < 0 or len(self._buf) < size):
            block = bytearray(4096)
            n = _read_at(self._src, self._pos, memoryview(block))
            if not n:
                break
            self._pos += n
            self._buf += memoryview(block)[:n]
        end = self._buf.find(b"\n") + 1 or len(self._buf)
        if size >= 0:
            end = min(end, size)
        line = bytes(self._buf[:end])
        del self._buf[:end]
        return line


def _open_file(path: Path) -> BinaryIO:
    """Open a regular file unbuffered (reads are chunk-sized), with errors a person can act on."""
    if path.is_dir():
        raise FileOperationError(f"{path}: is a folder, not a file", path=path,
                                 kind=ErrorKind.IS_A_FOLDER)
    try:
        return open(path, "rb", buffering=0)  # closed by AgeReader.close
    except OSError as exc:
        raise describe_os_error(exc, path) from None


def _is_armored(src: BinaryIO, start: int) -> bool:
    head = bytearray(len(_armor.BEGIN) + 64)
    n = _read_at(src, start, memoryview(head))
    return bytes(head[:n]).lstrip(b" \t\r\n").startswith(b"-----")


def _dearmor(src: BinaryIO, start: int) -> io.BytesIO:
    """Armor has no random access: decode the (still encrypted) bytes into memory."""
    src.seek(start)
    text = io.BytesIO(src.read())  # armored files are small: age armors text-sized data
    return io.BytesIO(_armor.ArmoredReader(text).read())


class AgeReader(io.RawIOBase):
    """Decrypts an age file on demand, chunk by chunk; ``read``/``seek`` like a file.

    Give ``identities`` (any that unwrap the file key) or an already-known
    ``file_key``; either way the header MAC is verified before anything is read.
    Binary age files are read in place with constant memory; an armored file
    (``armored=None`` detects it) is de-armored into memory first (its ciphertext
    only; plaintext is still decrypted a chunk at a time). An open file given as
    ``source`` starts at its current position and is repositioned freely. With
    ``payload_sha256`` (a signed digest of the payload ciphertext, nonce included)
    the whole payload is hashed once on opening and must match. With
    ``segment_digests`` (the signed list of ``segments.py``, already checked against its
    signed root) every segment a read needs is read whole, hashed and checked before
    anything in it is decrypted, at each read from the file: a read costs what it covers
    rounded out to whole segments, and bytes changed after opening are caught. ``head``
    (a header the caller already read from ``source`` at its position, and its length in
    bytes) spares reading it again; it is authenticated all the same. Wrap in
    :class:`io.BufferedReader` for ``readline`` and small reads (``vault_app.open`` does).

    ``chunks_decrypted`` counts AEAD chunk decryptions, to show a read's cost.
    """

    mode = "rb"

    def __init__(
        self,
        source: Source,
        *,
        identities: Sequence[Identity] | None = None,
        file_key: bytes | None = None,
        armored: bool | None = None,
        payload_sha256: str | None = None,
        segment_digests: segments.Listed | None = None,
        owns_source: bool = False,
        name: str | None = None,
        head: tuple[Header, int] | None = None,
    ) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._owned: BinaryIO | None = None
        self._digests: segments.Listed | None = None
        self._unit = segments.SEGMENT_CHUNKS  # chunks per segment
        self._piece = segments.SEGMENT_CHUNKS  # chunks in a piece of a spread read
        if isinstance(source, str | os.PathLike):
            self.name: str = os.fspath(source)
            self._owned = _open_file(Path(source))
            src: BinaryIO = self._owned
        else:  # an open file: closed with the reader if ``owns_source``
            self.name = name or str(getattr(source, "name", "<age stream>"))
            self._owned = source if owns_source else None
            src = source
        try:
            self._setup(src, identities, file_key, armored, head)
            if payload_sha256 is not None:
                self._check_digest(payload_sha256)
            self._digests = segment_digests
            if segment_digests is not None:
                self._unit = segment_digests.chunks
                self._piece = max(self._unit, BATCH_CHUNKS)  # small segments: read together
                self._start_segments(segment_digests)
        except BaseException:
            self._release()
            raise

    def _setup(self, src: BinaryIO, identities: Sequence[Identity] | None,
               file_key: bytes | None, armored: bool | None,
               head: tuple[Header, int] | None) -> None:
        if not src.seekable():
            raise io.UnsupportedOperation("an age file must be seekable for random access")
        base = src.tell()
        if armored if armored is not None else _is_armored(src, base):
            src, base = _dearmor(src, base), 0
        self._src = src
        # a raw OS file is read at offsets (``preadv``) by concurrent reads; anything else
        # (armor decoded into memory, a caller's file object) is seeked, one read at a time
        self._positional = CAN_PREAD and isinstance(src, io.FileIO)
        self._seek_lock = threading.Lock()
        if head is not None:  # read by the caller from this file, at ``base``
            header, length = head
            file_key = age.authenticate_head(header, identities=identities,
                                             file_key=file_key)
            self._payload_at = base + length
        else:
            lines = _HeaderLines(src, base)
            header, file_key = age.open_head(lines, identities=identities, file_key=file_key)
            self._payload_at = lines.consumed_to
        self.header: Header = header
        self._payload = age.open_random_access(src, self._payload_at, file_key)
        self._final_ok = False
        self._pos = 0
        self._token = object()  # marks the scratch buffers' segments as this reader's
        self._cache_lock = threading.Lock()  # the cache below, and the counter
        self._cache: OrderedDict[int, tuple[memoryview, int]] = OrderedDict()  # slot, size
        self._spare: list[memoryview] = [memoryview(bytearray(CHUNK))
                                         for _ in range(CACHE_CHUNKS)]
        self.chunks_decrypted = 0

    def _start_segments(self, digests: segments.Listed) -> None:
        self._payload_size = self._src.seek(0, io.SEEK_END) - self._payload_at
        if len(digests.digests) != segments.count_for_payload(self._payload_size,
                                                               digests.chunks):
            raise SignatureError("the content's length is not the signed length "
                                 "(cut short, or grown)")

    def _checked_chunks(self, scratch: Scratch, first: int,
                        stop: int) -> tuple[memoryview, int]:
        """The segments holding chunks ``first..stop`` (within one piece, see
        :meth:`_decrypt_span`) as read from the file in one go and each checked, or
        still in the scratch buffer from the read that checked them; and the payload
        offset where what is returned starts."""
        assert self._digests is not None
        lo, hi = first // self._unit, -(-stop // self._unit)
        buffer = scratch.buffer(NONCE_SIZE + self._piece * ENC_CHUNK)
        if scratch.holds(lo, hi):
            return buffer, segments.span(scratch.held[0], self._payload_size, self._unit)[0]
        scratch.held = (0, 0)
        start = segments.span(lo, self._payload_size, self._unit)[0]
        last_at, last_len = segments.span(hi - 1, self._payload_size, self._unit)
        view = buffer[: last_at + last_len - start]
        self._read_payload(start, view)
        for index in range(lo, hi):
            at, length = segments.span(index, self._payload_size, self._unit)
            computed = segments.digest(view[at - start : at - start + length])
            try:
                segments.check(index, computed, self._digests.digests, self._unit)
            except SignatureError as exc:  # named: the reader's user may hold many
                raise SignatureError(f"{os.path.basename(self.name)}: {exc}") from None
        scratch.held = (lo, hi)
        return view, start

    def _check_digest(self, expected: str) -> None:
        """Hash the payload ciphertext (nonce included) through this very handle.

        Chunk tags prove only that someone holding the file key wrote a chunk; a
        signed digest (as a vault records) proves whose content it is. Costs one
        sequential read of the file, no decryption.
        """
        digest = sha256()
        pos, end = self._payload_at, self._src.seek(0, io.SEEK_END)
        buffer = memoryview(bytearray(BATCH_CHUNKS * ENC_CHUNK))
        while pos < end:
            view = buffer[: min(len(buffer), end - pos)]
            n = _read_at(self._src, pos, view)
            if not n:
                break
            digest.update(view[:n])
            pos += n
        if digest.hexdigest() != expected.lower():  # a public digest (the header)
            raise PayloadError("the content is not the content that was signed (replaced?)")

    # -- file object protocol -------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._lock:
            self._check_open()
            if whence == io.SEEK_SET:
                target = offset
            elif whence == io.SEEK_CUR:
                target = self._pos + offset
            elif whence == io.SEEK_END:
                target = self._verified_size() + offset
            else:
                raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
            if target < 0:  # as for a regular file
                raise OSError(errno.EINVAL, f"negative seek position {target}")
            self._pos = target
            return target

    @property
    def size(self) -> int:
        """Plaintext size, once the last chunk has verified as the final one."""
        with self._lock:
            self._check_open()
            return self._verified_size()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with self._lock:
            self._check_open()
            n = self.read_at(self._pos, buffer)
            self._pos += n
            return n

    def read_at(self, pos: int, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` with plaintext from offset ``pos``; return bytes read (0 at the
        end). The file position is neither used nor moved, and reads from several threads
        run side by side, each with its own working buffer.

        A read that spans several segments is also cut at their boundaries and worked on
        a few helper threads at once (hashing and decrypting release the GIL): pyarrow
        reads a Python file one request at a time, so a request is the unit to spread."""
        self._check_open()
        view = memoryview(buffer).cast("B")
        size = self._payload.size
        if pos >= size:
            self._verified_size()
            return 0
        n = min(len(view), size - pos)
        if pos // CHUNK == (pos + n - 1) // CHUNK:  # inside one chunk: the cache's
            scratch = self._take_scratch()
            try:
                self._copy_chunk(scratch, pos, view[:n])
            finally:
                self._give_back(scratch)
        else:
            self._decrypt_span(pos, view[:n])
        return n

    def _copy_chunk(self, scratch: Scratch, pos: int, view: memoryview) -> None:
        """Fill ``view`` (which lies inside one chunk) from the cached chunk at ``pos``;
        its segment is checked first, outside the cache's lock."""
        index, offset = divmod(pos, CHUNK)
        self._check_ahead(scratch, index)
        with self._cache_lock:
            plain = self._cached(scratch, index)
            view[:] = plain[offset : offset + len(view)]

    def _check_ahead(self, scratch: Scratch, first: int, stop: int | None = None) -> None:
        """Read and check the segments of chunks ``first..stop`` before any decrypting."""
        if self._digests is not None:
            self._checked_chunks(scratch, first, first + 1 if stop is None else stop)

    def _decrypt_span(self, pos: int, out: memoryview) -> None:
        """Fill ``out`` from ``pos``: cut at segment boundaries, the pieces worked by
        this thread and up to :data:`MAX_HELPERS` helpers at once."""
        unit = self._piece
        first, last = pos // CHUNK, (pos + len(out) - 1) // CHUNK
        bounds = [first, *range((first // unit + 1) * unit, last + 1, unit), last + 1]
        pieces = list(itertools.pairwise(bounds))
        take = itertools.count().__next__  # atomic under the GIL
        errors: list[tuple[int, BaseException]] = []

        def work() -> None:
            scratch = self._take_scratch()
            try:
                while not errors and (index := take()) < len(pieces):
                    try:
                        self._decrypt_piece(scratch, *pieces[index], pos, out)
                    except BaseException as exc:  # raised below, on the caller's thread
                        errors.append((index, exc))
            finally:
                self._give_back(scratch)

        extra = min(len(pieces) - 1, MAX_HELPERS, _CORES - 1)
        if extra > 0:
            worker_threads.helpers.run_beside(work, extra)
        else:
            work()
        if errors:
            raise min(errors, key=lambda e: e[0])[1]

    def _decrypt_piece(self, scratch: Scratch, start: int, stop: int, pos: int,
                       out: memoryview) -> None:
        """Chunks ``start..stop`` (in one segment) of the request ``out`` at ``pos``:
        whole chunks decrypted in place, a partial one at either edge through the cache."""
        end = pos + len(out)
        self._check_ahead(scratch, start, stop)
        if start * CHUNK < pos:
            self._copy_chunk(scratch, pos, out[: (start + 1) * CHUNK - pos])
            start += 1
        whole = stop - 1 if stop * CHUNK > end and end < self._payload.size else stop
        while start < whole:
            count = min(whole - start, BATCH_CHUNKS)
            self._decrypt_run(scratch, start, count, out[start * CHUNK - pos :])
            start += count
        if whole < stop:
            self._copy_chunk(scratch, whole * CHUNK, out[whole * CHUNK - pos :])

    def readall(self) -> bytes:
        with self._lock:
            self._check_open()
            left = max(0, self._payload.size - self._pos)
        out = bytearray(left)
        self.readinto(out)  # reaching the end verifies the final chunk, even when left == 0
        return bytes(out)

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()

    def _release(self) -> None:
        cache = getattr(self, "_cache", None)
        if cache is not None:
            for slot, _ in cache.values():
                slot[:] = bytes(len(slot))
            cache.clear()
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    # -- chunks ---------------------------------------------------------------

    def _read_payload(self, offset: int, view: memoryview) -> None:
        """Fill ``view`` from the payload at ``offset`` (TruncatedError if the file ends)."""
        at = self._payload_at + offset
        if self._positional:
            got = fill_at(self._src, at, view, positional=True)
        else:
            with self._seek_lock:
                got = _read_at(self._src, at, view)
        if got != len(view):
            raise TruncatedError("the file got shorter while it was being read")

    def _take_scratch(self) -> Scratch:
        return read_scratch.take(self._token)

    def _give_back(self, scratch: Scratch) -> None:
        read_scratch.give_back(scratch)

    def _verified_size(self) -> int:
        if not self._final_ok:
            scratch = self._take_scratch()
            try:
                with self._cache_lock:
                    self._cached(scratch, self._payload.chunks - 1)
            finally:
                self._give_back(scratch)
        return self._payload.size

    def _cached(self, scratch: Scratch, index: int) -> memoryview:
        """The plaintext of chunk ``index``, from the cache or decrypted into a slot
        (the caller holds the cache lock)."""
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit[0][: hit[1]]
        slot = self._spare.pop() if self._spare else self._cache.popitem(last=False)[1][0]
        try:
            n = self._decrypt_run(scratch, index, 1, slot)
        except BaseException:
            self._spare.append(slot)
            raise
        self._cache[index] = (slot, n)
        return slot[:n]

    def _decrypt_run(self, scratch: Scratch, first: int, count: int,
                     out: memoryview) -> int:
        """Decrypt ``count`` chunks from ``first`` into ``out`` (fewer where a run would
        cross into another piece); return plaintext bytes."""
        if self._digests is not None:
            count = min(count, self._piece - first % self._piece)
            offset, length = self._payload.span(first, count)
            held, at = self._checked_chunks(scratch, first, first + count)
            sealed = held[offset - at : offset - at + length]
        else:
            offset, length = self._payload.span(first, count)
            sealed = scratch.buffer(BATCH_CHUNKS * ENC_CHUNK)[:length]
            self._read_payload(offset, sealed)
        n = self._payload.open(first, sealed, out, scratch.nonces)
        if first + count == self._payload.chunks:
            self._final_ok = True
        self.chunks_decrypted += count  # a count for tests; += under the GIL may race
        return n


__all__ = ["AgeReader"]
