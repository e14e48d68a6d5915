"""AgeReader: random access by chunk, authenticated reads only, the end checked as final."""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pyrage
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vector_support import OUTCOME_ERRORS, VECTOR_NAMES, load_vector, outcome_of, vector_identities

from vault_app.core.age import encrypt_file, seal_payload, unwrap_file_key
from vault_app.core.api import open_locked
from vault_app.core.errors import (
    FileOperationError,
    HeaderMACError,
    NoIdentityMatchError,
    PayloadError,
    TruncatedError,
)
from vault_app.core.header import read_header
from vault_app.core.reader import AgeReader
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.stream import CHUNK, ENC_CHUNK, TAG

IDENTITY = X25519Identity.generate()
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]


def lock(folder: Path, data: bytes, name: str = "data.bin", *, armor: bool = False) -> Path:
    """Encrypt ``data`` with the project's own recipe; the plaintext is removed again."""
    plain = folder / name
    plain.write_bytes(data)
    locked = folder / f"{name}.age"
    encrypt_file(plain, locked, [IDENTITY.recipient()], armor=armor)
    plain.unlink()
    return locked


def payload_start(locked: Path) -> int:
    """Offset of chunk 0 (header + 16-byte nonce), from the file's own header."""
    with locked.open("rb") as f:
        header = read_header(f)
    return len(header.encode()) + 16


def edit(locked: Path, change: Callable[[bytearray], None]) -> None:
    raw = bytearray(locked.read_bytes())
    change(raw)
    locked.write_bytes(bytes(raw))


@pytest.fixture
def reader_for(tmp_path: Path) -> Iterator[Callable[[bytes], AgeReader]]:
    readers: list[AgeReader] = []

    def make(data: bytes) -> AgeReader:
        reader = AgeReader(lock(tmp_path, data, f"d{len(readers)}"), identities=[IDENTITY])
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


@pytest.mark.parametrize("size", SIZES)
def test_reads_back_every_size(reader_for: Callable[[bytes], AgeReader], size: int) -> None:
    data = random.Random(size).randbytes(size)
    reader = reader_for(data)
    assert reader.read() == data
    assert reader.tell() == size
    assert reader.read() == b""
    assert reader.size == size
    reader.seek(0)
    pieces = []
    while piece := reader.read(1000):
        pieces.append(piece)
    assert b"".join(pieces) == data


