"""The age v1 header: version line, recipient stanzas, and the HMAC line.

Parsing is as strict as the spec: canonical unpadded base64, 64-column body lines,
VCHAR arguments, LF only. Strictness is a security property: a lenient parser
would make headers malleable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from vault_app.core.digests import hmac_sha256, hmac_sha256_matches
from vault_app.core.encoding import b64decode, b64encode
from vault_app.core.errors import HeaderMACError, MalformedError, UnsupportedVersionError
from vault_app.core.kdf import hkdf_sha256
from vault_app.core.value_class import field, value_class

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
_COLUMNS = 64
MAX_LINE = 1 << 20  # one header line; generous enough for any real stanza
MAX_HEADER = 16 << 20  # whole header
#: Stanzas in one header: far above any real file (a vault file has one per reader), low
#: enough that a planted header of 100,000s of stanzas is refused before it costs seconds.
MAX_STANZAS = 10_000


class LineReader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


@value_class
class Stanza:
    """One recipient stanza: a type, its arguments, and a (binary) body."""

    type: str
    args: tuple[str, ...] = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        for arg in (self.type, *self.args):
            # VCHAR only (0x21-0x7E): printable ASCII without the space, checked in C
            if not (arg.isascii() and arg.isprintable()) or not arg or " " in arg:
                raise MalformedError("stanza arguments must be non-empty printable ASCII")

    def encode(self) -> bytes:
        line = "-> " + " ".join((self.type, *self.args)) + "\n"
        body = b64encode(self.body)
        lines = [body[i : i + _COLUMNS] for i in range(0, len(body), _COLUMNS)]
        if not lines or len(lines[-1]) == _COLUMNS:
            lines.append("")
        return (line + "".join(part + "\n" for part in lines)).encode("ascii")


@value_class
class Header:
    """A parsed header. ``mac_input`` is the exact byte string the MAC covers."""

    stanzas: tuple[Stanza, ...]
    mac: bytes = field(repr=False)
    mac_input: bytes = field(repr=False)

    def verify_mac(self, file_key: bytes) -> None:
        if not hmac_sha256_matches(_mac_key(file_key), self.mac_input, self.mac):
            raise HeaderMACError("the header MAC does not match: the header was tampered with")

    def encode(self) -> bytes:
        return self.mac_input + b" " + b64encode(self.mac).encode("ascii") + b"\n"


def header_mac_input(stanzas: Iterable[Stanza]) -> bytes:
    """The bytes the MAC covers: everything up to and including ``---``."""
    return VERSION_LINE + b"".join(s.encode() for s in stanzas) + b"---"


def _mac_key(file_key: bytes) -> bytes:
    return hkdf_sha256(file_key, b"", b"header")


def compute_mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac_sha256(_mac_key(file_key), mac_input)


def build_header(file_key: bytes, stanzas: Iterable[Stanza]) -> Header:
    """Assemble a header for ``stanzas`` and MAC it with ``file_key``."""
    stanzas = tuple(stanzas)
    if not stanzas:
        raise MalformedError("a header needs at least one recipient stanza")
    mac_input = header_mac_input(stanzas)
    return Header(stanzas, compute_mac(file_key, mac_input), mac_input)


def _line(reader: LineReader, total: list[int]) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    total[0] += len(line)
    if total[0] > MAX_HEADER or len(line) > MAX_LINE:
        raise MalformedError("the header is implausibly large")
    if not line.endswith(b"\n"):
        raise MalformedError("the header ends early (truncated file?)" if line or total[0] else
                             "the file is empty")
    return line


_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _is_b64_line(data: bytes) -> bool:
    """Only base64 alphabet bytes (no padding): ``translate`` deletes them all in C."""
    return not data.translate(None, _B64_CHARS)


def read_header(reader: LineReader) -> Header:
    """Read and parse a header, leaving ``reader`` at the first payload byte."""
    total = [0]
    first = reader.readline(len(VERSION_LINE) + 256)
    total[0] += len(first)
    if first != VERSION_LINE:
        if first and VERSION_LINE.startswith(first):
            raise MalformedError("the header ends early (truncated file?)")
        if first == VERSION_LINE[:-1] + b"\r\n":
            raise MalformedError(
                "the file's line endings were changed to CRLF (it was copied as text)",
                hint="copy the file again in binary mode",
            )
        if first.startswith(_VERSION_PREFIX) and first.endswith(b"\n"):
            raise UnsupportedVersionError("this is an age file of an unsupported version")
        if not first:
            raise MalformedError("the file is empty")
        raise MalformedError("not an age file (bad version line)")
    mac_input = bytearray(first)
    stanzas: list[Stanza] = []
    while True:
        line = _line(reader, total)
        if line.startswith(b"--- "):
            encoded = line[4:-1]
            if len(encoded) != 43 or not _is_b64_line(encoded):
                raise MalformedError("malformed header MAC line")
            if not stanzas:
                raise MalformedError("the header has no recipient stanzas")
            mac = b64decode(encoded)
            mac_input += b"---"
            return Header(tuple(stanzas), mac, bytes(mac_input))
        if not line.startswith(b"-> "):
            raise MalformedError("malformed header line")
        if len(stanzas) >= MAX_STANZAS:
            raise MalformedError(f"the header has more than {MAX_STANZAS} stanzas; refused")
        mac_input += line
        try:
            args = line[3:-1].decode("ascii").split(" ")
        except UnicodeDecodeError as exc:
            raise MalformedError("non-ASCII stanza argument") from exc
        if not args or any(not a for a in args):
            raise MalformedError("empty stanza argument")
        body_lines: list[bytes] = []
        while True:
            body = _line(reader, total)
            mac_input += body
            content = body[:-1]
            if len(content) > _COLUMNS or not _is_b64_line(content):
                raise MalformedError("malformed stanza body line")
            body_lines.append(content)
            if len(content) < _COLUMNS:
                break
        stanzas.append(Stanza(args[0], tuple(args[1:]), b64decode(b"".join(body_lines))))
