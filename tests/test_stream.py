"""The STREAM payload: byte-exact against a plain reference loop, sizes, progress,
cancellation, short reads, flat memory, and damage at block boundaries."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core import age
from vault_app.core.errors import Cancelled, PayloadError, TruncatedError
from vault_app.core.keys import generate_identity
from vault_app.core.pipeline import BLOCK_CHUNKS, decrypt_payload, encrypt_payload
from vault_app.core.progress import CancelToken
from vault_app.core.stream import (
    CHUNK,
    ENC_CHUNK,
    NONCE_SIZE,
    TAG,
    chunk_nonce,
    payload_key,
    plaintext_size,
)

KEY = bytes(range(16))
NONCE = bytes(range(100, 116))
BLOCK = BLOCK_CHUNKS * CHUNK


def reference_seal(file_key: bytes, nonce: bytes, plain: bytes) -> bytes:
    """The age spec, written as plainly as possible (one chunk at a time)."""
    aead = ChaCha20Poly1305(payload_key(file_key, nonce))
    pieces = [plain[i : i + CHUNK] for i in range(0, len(plain), CHUNK)] or [b""]
    out = [nonce]
    for counter, piece in enumerate(pieces):
        last = b"\x01" if counter == len(pieces) - 1 else b"\x00"
        out.append(aead.encrypt(counter.to_bytes(11, "big") + last, piece, None))
    return b"".join(out)


def pattern(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


def seal(plain: bytes) -> bytes:
    out = io.BytesIO()
    encrypt_payload(KEY, io.BytesIO(plain), out, nonce=NONCE)
    return out.getvalue()


SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, BLOCK - CHUNK, BLOCK - 1, BLOCK,
         BLOCK + 1, BLOCK + CHUNK, 2 * BLOCK, 2 * BLOCK + 17]


@pytest.mark.parametrize("size", SIZES)
def test_matches_reference(size: int) -> None:
    plain = pattern(size)
    sealed = seal(plain)
    assert sealed == reference_seal(KEY, NONCE, plain)
    assert plaintext_size(len(sealed)) == size
    out = io.BytesIO()
    assert decrypt_payload(KEY, io.BytesIO(sealed), out) == size
    assert out.getvalue() == plain


def test_impossible_payload_sizes() -> None:
    for size in (0, NONCE_SIZE, NONCE_SIZE + TAG - 1, NONCE_SIZE + ENC_CHUNK + TAG,
                 NONCE_SIZE + ENC_CHUNK + 3):
        with pytest.raises(TruncatedError):
            plaintext_size(size)
    assert plaintext_size(NONCE_SIZE + TAG) == 0


def test_nonce_counter_limit() -> None:
    assert chunk_nonce(0, True) == bytes(11) + b"\x01"
    assert chunk_nonce((1 << 88) - 1, False) == b"\xff" * 11 + b"\x00"
    with pytest.raises(PayloadError):
        chunk_nonce(1 << 88, False)


class Trickle(io.RawIOBase):
    """A source that returns at most a few bytes per read (like a slow pipe)."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


