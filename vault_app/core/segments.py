"""Per-segment content digests: the payload's ciphertext in fixed segments, each hashed
with SHA-256, listed in a header stanza and bound by one root that the file's signed
record names.

Why not one SHA-256 of the whole payload: that can only be computed front to back on
one core, and checked only by reading all of the file, so opening a 1 GiB file to read
1 MiB of it cost a second. Segments are hashed on every core, a reader checks only the
segments it reads (when it reads them, so bytes changed after opening are caught too),
and the list sits in the header, where a reader finds it without reading the payload.

The rules (docs/format.md, "segment digests"):

* a segment is ``N`` sealed STREAM chunks, ``N`` a power of two from 1 to
  :data:`SEGMENT_CHUNKS` (32: 2 MiB of plaintext): segment ``k`` is chunks
  ``Nk .. Nk+N-1``, and segment 0 also starts with the payload's 16-byte nonce, so every
  payload byte is in exactly one segment; the last segment holds what is left;
* a writer takes the smallest ``N`` that lists at most :data:`MAX_LISTED` segments (32
  past 2 GiB): a read then hashes little more than it decrypts (a column of a Parquet
  file, its footer), and the list stays small enough to read with every header;
* a segment's digest is the SHA-256 of its bytes;
* the stanza ``-> dataset-vault.org/segments 1 N`` (format version 1, chunks per
  segment) holds the digests, 32 bytes each, in order, as its body;
* the root, which the record signs, is the SHA-256 of a line naming the format,
  ``"dataset-vault.org/segments/v1\\n"`` for ``N`` = 32 (the only size of the first
  files) and ``"dataset-vault.org/segments/v1 N\\n"`` otherwise, followed by that body
  (hex, lowercase): the signature covers the segment size too.

A payload's segment count follows from its length, so a list of the wrong length (a
file cut short or grown) is refused before any segment is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault_app.core.digests import sha256, sha256_hex
from vault_app.core.errors import MalformedError, SignatureError
from vault_app.core.header import Stanza
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE, last_chunks
from vault_app.core.value_class import value_class

SEGMENT_CHUNKS = 32  # the most chunks in a segment (and the only size of the first files)
SIZES = (1, 2, 4, 8, 16, 32)  # chunks per segment a file may use
SEGMENT = SEGMENT_CHUNKS * ENC_CHUNK  # sealed bytes in a full segment of 32 chunks
MAX_LISTED = 1024  # a writer's choice of size keeps the list to this many, up to 32 chunks
STANZA = "dataset-vault.org/segments"
VERSION = "1"
DIGEST = 32
_ROOT_DOMAIN = b"dataset-vault.org/segments/v1"


@value_class
class Listed:
    """A file's segment digests, as its header lists them, and their segment size."""

    chunks: int  # sealed chunks per segment
    digests: tuple[bytes, ...]


def chunks_for(size: int) -> int:
    """The segment size (in chunks) a writer uses for ``size`` plaintext bytes."""
    chunks = max(1, -(-size // CHUNK))
    return next((n for n in SIZES if -(-chunks // n) <= MAX_LISTED), SEGMENT_CHUNKS)


def count_for_plaintext(size: int, chunks: int = SEGMENT_CHUNKS) -> int:
    """Segments of the payload of ``size`` plaintext bytes (known before encrypting)."""
    return -(-max(1, -(-size // CHUNK)) // chunks)


def count_for_payload(payload_size: int, chunks: int = SEGMENT_CHUNKS) -> int:
    """Segments of a payload of ``payload_size`` bytes, nonce included (0: impossible)."""
    sealed, error = last_chunks(max(payload_size - NONCE_SIZE, 0), 0)
    if error is not None:
        return 0
    return -(-sealed // chunks)


def span(index: int, payload_size: int, chunks: int = SEGMENT_CHUNKS) -> tuple[int, int]:
    """Where segment ``index`` lies in the payload (offset from the nonce, length)."""
    size = chunks * ENC_CHUNK
    start = 0 if index == 0 else NONCE_SIZE + index * size
    end = min(NONCE_SIZE + (index + 1) * size, payload_size)
    return start, end - start


def digest(sealed: memoryview, nonce: bytes = b"") -> bytes:
    """A segment's digest: SHA-256 of ``nonce`` (segment 0's, when the caller holds it
    apart from the chunks) followed by ``sealed``."""
    hasher = sha256(nonce)
    hasher.update(sealed)  # apart from the nonce: no copy, and the GIL is released
    return hasher.digest()


def root(digests: Sequence[bytes], chunks: int = SEGMENT_CHUNKS) -> str:
    """The root the record signs, over the segment size and the list as the stanza
    holds it."""
    line = _ROOT_DOMAIN + (b"" if chunks == SEGMENT_CHUNKS else b" %d" % chunks) + b"\n"
    return sha256_hex(line + b"".join(digests))


def encode_stanza(digests: Sequence[bytes], chunks: int = SEGMENT_CHUNKS) -> Stanza:
    return Stanza(STANZA, (VERSION, str(chunks)), b"".join(digests))


def placeholder_stanza(plaintext_size: int, chunks: int = SEGMENT_CHUNKS) -> Stanza:
    """A stanza of the final length, for the header written before the payload."""
    return encode_stanza([bytes(DIGEST)] * count_for_plaintext(plaintext_size, chunks),
                         chunks)


def decode_stanza(stanza: Stanza) -> Listed:
    """The digests a segments stanza lists (MalformedError for anything else)."""
    sizes = {str(n): n for n in SIZES}
    if (stanza.type != STANZA or len(stanza.args) != 2 or stanza.args[0] != VERSION
            or stanza.args[1] not in sizes):
        raise MalformedError("the file's segment digests have an unknown format")
    body = stanza.body
    if not body or len(body) % DIGEST:
        raise MalformedError("the file's segment digests are malformed")
    return Listed(sizes[stanza.args[1]],
                  tuple(body[i : i + DIGEST] for i in range(0, len(body), DIGEST)))


def check_list(listed: Listed, signed_root: str, payload_size: int) -> None:
    """The list is the signed one and fits the payload's length (SignatureError if not)."""
    if root(listed.digests, listed.chunks) != signed_root.lower():  # public: no timing
        raise SignatureError("the segment digests are not the signed ones")
    if len(listed.digests) != count_for_payload(payload_size, listed.chunks):
        raise SignatureError("the content's length is not the signed length "
                             "(cut short, or grown)")


def check(index: int, computed: bytes, digests: Sequence[bytes],
          chunks: int = SEGMENT_CHUNKS) -> None:
    """Segment ``index`` as read is the signed content (SignatureError if not)."""
    if index >= len(digests) or computed != digests[index]:  # both public (the header)
        raise SignatureError(f"the content is not the signed content (segment {index}, "
                             f"from plaintext byte {index * chunks * CHUNK}, was "
                             "changed)")
