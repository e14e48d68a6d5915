"""The STREAM's optional digest: the hash of exactly the payload bytes written (encrypt)
or read (decrypt), nonce included, computed in the same pass on the hash thread."""

from __future__ import annotations

import hashlib
import io
import threading

import pytest

from vault_app.core.errors import PayloadError
from vault_app.core.pipeline import BLOCK_CHUNKS, decrypt_payload, encrypt_payload
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE

KEY = bytes(range(16))
NONCE = bytes(range(100, 116))
BLOCK = BLOCK_CHUNKS * CHUNK
# Around the block edges and longer than the ring of input/output buffers (3 blocks).
SIZES = [0, 1, CHUNK, BLOCK - CHUNK, BLOCK, BLOCK + 1, 5 * BLOCK + 3 * CHUNK + 5]


def data(size: int) -> bytes:
    return hashlib.shake_256(size.to_bytes(8, "big")).digest(size)


class Trickle(io.RawIOBase):
    """Short reads of uneven sizes, so block boundaries fall anywhere."""

    def __init__(self, payload: bytes, step: int) -> None:
        self._src = io.BytesIO(payload)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._src.readinto(memoryview(buffer)[: self._step])


@pytest.mark.parametrize("size", SIZES)
def test_digest_is_of_the_payload_written_and_read(size: int) -> None:
    plain = data(size)
    sealed, digest = io.BytesIO(), hashlib.sha256()
    encrypt_payload(KEY, io.BytesIO(plain), sealed, nonce=NONCE, digest=digest)
    payload = sealed.getvalue()
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    back, read_digest = io.BytesIO(), hashlib.sha256()
    assert decrypt_payload(KEY, Trickle(payload, 3 * CHUNK + 11), back,  # type: ignore[arg-type]
                           digest=read_digest) == size
    assert back.getvalue() == plain
    assert read_digest.hexdigest() == digest.hexdigest()


def test_a_bad_chunk_still_joins_the_hash_thread() -> None:
    payload = io.BytesIO()
    encrypt_payload(KEY, io.BytesIO(data(2 * BLOCK)), payload, nonce=NONCE)
    damaged = bytearray(payload.getvalue())
    damaged[NONCE_SIZE + 40 * ENC_CHUNK + 5] ^= 1  # in the second block
    before = threading.active_count()
    digest = hashlib.sha256()
    with pytest.raises(PayloadError):
        decrypt_payload(KEY, io.BytesIO(bytes(damaged)), io.BytesIO(), digest=digest)
    assert threading.active_count() == before  # the hash thread was joined on the error
    # What was read before the error is hashed; it is never the intact payload's digest.
    assert digest.hexdigest() != hashlib.sha256(payload.getvalue()).hexdigest()
