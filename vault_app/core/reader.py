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
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from vault_app.core import age, segments
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
from vault_app.core.filling import fill_at
from vault_app.core.header import Header
from vault_app.core.recipients import Identity
from vault_app.core.ring import block_buffer
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE

BATCH_CHUNKS = 16  # whole chunks fetched with one read: 1 MiB of plaintext
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
    anything in it is decrypted, at each read from the file: a read costs about one
    segment (2 MiB), and bytes changed after opening are caught. Wrap in
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
        segment_digests: Sequence[bytes] | None = None,
        owns_source: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._owned: BinaryIO | None = None
        if isinstance(source, str | os.PathLike):
            self.name: str = os.fspath(source)
            self._owned = _open_file(Path(source))
            src: BinaryIO = self._owned
        else:  # an open file: closed with the reader if ``owns_source``
            self.name = name or str(getattr(source, "name", "<age stream>"))
            self._owned = source if owns_source else None
            src = source
        try:
            self._setup(src, identities, file_key, armored)
            if payload_sha256 is not None:
                self._check_digest(payload_sha256)
            self._digests = segment_digests
            if segment_digests is not None:
                self._start_segments(segment_digests)
        except BaseException:
            self._release()
            raise

    def _setup(self, src: BinaryIO, identities: Sequence[Identity] | None,
               file_key: bytes | None, armored: bool | None) -> None:
        if not src.seekable():
            raise io.UnsupportedOperation("an age file must be seekable for random access")
        base = src.tell()
        if armored if armored is not None else _is_armored(src, base):
            src, base = _dearmor(src, base), 0
        self._src = src
        lines = _HeaderLines(src, base)
        header, file_key = age.open_head(lines, identities=identities, file_key=file_key)
        self.header: Header = header
        self._payload_at = lines.consumed_to
        self._payload = age.open_random_access(src, self._payload_at, file_key)
        self._final_ok = False
        self._pos = 0
        self._ct = memoryview(bytearray(BATCH_CHUNKS * ENC_CHUNK))
        self._cache: OrderedDict[int, tuple[memoryview, int]] = OrderedDict()  # slot, size
        self._spare: list[memoryview] = [memoryview(bytearray(CHUNK))
                                         for _ in range(CACHE_CHUNKS)]
        self.chunks_decrypted = 0

    def _start_segments(self, digests: Sequence[bytes]) -> None:
        self._payload_size = self._src.seek(0, io.SEEK_END) - self._payload_at
        if len(digests) != segments.count_for_payload(self._payload_size):
            raise SignatureError("the content's length is not the signed length "
                                 "(cut short, or grown)")
        self._segment = block_buffer(NONCE_SIZE + segments.SEGMENT)
        self._segment_at = -1  # the segment in the buffer, checked when it was read

    def _checked_segment(self, index: int) -> memoryview:
        """Segment ``index`` as just read from the file and checked (or still in the
        buffer from the read that checked it)."""
        assert self._digests is not None
        start, length = segments.span(index, self._payload_size)
        view = self._segment[:length]
        if self._segment_at != index:
            self._segment_at = -1
            if _read_at(self._src, self._payload_at + start, view) != length:
                raise TruncatedError("the file got shorter while it was being read")
            try:
                segments.check(index, segments.digest(view), self._digests)
            except SignatureError as exc:  # named, as the reader's user may hold many
                raise SignatureError(f"{os.path.basename(self.name)}: {exc}") from None
            self._segment_at = index
        return view

    def _check_digest(self, expected: str) -> None:
        """Hash the payload ciphertext (nonce included) through this very handle.

        Chunk tags prove only that someone holding the file key wrote a chunk; a
        signed digest (as a vault records) proves whose content it is. Costs one
        sequential read of the file, no decryption.
        """
        digest = sha256()
        pos, end = self._payload_at, self._src.seek(0, io.SEEK_END)
        while pos < end:
            view = self._ct[: min(len(self._ct), end - pos)]
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
            view = memoryview(buffer).cast("B")
            pos, size = self._pos, self._payload.size
            if pos >= size:
                self._verified_size()
                return 0
            n = min(len(view), size - pos)
            end = pos + n
            # chunks up to ``covered`` lie wholly inside the request: decrypt in place
            covered = self._payload.chunks if end == size else end // CHUNK
            done = 0
            while done < n:
                index, offset = divmod(pos + done, CHUNK)
                if offset == 0 and index < covered:
                    count = min(covered - index, BATCH_CHUNKS)
                    done += self._decrypt_run(index, count, view[done:])
                else:
                    plain = self._cached(index)
                    take = min(len(plain) - offset, n - done)
                    view[done : done + take] = plain[offset : offset + take]
                    done += take
            self._pos = pos + n
            return n

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

    def _verified_size(self) -> int:
        if not self._final_ok:
            self._cached(self._payload.chunks - 1)
        return self._payload.size

    def _cached(self, index: int) -> memoryview:
        """The plaintext of chunk ``index``, from the cache or decrypted into a slot."""
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit[0][: hit[1]]
        slot = self._spare.pop() if self._spare else self._cache.popitem(last=False)[1][0]
        try:
            n = self._decrypt_run(index, 1, slot)
        except BaseException:
            self._spare.append(slot)
            raise
        self._cache[index] = (slot, n)
        return slot[:n]

    def _decrypt_run(self, first: int, count: int, out: memoryview) -> int:
        """Decrypt ``count`` chunks from ``first`` into ``out`` (fewer where a run would
        cross into another segment); return plaintext bytes."""
        if self._digests is not None:
            index, inside = divmod(first, segments.SEGMENT_CHUNKS)
            count = min(count, segments.SEGMENT_CHUNKS - inside)
            offset, length = self._payload.span(first, count)
            at = offset - segments.span(index, self._payload_size)[0]
            sealed = self._checked_segment(index)[at : at + length]
        else:
            offset, length = self._payload.span(first, count)
            sealed = self._ct[:length]
            if _read_at(self._src, self._payload_at + offset, sealed) != length:
                raise TruncatedError("the file got shorter while it was being read")
        n = self._payload.open(first, sealed, out)
        self.chunks_decrypted += count
        if first + count == self._payload.chunks:
            self._final_ok = True
        return n


__all__ = ["AgeReader"]
