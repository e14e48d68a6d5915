"""Segment digests: what each segment covers, the list and its root, and the pipeline
hashing and checking them on its workers."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core import age, segments, unsized
from vault_app.core.errors import MalformedError, SignatureError
from vault_app.core.header import Stanza
from vault_app.core.keys import generate_identity
from vault_app.core.pipeline import decrypt_payload, encrypt_payload
from vault_app.core.reader import AgeReader
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE, chunk_nonce, payload_key

KEY = bytes(range(16))
NONCE = bytes(range(100, 116))
SEG = segments.SEGMENT_CHUNKS * CHUNK  # plaintext in a full segment
SIZES = [0, 1, CHUNK, SEG - 1, SEG, SEG + 1, 3 * SEG + 5 * CHUNK + 7]


def data(size: int) -> bytes:
    return hashlib.shake_256(size.to_bytes(8, "big")).digest(size)


def seal(plain: bytes, cores: int | None = None,
         chunks: int = segments.SEGMENT_CHUNKS) -> tuple[bytes, list[bytes]]:
    out, found = io.BytesIO(), []
    encrypt_payload(KEY, io.BytesIO(plain), out, nonce=NONCE, segment_digests=found,
                    segment_chunks=chunks, cores=cores)
    return out.getvalue(), found


def listed(found: list[bytes], chunks: int = segments.SEGMENT_CHUNKS) -> segments.Listed:
    return segments.Listed(chunks, tuple(found))


def by_the_rules(payload: bytes, chunks: int = segments.SEGMENT_CHUNKS) -> list[bytes]:
    """The segments as docs/format.md defines them: ``chunks`` sealed chunks each, the
    nonce in the first."""
    size = chunks * ENC_CHUNK
    cut = [0, *range(NONCE_SIZE + size, len(payload), size)]
    return [hashlib.sha256(payload[a:b]).digest()
            for a, b in zip(cut, [*cut[1:], len(payload)], strict=True)]


@pytest.mark.parametrize("size", SIZES)
def test_digests_follow_the_rules_on_any_number_of_cores(size: int) -> None:
    plain = data(size)
    payload, found = seal(plain)
    assert found == by_the_rules(payload)
    assert len(found) == segments.count_for_plaintext(size)
    assert len(found) == segments.count_for_payload(len(payload))
    for cores in (1, 3):
        assert seal(plain, cores) == (payload, found)
    for index in range(len(found)):
        start, length = segments.span(index, len(payload))
        assert hashlib.sha256(payload[start : start + length]).digest() == found[index]
    back = io.BytesIO()
    assert decrypt_payload(KEY, io.BytesIO(payload), back, segment_digests=listed(found)) == size
    assert back.getvalue() == plain


def test_the_list_rides_in_a_stanza_of_known_length() -> None:
    payload, found = seal(data(3 * SEG + 1))
    stanza = segments.encode_stanza(found)
    assert stanza.encode().startswith(b"-> dataset-vault.org/segments 1 32\n")
    assert segments.decode_stanza(stanza) == listed(found)
    placeholder = segments.placeholder_stanza(3 * SEG + 1)
    assert len(placeholder.encode()) == len(stanza.encode())
    assert segments.root(found) == hashlib.sha256(
        b"dataset-vault.org/segments/v1\n" + b"".join(found)).hexdigest()
    segments.check_list(listed(found), segments.root(found), len(payload))
    with pytest.raises(SignatureError, match="not the signed ones"):
        segments.check_list(listed(found[::-1]), segments.root(found), len(payload))
    with pytest.raises(SignatureError, match="length"):
        segments.check_list(listed(found), segments.root(found),
                            len(payload) + segments.SEGMENT)
    for bad in (Stanza(segments.STANZA, ("2", "32"), bytes(32)),
                Stanza(segments.STANZA, ("1", "3"), bytes(32)),
                Stanza(segments.STANZA, ("1", "64"), bytes(32)),
                Stanza(segments.STANZA, ("1",), bytes(32)),
                Stanza(segments.STANZA, ("1", "32"), bytes(33)),
                Stanza(segments.STANZA, ("1", "32"), b"")):
        with pytest.raises(MalformedError):
            segments.decode_stanza(bad)


def resealed_chunk(payload: bytes, index: int, key: bytes = KEY) -> bytes:
    """Chunk ``index`` replaced by other content sealed under the same key (what someone
    who can read the file could do): it authenticates, so only the digest can tell."""
    aead = ChaCha20Poly1305(payload_key(key, payload[:NONCE_SIZE]))
    at = NONCE_SIZE + index * ENC_CHUNK
    forged = aead.encrypt(chunk_nonce(index, False), b"x" * CHUNK, None)
    return payload[:at] + forged + payload[at + ENC_CHUNK :]


@pytest.mark.parametrize("cores", [1, 2])
def test_rewritten_content_is_refused_before_its_segment_is_released(cores: int) -> None:
    plain = data(3 * SEG + 3)
    payload, found = seal(plain)
    forged = resealed_chunk(payload, segments.SEGMENT_CHUNKS + 5)  # in segment 1
    assert decrypt_payload(KEY, io.BytesIO(forged), None) == len(plain)  # AEAD: fine
    out = io.BytesIO()
    with pytest.raises(SignatureError, match="segment 1"):
        decrypt_payload(KEY, io.BytesIO(forged), out, segment_digests=listed(found),
                        cores=cores)
    assert out.getvalue() == plain[:SEG]  # segment 0 only: nothing of segment 1


def test_a_list_of_another_length_is_refused() -> None:
    plain = data(2 * SEG + 1)
    payload, found = seal(plain)
    with pytest.raises(SignatureError):
        decrypt_payload(KEY, io.BytesIO(payload), io.BytesIO(),
                        segment_digests=listed(found[:-1]))
    with pytest.raises(SignatureError, match="length"):
        decrypt_payload(KEY, io.BytesIO(payload), io.BytesIO(),
                        segment_digests=listed([*found, bytes(32)]))


def locked_file(path: Path, plain: bytes,
                chunks: int = segments.SEGMENT_CHUNKS) -> tuple[bytes, list[bytes]]:
    """An age file of ``plain``: its file key and its segment digests (of ``chunks``)."""
    file_key = age.new_file_key()
    header = age.seal_header(file_key, age.wrap_stanzas(file_key,
                                                        [generate_identity().recipient()]))
    found: list[bytes] = []
    with open(path, "wb") as out:
        out.write(header.encode())
        encrypt_payload(file_key, io.BytesIO(plain), out, segment_digests=found,
                        segment_chunks=chunks)
    return file_key, found


def test_random_access_checks_each_segment_it_reads(tmp_path: Path) -> None:
    plain = data(4 * SEG + 77)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    with AgeReader(path, file_key=file_key, segment_digests=listed(found)) as reader:
        for offset in (0, SEG - 10, 3 * SEG + 5, len(plain) - 3, SEG // 2):
            reader.seek(offset)
            assert reader.read(1 << 20) == plain[offset : offset + (1 << 20)]
        # someone who can read the file rewrites a chunk of segment 2 after it was opened
        raw = path.read_bytes()
        payload_at = len(raw) - (len(plain) + NONCE_SIZE
                                 + 16 * -(-len(plain) // CHUNK))
        payload = raw[payload_at:]
        aead = ChaCha20Poly1305(payload_key(file_key, payload[:NONCE_SIZE]))
        index = 2 * segments.SEGMENT_CHUNKS + 1
        at = payload_at + NONCE_SIZE + index * ENC_CHUNK
        forged = aead.encrypt(chunk_nonce(index, False), b"y" * CHUNK, None)
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(forged)
        reader.seek(2 * SEG)
        with pytest.raises(SignatureError, match="segment 2"):
            reader.read(100)
        reader.seek(SEG + 5)  # the others still read
        assert reader.read(10) == plain[SEG + 5 : SEG + 15]
    with pytest.raises(SignatureError, match="length"):
        AgeReader(path, file_key=file_key, segment_digests=listed(found[:-1]))


@pytest.mark.parametrize("cores", [1, 4])
def test_verify_hashes_every_segment_of_the_file(tmp_path: Path, cores: int) -> None:
    from vault_app.core.segment_check import hash_segments

    plain = data(5 * SEG + 9)
    path = tmp_path / "f.age"
    _file_key, found = locked_file(path, plain)
    size = path.stat().st_size
    payload_size = len(plain) + NONCE_SIZE + 16 * -(-len(plain) // CHUNK)
    with path.open("rb") as src:
        assert hash_segments(src, size - payload_size, payload_size, cores) == found
        # cut short: the last segment cannot be read whole, and matches nothing
        with open(path, "r+b") as f:
            f.truncate(size - 10)
        got = hash_segments(src, size - payload_size, payload_size, cores)
    assert got[:-1] == found[:-1] and got[-1] == b""


def test_a_stream_of_unknown_size_is_sealed_apart_and_its_copy_checked(tmp_path: Path) -> None:
    """``vault lock -`` and ``vault://`` writes: the payload is sealed into a temporary
    file (the segment count is known only at the end), copied after the header, and the
    copy is accepted only if its segments hash to the digests taken as it was sealed; the
    header's digests, of the size the length calls for, are taken of the copy."""
    plain = data(2 * SEG + 3)
    chunks = segments.chunks_for(len(plain))
    assert chunks == 1
    with unsized.sealed_apart(KEY, io.BytesIO(plain), progress=None,
                              cancel=None) as (spilled, size, digests):
        assert size == len(plain) and len(digests) == 3  # 32 chunks each, as sealed
        sealed = spilled.read()
        spilled.seek(0)
        with open(tmp_path / "out", "w+b") as out:
            out.write(b"header")
            ok, listed_ = unsized.copy_checked(spilled, out, 6, digests, chunks)
    assert ok and listed_ == by_the_rules(sealed, chunks)
    assert len(listed_) == segments.count_for_plaintext(len(plain), chunks)
    with open(tmp_path / "same", "w+b") as out:  # 32 chunks: the sealed list itself
        out.write(b"header")
        assert unsized.copy_checked(io.BytesIO(sealed), out, 6, digests, 32) == (True, digests)
    for size_ in (1, 32):  # one byte different on its way to disk
        with open(tmp_path / "bad", "w+b") as out:
            changed = bytearray(sealed)
            changed[SEG + 100] ^= 1
            out.write(b"header")
            assert not unsized.copy_checked(io.BytesIO(bytes(changed)), out, 6, digests,
                                            size_)[0]


