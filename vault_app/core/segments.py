"""Per-segment content digests: the payload's ciphertext in fixed segments, each hashed
with SHA-256, listed in a header stanza and bound by one root that the file's signed
record names.

Why not one SHA-256 of the whole payload: that can only be computed front to back on
one core, and checked only by reading all of the file, so opening a 1 GiB file to read
1 MiB of it cost a second. Segments are hashed on every core, a reader checks only the
segments it reads (when it reads them, so bytes changed after opening are caught too),
and the list sits in the header, where a reader finds it without reading the payload.

The rules (docs/format.md, "segment digests"):

* a segment is :data:`SEGMENT_CHUNKS` sealed STREAM chunks (2 MiB of plaintext): segment
  ``k`` is chunks ``32k .. 32k+31``, and segment 0 also starts with the payload's
  16-byte nonce, so every payload byte is in exactly one segment; the last segment
  holds what is left;
* a segment's digest is the SHA-256 of its bytes;
* the stanza ``-> dataset-vault.org/segments 1 32`` (format version 1, chunks per
  segment) holds the digests, 32 bytes each, in order, as its body;
* the root, which the record signs, is the SHA-256 of ``"dataset-vault.org/segments/v1\\n"``
  followed by that body (hex, lowercase).

A payload's segment count follows from its length, so a list of the wrong length (a
file cut short or grown) is refused before any segment is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault_app.core.digests import sha256, sha256_hex
from vault_app.core.errors import MalformedError, SignatureError
from vault_app.core.header import Stanza
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE, last_chunks

SEGMENT_CHUNKS = 32
SEGMENT = SEGMENT_CHUNKS * ENC_CHUNK  # sealed bytes in a full segment (without the nonce)
STANZA = "dataset-vault.org/segments"
VERSION = "1"
DIGEST = 32
_ROOT_DOMAIN = b"dataset-vault.org/segments/v1\n"


def count_for_plaintext(size: int) -> int:
    """Segments of the payload of ``size`` plaintext bytes (known before encrypting)."""
    chunks = max(1, -(-size // CHUNK))
    return -(-chunks // SEGMENT_CHUNKS)


def count_for_payload(payload_size: int) -> int:
    """Segments of a payload of ``payload_size`` bytes, nonce included (0: impossible)."""
    chunks, error = last_chunks(max(payload_size - NONCE_SIZE, 0), 0)
    if error is not None:
        return 0
    return -(-chunks // SEGMENT_CHUNKS)


def span(index: int, payload_size: int) -> tuple[int, int]:
    """Where segment ``index`` lies in the payload (offset from the nonce, length)."""
    start = 0 if index == 0 else NONCE_SIZE + index * SEGMENT
    end = min(NONCE_SIZE + (index + 1) * SEGMENT, payload_size)
    return start, end - start


def digest(sealed: memoryview, nonce: bytes = b"") -> bytes:
    """A segment's digest: SHA-256 of ``nonce`` (segment 0's, when the caller holds it
    apart from the chunks) followed by ``sealed``."""
    hasher = sha256(nonce)
    hasher.update(sealed)  # apart from the nonce: no copy, and the GIL is released
    return hasher.digest()


def root(digests: Sequence[bytes]) -> str:
    """The root the record signs, over the list as the stanza holds it."""
    return sha256_hex(_ROOT_DOMAIN + b"".join(digests))


def encode_stanza(digests: Sequence[bytes]) -> Stanza:
    return Stanza(STANZA, (VERSION, str(SEGMENT_CHUNKS)), b"".join(digests))


def placeholder_stanza(plaintext_size: int) -> Stanza:
    """A stanza of the final length, for the header written before the payload."""
    return encode_stanza([bytes(DIGEST)] * count_for_plaintext(plaintext_size))


def decode_stanza(stanza: Stanza) -> list[bytes]:
    """The digests a segments stanza lists (MalformedError for anything else)."""
    if stanza.type != STANZA or stanza.args != (VERSION, str(SEGMENT_CHUNKS)):
        raise MalformedError("the file's segment digests have an unknown format")
    body = stanza.body
    if not body or len(body) % DIGEST:
        raise MalformedError("the file's segment digests are malformed")
    return [body[i : i + DIGEST] for i in range(0, len(body), DIGEST)]


def check_list(digests: Sequence[bytes], signed_root: str, payload_size: int) -> None:
    """The list is the signed one and fits the payload's length (SignatureError if not)."""
    if root(digests) != signed_root.lower():  # public values: no timing to hide
        raise SignatureError("the segment digests are not the signed ones")
    if len(digests) != count_for_payload(payload_size):
        raise SignatureError("the content's length is not the signed length "
                             "(cut short, or grown)")


def check(index: int, computed: bytes, digests: Sequence[bytes]) -> None:
    """Segment ``index`` as read is the signed content (SignatureError if not)."""
    if index >= len(digests) or computed != digests[index]:  # both public (the header)
        raise SignatureError(f"the content is not the signed content (segment {index}, "
                             f"from plaintext byte {index * SEGMENT_CHUNKS * CHUNK}, was "
                             "changed)")
