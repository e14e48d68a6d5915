"""Tamper tests: every kind of damage fails with the right error class and no output file.

The sample is 3 full chunks plus 100 bytes, encrypted to our X25519 key (first stanza)
and to someone else's (second stanza), so a change to the other stanza can only be
caught by the header MAC.

Coverage choice (each payload failure costs a few ms): every header byte with three
different bit flips; for the payload, every byte of the nonce, of the first and last
32 bytes of the first chunk (nonce-adjacent ciphertext and the tag) and of the whole
last chunk, and a stride of 331 bytes over the rest of the first chunk's ciphertext.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vault_app.core import age
from vault_app.core.errors import (
    HeaderMACError,
    MalformedError,
    NoIdentityMatchError,
    PayloadError,
    TruncatedError,
    UnsupportedVersionError,
    VaultError,
)
from vault_app.core.header import VERSION_LINE
from vault_app.core.keys import generate_identity
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE, TAG

PLAIN = bytes(range(256)) * (3 * CHUNK // 256) + b"tail" * 25  # 3 chunks + 100 bytes
FULL_PLAIN = bytes(reversed(range(256))) * (3 * CHUNK // 256)  # exactly 3 full chunks


@dataclass(frozen=True)
class Sample:
    identity: X25519Identity
    plain: bytes
    data: bytes
    header_len: int  # up to and including the MAC line's newline
    stanza_ends: tuple[int, int]  # end offsets of our stanza and the other stanza

    @property
    def payload(self) -> int:
        """Offset of the first chunk (after the nonce)."""
        return self.header_len + NONCE_SIZE

    def chunk(self, index: int) -> tuple[int, int]:
        start = self.payload + index * ENC_CHUNK
        return start, min(start + ENC_CHUNK, len(self.data))


def make_sample(plain: bytes) -> Sample:
    ours = generate_identity()
    other = generate_identity()
    assert isinstance(ours, X25519Identity)
    buf = io.BytesIO()
    header = age.encrypt(io.BytesIO(plain), buf, [ours.recipient(), other.recipient()])
    data = buf.getvalue()
    header_len = len(header.encode())
    first = len(VERSION_LINE) + len(header.stanzas[0].encode())
    second = first + len(header.stanzas[1].encode())
    return Sample(ours, plain, data, header_len, (first, second))


@pytest.fixture(scope="module")
def sample() -> Sample:
    return make_sample(PLAIN)


@pytest.fixture(scope="module")
def full_sample() -> Sample:
    return make_sample(FULL_PLAIN)


def fail_file(folder: Path, sample: Sample, data: bytes) -> VaultError:
    """decrypt_file must fail and leave the folder as it was (no output, no temp file)."""
    src = folder / "in.age"
    src.write_bytes(data)
    out = folder / "out.csv"
    with pytest.raises(VaultError) as info:
        age.decrypt_file(src, out, [sample.identity])
    assert sorted(os.listdir(folder)) == ["in.age"]
    return info.value


def fail_stream(sample: Sample, data: bytes) -> tuple[VaultError, bytes]:
    """Decrypt to a stream; return the error and the plaintext released before it."""
    out = io.BytesIO()
    with pytest.raises(VaultError) as info:
        age.decrypt(io.BytesIO(data), out, [sample.identity])
    return info.value, out.getvalue()


def flipped(data: bytes, index: int, mask: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= mask
    return bytes(changed)


def test_sample_decrypts(sample: Sample, full_sample: Sample, tmp_path: Path) -> None:
    for case in (sample, full_sample):
        out = tmp_path / f"{len(case.plain)}.bin"
        src = tmp_path / f"{len(case.plain)}.age"
        src.write_bytes(case.data)
        age.decrypt_file(src, out, [case.identity])
        assert out.read_bytes() == case.plain
    assert len(sample.data) == sample.payload + 3 * ENC_CHUNK + 100 + TAG


def header_allowed(sample: Sample, index: int) -> tuple[type[VaultError], ...]:
    """The error classes a change at header byte ``index`` may produce."""
    if index < len(VERSION_LINE):
        return (MalformedError, UnsupportedVersionError)
    if index < sample.stanza_ends[0]:  # our stanza: unusable, or unreadable
        return (MalformedError, NoIdentityMatchError)
    if index < sample.stanza_ends[1]:  # the other stanza: only the MAC can tell
        return (MalformedError, HeaderMACError)
    return (MalformedError, HeaderMACError)  # the MAC line


@pytest.mark.parametrize(("mask", "must_see"), [
    (0x01, {MalformedError, NoIdentityMatchError, HeaderMACError}),
    (0x20, {MalformedError, NoIdentityMatchError, HeaderMACError}),
    (0x80, {MalformedError}),  # never ASCII: the grammar alone rejects it
])
def test_every_header_byte(sample: Sample, tmp_path: Path, mask: int,
                           must_see: set[type[VaultError]]) -> None:
    seen: set[type[VaultError]] = set()
    for index in range(sample.header_len):
        exc = fail_file(tmp_path, sample, flipped(sample.data, index, mask))
        allowed = header_allowed(sample, index)
        assert type(exc) in allowed, (index, mask, exc)
        seen.add(type(exc))
        # To a stream, nothing at all may be released for a bad header.
        exc2, released = fail_stream(sample, flipped(sample.data, index, mask))
        assert type(exc2) is type(exc) and released == b""
    assert must_see <= seen


def payload_offsets(sample: Sample) -> list[int]:
    first_start, first_end = sample.chunk(0)
    last_start, last_end = sample.chunk(3)
    offsets = set(range(sample.header_len, sample.payload))  # the nonce
    offsets |= set(range(first_start, first_start + 32))
    offsets |= set(range(first_end - 32, first_end))  # end of ciphertext + tag
    offsets |= set(range(first_start + 32, first_end - 32, 331))
    offsets |= set(range(last_start, last_end))
    return sorted(offsets)


def test_every_payload_byte(sample: Sample, tmp_path: Path) -> None:
    offsets = payload_offsets(sample)
    assert len(offsets) > 300
    last_start = sample.chunk(3)[0]
    for number, index in enumerate(offsets):
        mask = (0x01, 0x10, 0x80)[number % 3]
        exc = fail_file(tmp_path, sample, flipped(sample.data, index, mask))
        assert type(exc) is PayloadError, (index, exc)
    # To a stream, only the chunks before the damaged one are released.
    exc, released = fail_stream(sample, flipped(sample.data, last_start + 7, 0x04))
    assert type(exc) is PayloadError and released == sample.plain[: 3 * CHUNK]
    exc, released = fail_stream(sample, flipped(sample.data, sample.payload + 5, 0x04))
    assert type(exc) is PayloadError and released == b""


def test_truncated_inside_header(sample: Sample, tmp_path: Path) -> None:
    for length in range(sample.payload):
        exc = fail_file(tmp_path, sample, sample.data[:length])
        assert type(exc) is MalformedError, (length, exc)


def test_truncated_at_every_chunk_boundary(sample: Sample, tmp_path: Path) -> None:
    boundaries = [sample.payload + k * ENC_CHUNK for k in range(4)]
    for boundary in boundaries:
        exc = fail_file(tmp_path, sample, sample.data[:boundary])
        assert type(exc) is TruncatedError, (boundary, exc)
        exc = fail_file(tmp_path, sample, sample.data[: boundary + 1])
        assert type(exc) is TruncatedError, (boundary + 1, exc)
        if boundary > sample.payload:
            exc = fail_file(tmp_path, sample, sample.data[: boundary - 1])
            assert type(exc) is PayloadError, (boundary - 1, exc)
    for cut in (1, TAG - 1, TAG, TAG + 1, 99):
        exc = fail_file(tmp_path, sample, sample.data[:-cut])
        assert isinstance(exc, PayloadError), (cut, exc)


def test_truncated_full_final_chunk(full_sample: Sample, tmp_path: Path) -> None:
    """Dropping the full-size final chunk leaves a stream with no final chunk at all."""
    exc = fail_file(tmp_path, full_sample, full_sample.data[:-ENC_CHUNK])
    assert type(exc) is TruncatedError
    exc, released = fail_stream(full_sample, full_sample.data[:-ENC_CHUNK])
    assert type(exc) is TruncatedError and released == full_sample.plain[: 2 * CHUNK]


def chunks(sample: Sample) -> list[bytes]:
    count = -(-(len(sample.data) - sample.payload) // ENC_CHUNK)
    return [sample.data[slice(*sample.chunk(i))] for i in range(count)]


def rebuilt(sample: Sample, parts: list[bytes]) -> bytes:
    return sample.data[: sample.payload] + b"".join(parts)


@pytest.mark.parametrize(("order", "released_chunks"), [
    ([1, 0, 2, 3], 0),
    ([0, 2, 1, 3], 1),
    ([0, 1, 3, 2], 2),  # the short final chunk moved before a full one
    ([0, 2, 3], 1),  # a chunk dropped
    ([1, 2, 3], 0),  # the first chunk dropped
    ([0, 1, 2, 2, 3], 3),  # a chunk repeated
])
def test_reordered_chunks(sample: Sample, tmp_path: Path, order: list[int],
                          released_chunks: int) -> None:
    parts = chunks(sample)
    data = rebuilt(sample, [parts[i] for i in order])
    exc = fail_file(tmp_path, sample, data)
    assert type(exc) is PayloadError
    exc, released = fail_stream(sample, data)
    assert type(exc) is PayloadError
    assert released == sample.plain[: released_chunks * CHUNK]


@pytest.mark.parametrize("extra", [b"\x00", bytes(TAG - 1), bytes(TAG), os.urandom(TAG + 1),
                                   os.urandom(ENC_CHUNK), os.urandom(3 * ENC_CHUNK + 5)])
def test_trailing_garbage(sample: Sample, full_sample: Sample, tmp_path: Path,
                          extra: bytes) -> None:
    for case in (sample, full_sample):
        exc = fail_file(tmp_path, case, case.data + extra)
        assert type(exc) is PayloadError, (len(case.plain), len(extra), exc)


def test_duplicated_final_chunk(sample: Sample, full_sample: Sample, tmp_path: Path) -> None:
    for case in (sample, full_sample):
        final = chunks(case)[-1]
        exc = fail_file(tmp_path, case, case.data + final)
        assert type(exc) is PayloadError, (len(case.plain), exc)
    # A full final chunk is authentic: age releases it, then reports the extra data.
    exc, released = fail_stream(full_sample, full_sample.data + chunks(full_sample)[-1])
    assert type(exc) is PayloadError and released == full_sample.plain


def test_final_chunk_from_another_file(sample: Sample, tmp_path: Path) -> None:
    """A chunk spliced in from another file (other key) never verifies."""
    other = make_sample(PLAIN)
    data = rebuilt(sample, [*chunks(sample)[:3], chunks(other)[3]])
    assert type(fail_file(tmp_path, sample, data)) is PayloadError


def test_wrong_identity_and_no_identity(sample: Sample, tmp_path: Path) -> None:
    stranger = generate_identity()
    src = tmp_path / "in.age"
    src.write_bytes(sample.data)
    with pytest.raises(NoIdentityMatchError):
        age.decrypt_file(src, tmp_path / "out", [stranger])
    with pytest.raises(NoIdentityMatchError):
        age.decrypt_file(src, tmp_path / "out", [])
    assert sorted(os.listdir(tmp_path)) == ["in.age"]


def test_armored_tamper_fails_cleanly(tmp_path: Path) -> None:
    """A changed character in armored text fails with one of our errors, never a crash."""
    ours = generate_identity()
    buf = io.BytesIO()
    age.encrypt(io.BytesIO(b"x" * 1000), buf, [ours.recipient()], armor=True)
    text = buf.getvalue()
    src = tmp_path / "in.age"
    for index in range(0, len(text), 7):
        for replacement in (b"A", b"=", b" ", b"\n"):
            if text[index : index + 1] == replacement:
                continue
            src.write_bytes(text[:index] + replacement + text[index + 1 :])
            with pytest.raises(VaultError):
                age.decrypt_file(src, tmp_path / "out", [ours])
            assert sorted(os.listdir(tmp_path)) == ["in.age"]


def test_line_endings_changed_to_crlf(sample: Sample, tmp_path: Path) -> None:
    """A file copied in text mode gets a message saying so, not 'unsupported version'."""
    mangled = sample.data[: sample.header_len].replace(b"\n", b"\r\n") + sample.data[
        sample.header_len :]
    exc = fail_file(tmp_path, sample, mangled)
    assert type(exc) is MalformedError and "CRLF" in str(exc)
    assert exc.hint and "binary" in exc.hint
    exc = fail_file(tmp_path, sample, b"age-encryption.org/v2\n" + sample.data[22:])
    assert type(exc) is UnsupportedVersionError
