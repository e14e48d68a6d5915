"""Hypothesis fuzzing of everything that parses untrusted bytes.

Mutated headers, stanzas, armor and payloads must only ever raise the project's own
``VaultError`` subclasses, never another exception, and never hang; and whenever a
mutated file still decrypts, its plaintext must be exactly the original (a mutation
that survives authentication must not have changed what the reader gets).
"""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault_app.core import age, armor
from vault_app.core.errors import VaultError
from vault_app.core.header import Stanza, read_header
from vault_app.core.keys import parse_identities, parse_identity, parse_recipient
from vault_app.core.recipients.scrypt import ScryptIdentity, ScryptRecipient
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.stream import CHUNK, ENC_CHUNK, plaintext_size

CASE_TIMEOUT = 10.0  # seconds; a case that takes longer is a hang (typical: < 10 ms)
FUZZ = settings(
    max_examples=400,
    deadline=3000,  # generous: CI machines are shared; a real hang trips CASE_TIMEOUT
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

IDENTITY = X25519Identity.generate()
OTHER = X25519Identity.generate()
PASSPHRASE = b"correct horse battery staple"
PLAIN = bytes(range(256)) * ((2 * CHUNK + 700) // 256)  # three chunks, last one short


def _encrypt(recipients: list[Any], *, armored: bool = False,
             extra: tuple[Stanza, ...] = ()) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(PLAIN), out, recipients, armor=armored, extra_stanzas=extra)
    return out.getvalue()


SAMPLES: dict[str, bytes] = {
    "x25519": _encrypt([IDENTITY.recipient()]),
    "two-recipients+extra": _encrypt(
        [OTHER.recipient(), IDENTITY.recipient()],
        extra=(Stanza("vault-acl", ("v1",), b'{"alice":"owner"}'),),
    ),
    "armored": _encrypt([IDENTITY.recipient()], armored=True),
    "scrypt": _encrypt([ScryptRecipient(PASSPHRASE, work_factor=4)]),
}
# Cap the work factor so a mutated digit cannot make one case cost gigabytes of memory.
IDENTITIES = [IDENTITY, ScryptIdentity(PASSPHRASE, max_work_factor=10)]


class Hang(Exception):
    """Raised by the alarm: the case ran longer than CASE_TIMEOUT."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def _alarm(signum: int, frame: object) -> None:
        raise Hang(f"a fuzz case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def only_vault_errors(fn: Callable[[], object]) -> object | None:
    """Run ``fn``; return its result, or None if it raised a VaultError. Anything else fails."""
    with time_limit(CASE_TIMEOUT):
        try:
            return fn()
        except VaultError as exc:
            assert str(exc), "errors must say what failed"
            return None


def decrypt_bytes(data: bytes) -> bytes | None:
    def run() -> bytes:
        out = io.BytesIO()
        age.decrypt(io.BytesIO(data), out, IDENTITIES)
        return out.getvalue()

    result = only_vault_errors(run)
    assert result is None or isinstance(result, bytes)
    return result


# --- mutation operators -----------------------------------------------------------------

def _flip(data: bytes, pos: int, value: int) -> bytes:
    if not data:
        return data
    i = pos % len(data)
    return data[:i] + bytes([data[i] ^ (value or 1)]) + data[i + 1:]


def _set(data: bytes, pos: int, value: int) -> bytes:
    if not data:
        return data
    i = pos % len(data)
    return data[:i] + bytes([value]) + data[i + 1:]


def _insert(data: bytes, pos: int, value: int) -> bytes:
    i = pos % (len(data) + 1)
    return data[:i] + bytes([value]) + data[i:]


def _delete(data: bytes, pos: int, value: int) -> bytes:
    if not data:
        return data
    i = pos % len(data)
    return data[:i] + data[i + 1 + value % 8:]


def _truncate(data: bytes, pos: int, value: int) -> bytes:
    return data[: pos % (len(data) + 1)]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _swap_lines(data: bytes, pos: int, value: int) -> bytes:
    lines = _lines(data)
    i, j = pos % len(lines), value % len(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _dup_line(data: bytes, pos: int, value: int) -> bytes:
    lines = _lines(data)
    i = pos % len(lines)
    return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1:]])


def _drop_line(data: bytes, pos: int, value: int) -> bytes:
    lines = _lines(data)
    del lines[pos % len(lines)]
    return b"\n".join(lines)


def _crlf(data: bytes, pos: int, value: int) -> bytes:
    lines = _lines(data)
    i = pos % len(lines)
    lines[i] += b"\r"
    return b"\n".join(lines)


MUTATORS = [_flip, _set, _insert, _delete, _truncate, _swap_lines, _dup_line, _drop_line, _crlf]
mutation = st.tuples(st.sampled_from(MUTATORS), st.integers(0, 1 << 20), st.integers(0, 255))


def _header_end(data: bytes) -> int:
    return data.index(b"\n---") + 1 + data[data.index(b"\n---") + 1:].index(b"\n") + 1


def _chunks(payload: bytes) -> tuple[bytes, list[bytes]]:
    nonce, body = payload[:16], payload[16:]
    return nonce, [body[i : i + ENC_CHUNK] for i in range(0, len(body), ENC_CHUNK)]


# --- properties ---------------------------------------------------------------------------

def test_unmutated_samples_decrypt() -> None:
    """The fuzz targets are valid to begin with (else every mutation would trivially fail)."""
    for name, data in SAMPLES.items():
        assert decrypt_bytes(data) == PLAIN, name


@FUZZ
@given(name=st.sampled_from(sorted(SAMPLES)), mutations=st.lists(mutation, min_size=1,
                                                                  max_size=4))
def test_mutated_whole_file(name: str, mutations: list[Any]) -> None:
    data = SAMPLES[name]
    for op, pos, value in mutations:
        data = op(data, pos, value)
    result = decrypt_bytes(data)
    assert result is None or result == PLAIN


@FUZZ
@given(name=st.sampled_from(["x25519", "two-recipients+extra", "scrypt"]),
       mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_header_only(name: str, mutations: list[Any]) -> None:
    """Concentrate mutations on the header: stanza lines, bodies, arguments, MAC line."""
    data = SAMPLES[name]
    end = _header_end(data)
    header, payload = data[:end], data[end:]
    for op, pos, value in mutations:
        header = op(header, pos, value)
    result = decrypt_bytes(header + payload)
    if header != data[:end]:
        assert result is None, "an edited header must never decrypt"


@FUZZ
@given(
    args=st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                          max_size=50), min_size=0, max_size=4),
    stanza_type=st.sampled_from(["X25519", "scrypt", "mlkem768x25519", "vault-acl", "x"]),
    body=st.binary(max_size=300),
)
def test_crafted_stanzas(stanza_type: str, args: list[str], body: bytes) -> None:
    """Well-formed stanzas with hostile arguments and bodies reach every unwrap path."""
    from vault_app.core.header import build_header

    header = build_header(bytes(16), [Stanza(stanza_type, tuple(args), body)])
    data = header.encode() + SAMPLES["x25519"][_header_end(SAMPLES["x25519"]):]
    assert decrypt_bytes(data) is None


@FUZZ
@given(ops=st.lists(st.tuples(st.sampled_from(["swap", "drop", "dup", "cut", "append"]),
                              st.integers(0, 10), st.integers(0, 10), st.integers(1, ENC_CHUNK)),
                    min_size=1, max_size=3))
def test_payload_chunk_surgery(ops: list[tuple[str, int, int, int]]) -> None:
    """Reordered, dropped, duplicated, cut or extended chunks never decrypt to other data."""
    data = SAMPLES["x25519"]
    end = _header_end(data)
    nonce, chunks = _chunks(data[end:])
    for op, i, j, n in ops:
        i %= len(chunks) or 1
        j %= len(chunks) or 1
        if not chunks:
            break
        if op == "swap":
            chunks[i], chunks[j] = chunks[j], chunks[i]
        elif op == "drop":
            del chunks[i]
        elif op == "dup":
            chunks.insert(i, chunks[i])
        elif op == "cut":
            chunks[i] = chunks[i][: n % (len(chunks[i]) + 1)]
        else:
            chunks.append(bytes(n % 64))
    mutated = data[:end] + nonce + b"".join(chunks)
    result = decrypt_bytes(mutated)
    if mutated != data:
        assert result is None


@FUZZ
@given(data=st.binary(max_size=2000))
def test_header_parser_random_bytes(data: bytes) -> None:
    only_vault_errors(lambda: read_header(io.BytesIO(data)))


@FUZZ
@given(lines=st.lists(st.one_of(
    st.sampled_from([b"age-encryption.org/v1", b"-> X25519 AAAA", b"-> scrypt", b"---",
                     b"--- " + b"A" * 43, b"", b"A" * 64, b"-> ", b"->  x", b"-> a\x00b"]),
    st.binary(max_size=80)), max_size=12))
def test_header_parser_structured(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    only_vault_errors(lambda: read_header(io.BytesIO(data)))


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_armor_reader(mutations: list[Any]) -> None:
    data = SAMPLES["armored"]
    for op, pos, value in mutations:
        data = op(data, pos, value)

    def run() -> bytes:
        return armor.ArmoredReader(io.BytesIO(data)).read()  # type: ignore[no-any-return]

    only_vault_errors(run)


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.sampled_from([
    "age1", "AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1", "age1pq1", str(IDENTITY),
    str(IDENTITY.recipient())])), pos=st.integers(0, 300), ch=st.characters())
def test_key_strings(text: str, pos: int, ch: str) -> None:
    """Recipient and identity parsers take any text; mutated keys give KeyFormatError."""
    if text:
        i = pos % len(text)
        text = text[:i] + ch + text[i + 1:]
    for parse in (parse_recipient, parse_identity, parse_identities):
        only_vault_errors(lambda parse=parse: parse(text))  # type: ignore[misc]


@FUZZ
@given(size=st.integers(-10, 1 << 40))
def test_plaintext_size(size: int) -> None:
    only_vault_errors(lambda: plaintext_size(size))


@pytest.mark.parametrize("work_factor", ["40", "23", "99", "0", "01", "1" * 30])
def test_hostile_scrypt_work_factor_refused_fast(work_factor: str) -> None:
    """A header asking for 2^40 scrypt work must be refused at once, not run."""
    import time

    from vault_app.core.encoding import b64encode
    from vault_app.core.header import build_header

    stanza = Stanza("scrypt", (b64encode(bytes(16)), work_factor), bytes(32))
    data = build_header(bytes(16), [stanza]).encode() + bytes(100)
    start = time.monotonic()
    assert decrypt_bytes(data) is None
    assert time.monotonic() - start < 1.0
