"""The armor reader's bulk path (whole 64-column lines decoded in C) against its
line-by-line path: for any text, valid or damaged, both give the same bytes or both
raise the same error, whatever the read sizes and however a pipe delivers the text."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import armored

from vault_app.core.armor import ArmoredReader
from vault_app.core.errors import ArmorError

PROFILE = settings(deadline=None, max_examples=300, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Trickle(io.RawIOBase):
    """A pipe that delivers at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def outcome(text: bytes, *, bulk: bool, step: int, read_size: int) -> tuple[str, bytes]:
    reader = ArmoredReader(io.BufferedReader(Trickle(text, step), 1 << 16))
    if not bulk:
        reader._full_lines = lambda size: b""  # type: ignore[method-assign]
    got = bytearray()
    try:
        while chunk := reader.read(read_size):
            got += chunk
    except ArmorError as exc:
        return f"error: {exc}", bytes(got)
    return "ok", bytes(got)


@st.composite
def damaged_armor(draw: st.DrawFn) -> bytes:
    size = draw(st.one_of(st.integers(0, 200), st.integers(200, 6000)))
    text = bytearray(armored(random.Random(draw(st.integers(0, 2**32))).randbytes(size)))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "crlf"]))
        byte = draw(st.sampled_from(b" \n\r-=A/+\x00\xff"))
        if action == "replace":
            text[pos] = byte
        elif action == "insert":
            text.insert(pos, byte)
        elif action == "delete":
            del text[pos]
        else:
            nl = text.find(b"\n", pos)
            if nl > 0:
                text[nl:nl + 1] = b"\r\n"
    return bytes(text)


@PROFILE
@given(damaged_armor(), st.sampled_from([1, 7, 64, 65, 4096, 1 << 16]),
       st.sampled_from([1, 47, 48, 1000, 1 << 16]))
def test_bulk_and_line_by_line_agree(text: bytes, step: int, read_size: int) -> None:
    assert (outcome(text, bulk=True, step=step, read_size=read_size)
            == outcome(text, bulk=False, step=step, read_size=read_size))


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 48 * 1365, 48 * 1366 + 5, 300_001])
def test_long_armor_round_trips_through_the_bulk_path(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    text = armored(data)
    calls = []
    reader = ArmoredReader(io.BytesIO(text))
    bulk = reader._full_lines

    def counting(size: int) -> bytes:
        decoded = bulk(size)
        calls.append(len(decoded))
        return decoded

    reader._full_lines = counting  # type: ignore[method-assign]
    assert reader.read() == data
    if size >= 48 * 1000:  # nearly all of a long file goes through the bulk path
        assert sum(calls) >= size - 48 * 64


def test_a_bad_character_deep_in_a_long_armor_is_caught() -> None:
    text = bytearray(armored(bytes(500_000)))
    text[400_000] = ord("*")
    with pytest.raises(ArmorError, match="invalid character"):
        ArmoredReader(io.BytesIO(bytes(text))).read()
