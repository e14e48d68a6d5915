"""ASCII armor: the exact bytes written, what strict reading accepts and refuses,
linear time on big files, and no tail written for a failed encryption."""

from __future__ import annotations

import base64
import gc
import io
import time

import pytest
from support import armored

from vault_app.core import age
from vault_app.core.armor import BEGIN, END, ArmoredReader, ArmoredWriter, is_armored
from vault_app.core.errors import ArmorError, Cancelled
from vault_app.core.keys import generate_identity
from vault_app.core.progress import CancelToken


def reference(data: bytes) -> bytes:
    """RFC 7468 strict encoding, written independently."""
    text = base64.b64encode(data)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return BEGIN + b"\n" + b"".join(line + b"\n" for line in lines) + END + b"\n"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 1000, 4800])
def test_writer_matches_reference_and_reads_back(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    text = armored(data)
    assert text == reference(data)
    assert ArmoredReader(io.BytesIO(text)).read() == data


def test_writer_in_odd_pieces() -> None:
    data = bytes(range(256)) * 20
    out = io.BytesIO()
    writer = ArmoredWriter(out)
    for i in range(0, len(data), 37):
        writer.write(memoryview(data)[i : i + 37])
    writer.close()
    writer.close()  # closing twice writes nothing more
    assert out.getvalue() == reference(data)


def read(text: bytes) -> bytes:
    return ArmoredReader(io.BytesIO(text)).read()


DATA = bytes(range(200))
GOOD = reference(DATA)


@pytest.mark.parametrize("text", [
    GOOD.replace(b"\n", b"\r\n"),  # CRLF line endings
    b"\n \t\n" + GOOD,  # whitespace before
    GOOD + b"\n\n  \t\n",  # whitespace after
    GOOD[:-1],  # no newline after the end line
])
def test_reader_accepts(text: bytes) -> None:
    assert read(text) == DATA


LINES = GOOD.split(b"\n")


@pytest.mark.parametrize(("name", "text"), [
    ("garbage before", b"x" + GOOD),
    ("garbage after", GOOD + b"x"),
    ("too much whitespace after", GOOD + b" " * 2000),
    ("too much whitespace before", b" " * 2000 + GOOD),
    ("no end line", b"\n".join(LINES[:-2]) + b"\n"),
    ("empty line", b"\n".join([*LINES[:2], b"", *LINES[2:]])),
    ("short line in the middle", b"\n".join([LINES[0], LINES[1][:60], *LINES[2:]])),
    ("long line", b"\n".join([LINES[0], LINES[1] + b"AAAA", *LINES[2:]])),
    ("lowercase label", GOOD.replace(b"AGE ENCRYPTED FILE", b"age encrypted file")),
    ("other label", GOOD.replace(b"AGE ENCRYPTED FILE", b"PGP MESSAGE")),
    ("a header", b"\n".join([LINES[0], b"Version: 1", *LINES[1:]])),
    ("invalid character", GOOD.replace(LINES[1][:4], b"AA*A", 1)),
    ("non-canonical padding", reference(b"\x01").replace(b"AQ==", b"AR==")),
    ("missing padding", reference(b"\x01").replace(b"AQ==", b"AQ")),
    ("whitespace inside a line",
     GOOD.replace(LINES[1][:4], LINES[1][:2] + b" " + LINES[1][3:4], 1)),
    ("empty input", b""),
    ("only the begin line", BEGIN + b"\n"),
])
def test_reader_refuses(name: str, text: bytes) -> None:
    with pytest.raises(ArmorError):
        read(text)


def test_is_armored_peeks_without_consuming() -> None:
    src = io.BufferedReader(io.BytesIO(b"  \n" + GOOD))  # type: ignore[arg-type]
    assert is_armored(src)
    assert src.read() == b"  \n" + GOOD
    assert not is_armored(io.BufferedReader(io.BytesIO(b"age-encryption.org/v1\n")))  # type: ignore[arg-type]


def test_big_armored_file_is_linear_time() -> None:
    """Regression: the decoded buffer was rebuilt per line (8 MiB took minutes)."""
    identity = generate_identity()
    plain = bytes(range(256)) * (8 << 12)  # 8 MiB
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(plain), sealed, [identity.recipient()], armor=True)
    out = io.BytesIO()
    started = time.perf_counter()
    age.decrypt(io.BytesIO(sealed.getvalue()), out, [identity])
    elapsed = time.perf_counter() - started
    assert out.getvalue() == plain
    assert elapsed < 10, f"8 MiB of armor took {elapsed:.1f} s"


def test_reader_hands_out_bounded_pieces() -> None:
    """A huge read request is served in bounded pieces (flat memory), all in order."""
    data = bytes(range(256)) * 2000
    reader = ArmoredReader(io.BytesIO(reference(data)))
    buffer = bytearray(len(data) + 100)
    got = bytearray()
    while n := reader.readinto(buffer):
        assert n <= 1 << 16
        got += buffer[:n]
    assert got == data


def test_failed_armored_encrypt_writes_no_tail() -> None:
    """A cancelled armored encryption must not end with the armor end line (it would
    look complete), and garbage collection must not write it later either."""
    identity = generate_identity()
    token = CancelToken()
    out = io.BytesIO()
    with pytest.raises(Cancelled):
        age.encrypt(io.BytesIO(bytes(8 << 20)), out, [identity.recipient()], armor=True,
                    progress=lambda _: token.cancel(), cancel=token)
    gc.collect()
    assert out.getvalue().startswith(BEGIN)
    assert END not in out.getvalue()


def test_armored_file_decrypts_from_any_leading_whitespace() -> None:
    identity = generate_identity()
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(b"hello"), sealed, [identity.recipient()], armor=True)
    out = io.BytesIO()
    age.decrypt(io.BytesIO(b"\r\n\t " + sealed.getvalue()), out, [identity])
    assert out.getvalue() == b"hello"


class SlowStart(io.RawIOBase):
    """Delivers its first read in a tiny piece, like a pipe from a slow producer."""

    def __init__(self, data: bytes, first: int) -> None:
        super().__init__()
        self._data = data
        self._first = first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._first or len(self._data), len(self._data))
        self._first = 0
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.mark.parametrize("first", [1, 3, 20])
def test_armor_detected_when_input_arrives_in_pieces(first: int) -> None:
    """Regression: detection looked for all of ``-----`` in whatever one read gave."""
    identity = generate_identity()
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(b"piecemeal"), sealed, [identity.recipient()], armor=True)
    out = io.BytesIO()
    age.decrypt(SlowStart(b"\n" + sealed.getvalue(), first), out,  # type: ignore[arg-type]
                [identity])
    assert out.getvalue() == b"piecemeal"