@pytest.mark.parametrize("chunks", [1, 4, 16])
@pytest.mark.parametrize("size", [0, 1, CHUNK, 5 * CHUNK + 3, SEG + 7 * CHUNK + 1])
def test_smaller_segments_follow_the_same_rules(size: int, chunks: int,
                                                tmp_path: Path) -> None:
    plain = data(size)
    payload, found = seal(plain, chunks=chunks)
    assert found == by_the_rules(payload, chunks)
    assert len(found) == segments.count_for_plaintext(size, chunks)
    assert len(found) == segments.count_for_payload(len(payload), chunks)
    assert seal(plain, 1, chunks) == (payload, found)
    back = io.BytesIO()
    assert decrypt_payload(KEY, io.BytesIO(payload), back,
                           segment_digests=listed(found, chunks)) == size
    assert back.getvalue() == plain
    other = 32 if chunks < 32 else 1
    if segments.count_for_plaintext(size, other) != len(found):  # else the same one segment
        with pytest.raises(SignatureError):  # read as segments of another size
            decrypt_payload(KEY, io.BytesIO(payload), io.BytesIO(),
                            segment_digests=listed(found, other))
    if size > 4 * CHUNK:  # a chunk rewritten under the key: its own segment is named
        forged = resealed_chunk(payload, 4)
        with pytest.raises(SignatureError, match=f"segment {4 // chunks},"):
            decrypt_payload(KEY, io.BytesIO(forged), io.BytesIO(),
                            segment_digests=listed(found, chunks))


