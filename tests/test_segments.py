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


def seal(plain: bytes, cores: int | None = None) -> tuple[bytes, list[bytes]]:
    out, found = io.BytesIO(), []
    encrypt_payload(KEY, io.BytesIO(plain), out, nonce=NONCE, segment_digests=found,
                    cores=cores)
    return out.getvalue(), found


def by_the_rules(payload: bytes) -> list[bytes]:
    """The segments as docs/format.md defines them: 32 sealed chunks each, the nonce in
    the first."""
    cut = [0, *range(NONCE_SIZE + segments.SEGMENT, len(payload), segments.SEGMENT)]
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
    assert decrypt_payload(KEY, io.BytesIO(payload), back, segment_digests=found) == size
    assert back.getvalue() == plain


def test_the_list_rides_in_a_stanza_of_known_length() -> None:
    payload, found = seal(data(3 * SEG + 1))
    stanza = segments.encode_stanza(found)
    assert stanza.encode().startswith(b"-> dataset-vault.org/segments 1 32\n")
    assert segments.decode_stanza(stanza) == found
    placeholder = segments.placeholder_stanza(3 * SEG + 1)
    assert len(placeholder.encode()) == len(stanza.encode())
    assert segments.root(found) == hashlib.sha256(
        b"dataset-vault.org/segments/v1\n" + b"".join(found)).hexdigest()
    segments.check_list(found, segments.root(found), len(payload))
    with pytest.raises(SignatureError, match="not the signed ones"):
        segments.check_list(found[::-1], segments.root(found), len(payload))
    with pytest.raises(SignatureError, match="length"):
        segments.check_list(found, segments.root(found), len(payload) + segments.SEGMENT)
    for bad in (Stanza(segments.STANZA, ("2", "32"), bytes(32)),
                Stanza(segments.STANZA, ("1", "16"), bytes(32)),
                Stanza(segments.STANZA, ("1", "32"), bytes(33)),
                Stanza(segments.STANZA, ("1", "32"), b"")):
        with pytest.raises(MalformedError):
            segments.decode_stanza(bad)


def resealed_chunk(payload: bytes, index: int) -> bytes:
    """Chunk ``index`` replaced by other content sealed under the same key (what someone
    who can read the file could do): it authenticates, so only the digest can tell."""
    aead = ChaCha20Poly1305(payload_key(KEY, NONCE))
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
        decrypt_payload(KEY, io.BytesIO(forged), out, segment_digests=found, cores=cores)
    assert out.getvalue() == plain[:SEG]  # segment 0 only: nothing of segment 1


def test_a_list_of_another_length_is_refused() -> None:
    plain = data(2 * SEG + 1)
    payload, found = seal(plain)
    with pytest.raises(SignatureError):
        decrypt_payload(KEY, io.BytesIO(payload), io.BytesIO(), segment_digests=found[:-1])
    with pytest.raises(SignatureError, match="length"):
        decrypt_payload(KEY, io.BytesIO(payload), io.BytesIO(),
                        segment_digests=[*found, bytes(32)])


def locked_file(path: Path, plain: bytes) -> tuple[bytes, list[bytes]]:
    """An age file of ``plain``: its file key and its segment digests."""
    file_key = age.new_file_key()
    header = age.seal_header(file_key, age.wrap_stanzas(file_key,
                                                        [generate_identity().recipient()]))
    found: list[bytes] = []
    with open(path, "wb") as out:
        out.write(header.encode())
        encrypt_payload(file_key, io.BytesIO(plain), out, segment_digests=found)
    return file_key, found


def test_random_access_checks_each_segment_it_reads(tmp_path: Path) -> None:
    plain = data(4 * SEG + 77)
    path = tmp_path / "f.age"
    file_key, found = locked_file(path, plain)
    with AgeReader(path, file_key=file_key, segment_digests=found) as reader:
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
        AgeReader(path, file_key=file_key, segment_digests=found[:-1])


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
    copy is accepted only if its segments hash to the digests taken as it was sealed."""
    plain = data(2 * SEG + 3)
    with unsized.sealed_apart(KEY, io.BytesIO(plain), progress=None,
                              cancel=None) as (spilled, size, digests):
        assert size == len(plain) and len(digests) == 3
        sealed = spilled.read()
        spilled.seek(0)
        with open(tmp_path / "out", "w+b") as out:
            out.write(b"header")
            assert unsized.copy_checked(spilled, out, 6, digests)
    with open(tmp_path / "bad", "w+b") as out:  # one byte different on its way to disk
        changed = bytearray(sealed)
        changed[SEG + 100] ^= 1
        out.write(b"header")
        assert not unsized.copy_checked(io.BytesIO(bytes(changed)), out, 6, digests)