@pytest.mark.parametrize("size", SIZES)
def test_buffered_readline_and_small_reads(tmp_path: Path, size: int) -> None:
    rng = random.Random(size)
    data = bytes(rng.choice(b"abc,\n") for _ in range(size))
    with open_locked(lock(tmp_path, data), identities=[IDENTITY]) as f:
        assert f.readlines() == io.BytesIO(data).readlines()
        f.seek(size // 2)
        assert f.read(7) == data[size // 2 : size // 2 + 7]
        assert f.seekable() and f.readable() and not f.writable()
        assert f.mode == "rb" and f.name.endswith(".age")
    assert f.closed


MODEL = random.Random(7).randbytes(3 * CHUNK + 5)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lock(tmp_path_factory.mktemp("model"), MODEL)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(-1, 2 * CHUNK + 10)),
        st.tuples(st.just("seek"), st.integers(-CHUNK, len(MODEL) + CHUNK),
                  st.sampled_from([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END])),
        st.tuples(st.just("readinto"), st.integers(0, CHUNK + 3)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops=OPS, buffered=st.booleans())
def test_random_seeks_and_reads_match_a_bytes_model(model_file: Path, ops: list[tuple[object, ...]],
                                                    buffered: bool) -> None:
    model = io.BytesIO(MODEL)
    raw = AgeReader(model_file, identities=[IDENTITY])
    real: io.RawIOBase | io.BufferedReader = io.BufferedReader(raw, CHUNK) if buffered else raw
    with real:
        for op in ops:
            if op[0] == "read":
                assert real.read(op[1]) == model.read(op[1])  # type: ignore[arg-type]
            elif op[0] == "readinto":
                mine, theirs = bytearray(op[1]), bytearray(op[1])  # type: ignore[call-overload]
                assert real.readinto(mine) == model.readinto(theirs)
                assert mine == theirs
            else:
                _, offset, whence = op
                base = {io.SEEK_SET: 0, io.SEEK_CUR: model.tell(), io.SEEK_END: len(MODEL)}
                if base[whence] + offset < 0:  # type: ignore[index, operator]
                    with pytest.raises(OSError, match=r"negative seek|Invalid argument"):
                        real.seek(offset, whence)  # type: ignore[arg-type]
                    continue
                expected = model.seek(offset, whence)  # type: ignore[arg-type]
                assert real.seek(offset, whence) == expected  # type: ignore[arg-type]
            assert real.tell() == model.tell()


def test_a_read_decrypts_only_the_chunks_it_covers(tmp_path: Path) -> None:
    data = os.urandom(64 * CHUNK + 123)
    reader = AgeReader(lock(tmp_path, data), identities=[IDENTITY])
    assert reader.chunks_decrypted == 0  # opening reads the header only
    reader.seek(40 * CHUNK + 10)
    assert reader.read(100) == data[40 * CHUNK + 10 : 40 * CHUNK + 110]
    assert reader.chunks_decrypted == 1
    reader.seek(20 * CHUNK - 50)
    assert reader.read(100) == data[20 * CHUNK - 50 : 20 * CHUNK + 50]
    assert reader.chunks_decrypted == 3
    before = reader.chunks_decrypted
    start = 7 * CHUNK + 999
    reader.seek(start)
    assert reader.read(1 << 20) == data[start : start + (1 << 20)]
    assert reader.chunks_decrypted - before == 17  # 1 MiB unaligned spans 17 chunks
    before = reader.chunks_decrypted
    reader.seek(30 * CHUNK)
    assert reader.read(1 << 20) == data[30 * CHUNK : 46 * CHUNK]
    assert reader.chunks_decrypted - before == 16
    reader.close()


def test_small_reads_all_over_cycle_the_chunk_cache(tmp_path: Path) -> None:
    data = os.urandom(10 * CHUNK + 5)
    reader = AgeReader(lock(tmp_path, data), identities=[IDENTITY])
    order = [10, 0, 3, 10, 1, 2, 4, 5, 10, 9, 8, 7, 6, 0, 10]  # the short last chunk moves around
    for index in order:
        for offset in (0, 3, CHUNK - 2):
            at = index * CHUNK + offset
            reader.seek(at)
            assert reader.read(4) == data[at : at + 4]
    reader.close()


def test_seek_end_verifies_the_final_chunk_first(tmp_path: Path) -> None:
    data = os.urandom(10 * CHUNK + 3)
    reader = AgeReader(lock(tmp_path, data), identities=[IDENTITY])
    assert reader.seek(-3, io.SEEK_END) == len(data) - 3
    assert reader.chunks_decrypted == 1
    assert reader.read() == data[-3:]
    assert reader.seek(0, io.SEEK_END) == len(data)
    assert reader.read() == b""


def test_reading_past_the_end(tmp_path: Path) -> None:
    data = os.urandom(CHUNK + 7)
    reader = AgeReader(lock(tmp_path, data), identities=[IDENTITY])
    assert reader.seek(len(data) + 1000) == len(data) + 1000
    assert reader.read(10) == b""
    assert reader.readinto(bytearray(10)) == 0
    assert reader.chunks_decrypted == 1  # EOF reported only after the final chunk verified
    reader.seek(len(data) - 2)
    assert reader.read(10) == data[-2:]


@pytest.mark.parametrize("bad", [0, 2, 5])
def test_a_tampered_chunk_fails_where_it_is_and_not_before(tmp_path: Path, bad: int) -> None:
    data = os.urandom(5 * CHUNK + 100)
    locked = lock(tmp_path, data)
    start = payload_start(locked)

    def flip(raw: bytearray) -> None:
        raw[start + bad * ENC_CHUNK + 33] ^= 0x01

    edit(locked, flip)
    reader = AgeReader(locked, identities=[IDENTITY])  # header intact: opening succeeds
    for good in range(6):
        if good == bad:
            continue
        reader.seek(good * CHUNK)
        assert reader.read(CHUNK) == data[good * CHUNK : (good + 1) * CHUNK]
    reader.seek(bad * CHUNK + 10)
    with pytest.raises(PayloadError, match=f"chunk {bad} "):
        reader.read(5)
    if bad:
        # a read spanning a good and the bad chunk: an error, and no unverified byte left
        buf = bytearray(b"\xaa" * (2 * CHUNK))
        reader.seek((bad - 1) * CHUNK)
        with pytest.raises(PayloadError):
            reader.readinto(buf)
        bad_len = min(CHUNK, len(data) - bad * CHUNK)
        assert buf[CHUNK : CHUNK + bad_len] == bytes(bad_len)
    with pytest.raises(PayloadError):
        reader.seek(0)
        reader.read()


def test_truncated_at_a_chunk_boundary(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 5)
    locked = lock(tmp_path, data)
    edit(locked, lambda raw: raw.__delitem__(slice(len(raw) - (5 + TAG), None)))
    reader = AgeReader(locked, identities=[IDENTITY])
    assert reader.read(2 * CHUNK) == data[: 2 * CHUNK]  # what is there still reads
    with pytest.raises(TruncatedError, match="without a final chunk"):
        reader.read(CHUNK)
    with pytest.raises(TruncatedError):
        reader.seek(0, io.SEEK_END)
    reader.seek(10 * CHUNK)
    with pytest.raises(TruncatedError):  # no EOF before the final chunk verified
        reader.read(1)


def test_truncated_inside_the_last_chunk(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 5)
    locked = lock(tmp_path, data)
    edit(locked, lambda raw: raw.__delitem__(slice(len(raw) - 3, None)))
    reader = AgeReader(locked, identities=[IDENTITY])
    assert reader.read(CHUNK) == data[:CHUNK]
    with pytest.raises(PayloadError, match="chunk 3 "):
        reader.seek(-1, io.SEEK_END)


def test_impossible_length_is_refused(tmp_path: Path) -> None:
    locked = lock(tmp_path, os.urandom(CHUNK + 1))
    edit(locked, lambda raw: raw.__delitem__(slice(len(raw) - 5, None)))
    with pytest.raises(TruncatedError, match="impossible length"):
        AgeReader(locked, identities=[IDENTITY])


def test_data_after_the_final_chunk(tmp_path: Path) -> None:
    data = os.urandom(CHUNK)
    locked = lock(tmp_path, data)
    edit(locked, lambda raw: raw.extend(os.urandom(TAG + 1)))
    reader = AgeReader(locked, identities=[IDENTITY])
    with pytest.raises(PayloadError, match="data follows the final chunk"):
        reader.read(10)


def test_wrong_identity_and_tampered_header(tmp_path: Path) -> None:
    locked = lock(tmp_path, b"secret rows\n")
    with pytest.raises(NoIdentityMatchError):
        AgeReader(locked, identities=[X25519Identity.generate()])

    def edit_mac(raw: bytearray) -> None:
        at = raw.index(b"\n--- ") + 10  # a middle character of the MAC: still canonical
        raw[at] = ord("A") if raw[at] != ord("A") else ord("B")

    edit(locked, edit_mac)
    with pytest.raises(HeaderMACError):
        AgeReader(locked, identities=[IDENTITY])


def test_known_file_key_still_checks_the_header_mac(tmp_path: Path) -> None:
    data = os.urandom(CHUNK + 9)
    locked = lock(tmp_path, data)
    with locked.open("rb") as f:
        key = unwrap_file_key(read_header(f), [IDENTITY])
    with AgeReader(locked, file_key=key) as reader:
        assert reader.read() == data
    with pytest.raises(HeaderMACError):
        AgeReader(locked, file_key=bytes(16))
    with pytest.raises(ValueError, match="exactly one"):
        AgeReader(locked, identities=[IDENTITY], file_key=key)


def test_expected_payload_digest(tmp_path: Path) -> None:
    """A signed digest catches a payload re-encrypted by another holder of the file key."""
    data = os.urandom(3 * CHUNK)
    locked = lock(tmp_path, data)
    start = payload_start(locked) - 16
    digest = hashlib.sha256(locked.read_bytes()[start:]).hexdigest()
    with AgeReader(locked, identities=[IDENTITY], payload_sha256=digest) as reader:
        assert reader.chunks_decrypted == 0  # hashing decrypts nothing
        assert reader.read() == data
    with locked.open("rb") as f:
        header = read_header(f)
    key = unwrap_file_key(header, [IDENTITY])
    forged = io.BytesIO()
    forged.write(header.encode())
    seal_payload(key, io.BytesIO(b"poisoned" * 100), forged)
    locked.write_bytes(forged.getvalue())
    with AgeReader(locked, identities=[IDENTITY]) as reader:  # chunk tags alone accept it
        assert reader.read(8) == b"poisoned"
    with pytest.raises(PayloadError, match="not the content that was signed"):
        AgeReader(locked, identities=[IDENTITY], payload_sha256=digest)


def test_open_file_object_and_armored_input(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 17)
    with lock(tmp_path, data).open("rb") as f, AgeReader(f, identities=[IDENTITY]) as reader:
        reader.seek(CHUNK - 1)
        assert reader.read(3) == data[CHUNK - 1 : CHUNK + 2]
    armored = lock(tmp_path, data, "armored", armor=True)
    assert armored.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    with AgeReader(armored, identities=[IDENTITY]) as reader:
        reader.seek(-20, io.SEEK_END)
        assert reader.read() == data[-20:]


def test_closed_missing_and_unseekable(tmp_path: Path) -> None:
    reader = AgeReader(lock(tmp_path, b"x"), identities=[IDENTITY])
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read(1)
    with pytest.raises(FileOperationError, match="no such file"):
        AgeReader(tmp_path / "absent.age", identities=[IDENTITY])
    with pytest.raises(FileOperationError, match="folder"):
        AgeReader(tmp_path, identities=[IDENTITY])
    read_end, write_end = os.pipe()
    os.close(write_end)
    with open(read_end, "rb") as pipe, pytest.raises(io.UnsupportedOperation):
        AgeReader(pipe, identities=[IDENTITY])


@pytest.mark.interop
def test_reads_files_written_by_age_and_rage(tmp_path: Path, age_cli: str) -> None:
    data = os.urandom(4 * CHUNK + 321)
    plain = tmp_path / "plain"
    plain.write_bytes(data)
    by_age = tmp_path / "by_age.age"
    subprocess.run([age_cli, "-r", str(IDENTITY.recipient()), "-o", str(by_age), str(plain)],
                   check=True)
    by_rage = tmp_path / "by_rage.age"
    by_rage.write_bytes(pyrage.encrypt(data, [pyrage.x25519.Recipient.from_str(
        str(IDENTITY.recipient()))]))
    for locked in (by_age, by_rage):
        with AgeReader(locked, identities=[IDENTITY]) as reader:
            reader.seek(3 * CHUNK - 5)
            assert reader.read(10) == data[3 * CHUNK - 5 : 3 * CHUNK + 5]
            assert reader.chunks_decrypted == 2
            reader.seek(0)
            assert reader.read() == data


def test_vectors_are_there() -> None:
    assert len(VECTOR_NAMES) == 143


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_conformance_vectors_through_the_random_access_reader(name: str) -> None:
    """Every official vector gives the same verdict read at random as streamed."""
    meta, body = load_vector(name)
    identities = vector_identities(meta)
    outcome, data = "success", b""
    try:
        with AgeReader(io.BytesIO(body), identities=identities,
                       armored=meta.get("armored") == ["yes"]) as reader:
            reader.seek(0, io.SEEK_END)  # the final chunk first, then everything in order
            reader.seek(0)
            data = reader.read()
    except OUTCOME_ERRORS as exc:
        outcome = outcome_of(exc)
    assert outcome == meta["expect"][0], meta.get("comment")
    if outcome == "success":
        assert hashlib.sha256(data).hexdigest() == meta["payload"][0]
