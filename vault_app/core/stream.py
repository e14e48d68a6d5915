"""The age STREAM payload, as the spec states it: 64 KiB ChaCha20-Poly1305 chunks
with a last-chunk flag.

This module holds the rules and nothing else, as age's ``stream.go`` does: sizes, the
payload key, nonces, sealing and opening chunks, which chunk is final, and what each
failure is called. Both ways of reading a payload apply these same rules: front to
back through the threaded pipeline (``pipeline.py``, which adds threads and buffers
and no rule of its own), and at random through :class:`RandomAccess` (``reader.py``).

The rules, in short:

* a payload is a 16-byte nonce, then chunks of up to 64 KiB of plaintext, each sealed
  with its 16-byte tag under ``HKDF-SHA256(file key, nonce, "payload")``;
* a chunk's nonce is its number (11 bytes, big-endian) and a last-chunk flag byte;
* exactly the last chunk carries the flag, and it may be empty only when it is the
  only chunk;
* a full chunk that fails with one flag but opens with the other is authentic, and
  its plaintext is released before the error that follows it (data after the final
  chunk, or no final chunk at all), as age does.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core.errors import MalformedError, PayloadError, TruncatedError
from vault_app.core.kdf import hkdf_sha256

CHUNK = 64 * 1024
TAG = 16
ENC_CHUNK = CHUNK + TAG
NONCE_SIZE = 16
_COUNTER = struct.Struct(">Q")  # the low 64 bits of the 88-bit counter, big-endian

# -- keys and nonces ---------------------------------------------------------------------------


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def payload_aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    """The cipher of a payload that starts with ``nonce`` (as read: it may be short)."""
    if len(nonce) != NONCE_SIZE:
        raise MalformedError("the payload nonce is missing or short (truncated file?)")
    return ChaCha20Poly1305(payload_key(file_key, nonce))


def chunk_nonce(counter: int, final: bool) -> bytes:
    if counter >= 1 << 88:
        raise PayloadError("the payload is too large for the STREAM counter")
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class Nonces:
    """:func:`chunk_nonce` in a reusable 12-byte buffer, updated in place: no bytes
    object per chunk.

    Each thread has its own. Counters beyond 64 bits fall back to :func:`chunk_nonce`
    (which enforces the 88-bit limit); no real file gets there.
    """

    def __init__(self) -> None:
        self._buf = bytearray(12)

    def get(self, counter: int, final: bool) -> bytearray | bytes:
        if counter >> 64:
            return chunk_nonce(counter, final)
        _COUNTER.pack_into(self._buf, 3, counter)
        self._buf[11] = final
        return self._buf


# -- sizes and the last chunk ------------------------------------------------------------------


def last_chunks(sealed: int, counter: int) -> tuple[int, PayloadError | None]:
    """The chunks in the last ``sealed`` bytes of a payload, the first being chunk
    ``counter``: how many there are to open, and the error that ends them, if any.

    Without an error the last of them is the final chunk. With one, none is final:
    the authentic chunks before the error are still released first.
    """
    full, rem = divmod(sealed, ENC_CHUNK)
    if rem == 0:
        if full == 0:
            return 0, TruncatedError("the payload has no chunks (truncated file?)")
        return full, None
    if rem < TAG:
        return full, TruncatedError("the last chunk is cut short (truncated file?)")
    if rem == TAG and counter + full > 0:
        return full, PayloadError("the last chunk is empty, which age forbids")
    return full + 1, None


def plaintext_size(payload_size: int) -> int:
    """The plaintext in a payload of ``payload_size`` bytes (nonce included).

    Raises TruncatedError on a size no payload can have; a possible size is still
    only a claim until the last chunk has opened as the final one.
    """
    body = payload_size - NONCE_SIZE
    count, error = last_chunks(max(body, 0), 0)
    if error is not None:
        raise TruncatedError(f"the payload has an impossible length: {error}")
    return body - count * TAG


def seal_plan(n: int, end: bool) -> tuple[int, int]:
    """How many chunks to seal from a block of ``n`` plaintext bytes, and which is final
    (-1: none). ``end``: the input ends with this block. Only more input proves that a
    block's last chunk is not the final one, so a reader holds a full block back until
    it has read past it; a block that is not the end is whole chunks.
    """
    if not end:
        return n // CHUNK, -1
    count = max(1, -(-n // CHUNK))
    return count, count - 1


def open_plan(n: int, counter: int, end: bool) -> tuple[int, int, PayloadError | None]:
    """How many chunks to open from a block of ``n`` sealed bytes (the first is chunk
    ``counter``), which is final (-1: none), and the error that follows them, if any.
    ``end`` as in :func:`seal_plan`.
    """
    if not end:
        return n // ENC_CHUNK, -1, None
    count, error = last_chunks(n, counter)
    return count, (count - 1 if error is None else -1), error


# -- sealing and opening -----------------------------------------------------------------------


def seal_run(aead: ChaCha20Poly1305, src: memoryview, dst: memoryview, first_counter: int,
             end: int, final_index: int, nonces: Nonces, lo: int, hi: int) -> int:
    """Seal chunks ``lo..hi`` of the plaintext ``src[:end]`` into ``dst``, in place
    (``encrypt_into``); chunk ``final_index`` gets the last-chunk flag. Returns ``hi``."""
    seal = aead.encrypt_into
    nonce = nonces.get
    for i in range(lo, hi):
        start = i * CHUNK
        stop = min(start + CHUNK, end)
        out = i * ENC_CHUNK
        seal(nonce(first_counter + i, i == final_index), src[start:stop], None,
             dst[out : out + stop - start + TAG])
    return hi


def open_run(aead: ChaCha20Poly1305, src: memoryview, dst: memoryview, first_counter: int,
             end: int, final_index: int, nonces: Nonces, lo: int, hi: int) -> int:
    """Open chunks ``lo..hi`` of the sealed ``src[:end]`` into ``dst``, in place
    (``decrypt_into``); chunk ``final_index`` must carry the last-chunk flag.

    Returns ``hi``, or the index of the first chunk that failed (see
    :func:`chunk_failure`); what lies in ``dst`` from that chunk on is not authentic.
    """
    open_ = aead.decrypt_into
    nonce = nonces.get
    for i in range(lo, hi):
        start = i * ENC_CHUNK
        stop = min(start + ENC_CHUNK, end)
        out = i * CHUNK
        try:
            open_(nonce(first_counter + i, i == final_index), src[start:stop], None,
                  dst[out : out + stop - start - TAG])
        except InvalidTag:
            return i
    return hi


def chunk_failure(aead: ChaCha20Poly1305, sealed: memoryview, counter: int, final: bool,
                  plain: memoryview) -> tuple[bool, PayloadError]:
    """Why chunk ``counter`` (``sealed``) failed to open with last-chunk flag ``final``.

    A full chunk that opens with the other flag is authentic: then the first item is
    True, its plaintext is in ``plain`` (``CHUNK`` bytes), and the error is that the
    stream ends without a final chunk (it was meant to be final) or that data follows
    the final chunk. Any other failure is the chunk itself: tampered with or damaged.
    """
    if len(sealed) == ENC_CHUNK:
        try:
            aead.decrypt_into(chunk_nonce(counter, not final), sealed, None, plain[:CHUNK])
        except InvalidTag:
            pass
        else:
            if final:
                return True, TruncatedError("the file ends without a final chunk (truncated?)")
            return True, PayloadError("data follows the final chunk (appended or tampered)")
    return False, PayloadError(
        f"chunk {counter} (plaintext bytes {counter * CHUNK}..) failed authentication: "
        "the file was tampered with or damaged"
    )


class RandomAccess:
    """A payload's chunks for random access (age's ``DecryptReaderAt``): where each
    lies, which is final, and opening a run of them. The caller does the reading.

    ``payload_size`` counts the nonce. The plaintext :attr:`size` it implies is only a
    claim until the final chunk has opened as final: the reader must open the last
    chunk before it reports the end of the file.
    """

    def __init__(self, aead: ChaCha20Poly1305, payload_size: int) -> None:
        self.size = plaintext_size(payload_size)
        self.chunks = max(1, -(-self.size // CHUNK))
        self._aead = aead
        self._nonces = Nonces()

    def _plain_len(self, index: int) -> int:
        """Plaintext bytes in chunk ``index``."""
        return min(CHUNK, self.size - index * CHUNK)

    def span(self, first: int, count: int) -> tuple[int, int]:
        """Where chunks ``first..first+count`` lie: offset from the payload's start
        (its nonce), and length."""
        plain = min(self.size, (first + count) * CHUNK) - first * CHUNK
        return NONCE_SIZE + first * ENC_CHUNK, plain + count * TAG

    def open(self, first: int, sealed: memoryview, plain: memoryview,
             nonces: Nonces | None = None) -> int:
        """Open the chunks from ``first`` in ``sealed`` (as read at :meth:`span`) into
        ``plain``; return the plaintext bytes. Threads opening at once each pass their
        own ``nonces`` (the default one is for a single thread).

        On a failure the bad chunk's bytes in ``plain`` are zeroed (nothing unverified
        is left behind) and the error named by :func:`chunk_failure` is raised.
        """
        count = -(-len(sealed) // ENC_CHUNK)
        final_index = self.chunks - 1 - first
        good = open_run(self._aead, sealed, plain, first, len(sealed), final_index,
                        nonces or self._nonces, 0, count)
        if good < count:
            at = good * ENC_CHUNK
            bad = plain[good * CHUNK : good * CHUNK + self._plain_len(first + good)]
            _, error = chunk_failure(self._aead, sealed[at : at + ENC_CHUNK], first + good,
                                     good == final_index, bad)
            bad[:] = bytes(len(bad))
            raise error
        return len(sealed) - count * TAG


__all__ = [
    "CHUNK", "ENC_CHUNK", "NONCE_SIZE", "TAG", "Nonces", "RandomAccess", "chunk_failure",
    "chunk_nonce", "last_chunks", "open_plan",
    "open_run", "payload_aead", "payload_key", "plaintext_size", "seal_plan", "seal_run",
]