class ReadOnly:
    """A source with only ``read`` (no ``readinto``)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._src = io.BytesIO(data)
        self._step = step

    def read(self, size: int = -1) -> bytes:
        return self._src.read(min(size, self._step) if size >= 0 else self._step)


@pytest.mark.parametrize("step", [1000, CHUNK + 7, 3 * CHUNK])
def test_short_reads(step: int) -> None:
    plain = pattern(BLOCK + 2 * CHUNK + 5)
    out = io.BytesIO()
    encrypt_payload(KEY, Trickle(plain, step), out, nonce=NONCE)  # type: ignore[arg-type]
    assert out.getvalue() == reference_seal(KEY, NONCE, plain)
    back = io.BytesIO()
    decrypt_payload(KEY, ReadOnly(out.getvalue(), step), back)  # type: ignore[arg-type]
    assert back.getvalue() == plain


def test_progress_reports_every_block_in_order() -> None:
    plain = pattern(2 * BLOCK + 100)
    seen: list[int] = []
    sealed = io.BytesIO()
    encrypt_payload(KEY, io.BytesIO(plain), sealed, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(plain) and len(seen) >= 3
    seen.clear()
    sealed.seek(0)
    decrypt_payload(KEY, sealed, io.BytesIO(), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(plain) and len(seen) >= 3


@pytest.mark.parametrize("direction", ["encrypt", "decrypt"])
def test_cancel_between_blocks(direction: str) -> None:
    plain = pattern(4 * BLOCK)
    token = CancelToken()
    src = io.BytesIO(plain if direction == "encrypt" else seal(plain))
    out = io.BytesIO()
    run = encrypt_payload if direction == "encrypt" else decrypt_payload

    def progress(done: int) -> None:
        if done >= BLOCK:
            token.cancel()

    with pytest.raises(Cancelled):
        run(KEY, src, out, progress=progress, cancel=token)
    assert len(out.getvalue()) < len(plain)


@pytest.mark.parametrize("armor", [False, True])
@pytest.mark.parametrize("direction", ["encrypt", "decrypt"])
def test_cancelled_file_leaves_nothing(tmp_path: Path, direction: str, armor: bool) -> None:
    identity = generate_identity()
    plain_path = tmp_path / "big.bin"
    plain_path.write_bytes(pattern(3 * BLOCK))
    enc_path = tmp_path / "big.bin.age"
    if direction == "decrypt":
        age.encrypt_file(plain_path, enc_path, [identity.recipient()], armor=armor)
    before = sorted(os.listdir(tmp_path))
    token = CancelToken()
    with pytest.raises(Cancelled):
        if direction == "encrypt":
            age.encrypt_file(plain_path, tmp_path / "out.age", [identity.recipient()],
                             armor=armor, progress=lambda _: token.cancel(), cancel=token)
        else:
            age.decrypt_file(enc_path, tmp_path / "out.bin", [identity],
                             progress=lambda _: token.cancel(), cancel=token)
    assert sorted(os.listdir(tmp_path)) == before


def damaged_at_chunk(sealed: bytes, index: int) -> bytes:
    data = bytearray(sealed)
    data[NONCE_SIZE + index * ENC_CHUNK + 3] ^= 1
    return bytes(data)


CHUNKS = 2 * BLOCK_CHUNKS + 3  # three blocks' worth, so every boundary is crossed


@pytest.fixture(scope="module")
def big() -> tuple[bytes, bytes]:
    plain = pattern(CHUNKS * CHUNK - 10)
    return plain, seal(plain)


@pytest.mark.parametrize("index", [0, 1, BLOCK_CHUNKS // 2 - 1, BLOCK_CHUNKS // 2,
                                   BLOCK_CHUNKS - 2, BLOCK_CHUNKS - 1, BLOCK_CHUNKS,
                                   BLOCK_CHUNKS + 1, 2 * BLOCK_CHUNKS - 2,
                                   2 * BLOCK_CHUNKS - 1, CHUNKS - 2, CHUNKS - 1])
def test_damage_releases_exactly_the_chunks_before(big: tuple[bytes, bytes], index: int) -> None:
    plain, sealed = big
    out = io.BytesIO()
    with pytest.raises(PayloadError) as info:
        decrypt_payload(KEY, io.BytesIO(damaged_at_chunk(sealed, index)), out)
    assert type(info.value) is PayloadError
    assert f"chunk {index} " in str(info.value)
    assert out.getvalue() == plain[: index * CHUNK]


@pytest.mark.parametrize("chunks", [1, BLOCK_CHUNKS - 1, BLOCK_CHUNKS, BLOCK_CHUNKS + 1,
                                    2 * BLOCK_CHUNKS, CHUNKS - 1])
def test_truncation_at_chunk_boundaries_of_a_big_file(big: tuple[bytes, bytes],
                                                      chunks: int) -> None:
    plain, sealed = big
    out = io.BytesIO()
    with pytest.raises(TruncatedError):
        decrypt_payload(KEY, io.BytesIO(sealed[: NONCE_SIZE + chunks * ENC_CHUNK]), out)
    assert out.getvalue() == plain[: chunks * CHUNK]


def test_authenticate_only_without_an_output(big: tuple[bytes, bytes]) -> None:
    """``dst=None`` checks every chunk (what the lock's read-back uses) and keeps nothing."""
    plain, sealed = big
    assert decrypt_payload(KEY, io.BytesIO(sealed), None) == len(plain)
    with pytest.raises(PayloadError, match=f"chunk {BLOCK_CHUNKS + 1} "):
        decrypt_payload(KEY, io.BytesIO(damaged_at_chunk(sealed, BLOCK_CHUNKS + 1)), None)
    with pytest.raises(TruncatedError):
        decrypt_payload(KEY, io.BytesIO(sealed[: NONCE_SIZE + BLOCK_CHUNKS * ENC_CHUNK]), None)


@pytest.mark.parametrize("cores", [1, 2, 3, 16])
def test_the_same_stream_on_any_number_of_cores(big: tuple[bytes, bytes], cores: int) -> None:
    """Workers finish blocks in any order; what comes out is the same, in order."""
    plain, sealed = big
    out = io.BytesIO()
    encrypt_payload(KEY, io.BytesIO(plain), out, nonce=NONCE, cores=cores)
    assert out.getvalue() == sealed
    back = io.BytesIO()
    assert decrypt_payload(KEY, io.BytesIO(sealed), back, cores=cores) == len(plain)
    assert back.getvalue() == plain
    bad = BLOCK_CHUNKS + 3
    cut = io.BytesIO()
    with pytest.raises(PayloadError, match=f"chunk {bad} "):
        decrypt_payload(KEY, io.BytesIO(damaged_at_chunk(sealed, bad)), cut, cores=cores)
    assert cut.getvalue() == plain[: bad * CHUNK]


def test_the_ring_stays_small_on_many_cores() -> None:
    """Memory does not grow with the core count: a few blocks in flight, in and out."""
    from vault_app.core.ring import layout

    for cores in (1, 2, 4, 16, 256):
        shape = layout(cores)
        assert 1 <= shape.workers <= cores
        assert shape.slots * 2 * BLOCK_CHUNKS * ENC_CHUNK <= 21 << 20


def test_final_flag_in_the_middle_is_caught(big: tuple[bytes, bytes]) -> None:
    """A stream cut after a block and re-sealed with a final chunk there, then continued:
    data after a final chunk is an error, even deep in a big file."""
    plain, _ = big
    head = reference_seal(KEY, NONCE, plain[: BLOCK_CHUNKS * CHUNK])  # ends in a final chunk
    tail_aead = ChaCha20Poly1305(payload_key(KEY, NONCE))
    extra = tail_aead.encrypt(chunk_nonce(BLOCK_CHUNKS, True), b"more", None)
    out = io.BytesIO()
    with pytest.raises(PayloadError) as info:
        decrypt_payload(KEY, io.BytesIO(head + extra), out)
    assert "follows the final chunk" in str(info.value)
    assert out.getvalue() == plain[: BLOCK_CHUNKS * CHUNK]


class Zeros(io.RawIOBase):
    """``size`` zero bytes, generated on demand (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


class Sink(io.RawIOBase):
    """Counts bytes and keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        n = len(data)
        self.count += n
        return n


# A few fixed block buffers, whatever the size; the data sizes below are well above it.
PEAK_LIMIT = 8 * BLOCK_CHUNKS * ENC_CHUNK


def test_memory_stays_flat() -> None:
    """Far more data than the limit through encrypt, with a peak of a few fixed buffers."""
    size = 4 * PEAK_LIMIT
    tracemalloc.start()
    try:
        sealed_sink = Sink()
        encrypt_payload(KEY, Zeros(size), sealed_sink, nonce=NONCE)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plaintext_size(sealed_sink.count) == size
    assert peak < PEAK_LIMIT, peak


def test_memory_stays_flat_armored_decrypt() -> None:
    identity = generate_identity()
    size = 3 * PEAK_LIMIT // 2
    sealed = io.BytesIO()
    age.encrypt(Zeros(size), sealed, [identity.recipient()], armor=True)  # type: ignore[arg-type]
    sealed.seek(0)
    tracemalloc.start()
    try:
        sink = Sink()
        age.decrypt(sealed, sink, [identity])  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.count == size
    assert peak < PEAK_LIMIT, peak