def test_a_reader_checks_segments_of_the_listed_size(tmp_path: Path) -> None:
    plain = data(SEG + 9 * CHUNK + 5)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain, chunks=1)
    with AgeReader(path, file_key=file_key, segment_digests=listed(found, 1)) as reader:
        for offset, length in ((0, 10), (CHUNK - 3, 9), (SEG - 100, CHUNK + 200),
                               (len(plain) - 7, 100)):
            out_buf = bytearray(length)
            n = reader.read_at(offset, out_buf)
            assert bytes(out_buf[:n]) == plain[offset : offset + length]
    with pytest.raises(SignatureError, match="length"):
        AgeReader(path, file_key=file_key, segment_digests=listed(found, 2))


def test_the_signed_root_names_the_segment_size() -> None:
    body = [bytes(range(32)), bytes(32)]
    assert segments.root(body, 32) == hashlib.sha256(
        b"dataset-vault.org/segments/v1\n" + b"".join(body)).hexdigest()  # the first files'
    assert segments.root(body, 1) == hashlib.sha256(
        b"dataset-vault.org/segments/v1 1\n" + b"".join(body)).hexdigest()
    assert len({segments.root(body, n) for n in segments.SIZES}) == len(segments.SIZES)
    stanza = segments.encode_stanza(body, 4)
    assert stanza.encode().startswith(b"-> dataset-vault.org/segments 1 4\n")
    assert segments.decode_stanza(stanza) == listed(body, 4)


def test_a_writer_lists_at_most_1024_segments_up_to_32_chunks_each() -> None:
    assert segments.chunks_for(0) == 1
    assert segments.chunks_for(35_000_000) == 1  # the analysts' Parquet file: 535 chunks
    assert segments.chunks_for(1024 * CHUNK) == 1
    assert segments.chunks_for(1024 * CHUNK + 1) == 2
    assert segments.chunks_for(1 << 30) == 16
    assert segments.chunks_for(2 << 30) == 32
    assert segments.chunks_for(5 << 30) == 32  # past 2 GiB the list grows instead
    for size in (0, 1, 10**6, 10**8, 1 << 30, 2 << 30):
        assert segments.count_for_plaintext(size, segments.chunks_for(size)) <= 1024
