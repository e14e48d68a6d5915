"""ASCII armor: strict PEM (RFC 7468) with label ``AGE ENCRYPTED FILE``.

Reading is strict, as age requires, so that armored files are not malleable:
64-column lines, canonical padded base64, no headers, only whitespace outside.
Both directions stream in constant memory.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import BinaryIO

from vault_app.core.errors import ArmorError

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_WHITESPACE = b" \t\r\n"
_MAX_TRAILING = 1024
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_MAX_READ = 1 << 16  # decode at most this much per readinto call: flat memory
_READ_AHEAD = 1 << 16  # armor text read from the source at a time
_B64_NO_PAD = _B64[:-1]
_FULL_LINE = _COLUMNS + 1  # 64 base64 characters and a line feed


def is_armored(src: io.BufferedReader) -> bool:
    """Peek (without consuming) whether ``src`` starts like a PEM begin line.

    The first non-whitespace byte decides (a binary age file starts with ``a``,
    never with whitespace): a pipe may deliver only a few bytes at first, and
    ``peek`` does not wait for more.
    """
    head = src.peek(len(BEGIN) + 64)[: len(BEGIN) + 64]
    rest = head.lstrip(_WHITESPACE)
    return rest[:1] == b"-" or (bool(head) and not rest)


class ArmoredReader(io.RawIOBase):
    """Decodes an armored stream lazily, with flat memory.

    The armor text is read ahead in blocks into a small buffer of its own. Runs of whole
    64-column lines (nearly all of a long file) are checked and decoded in bulk, in C;
    everything else (the begin and end lines, the last line, padding, CRLF endings, and
    anything malformed) goes line by line through :meth:`_next_block`, which enforces
    every rule and raises the errors.
    """

    def __init__(self, src: BinaryIO) -> None:
        super().__init__()
        self._src = src
        self._text = bytearray()  # armor text read ahead, not yet decoded
        self._eof = False
        self._buf = bytearray()  # decoded bytes not yet handed out
        self._done = False
        self._started = False

    def readable(self) -> bool:
        return True

    def _fill(self, need: int) -> None:
        """Read ahead until ``need`` bytes of text are buffered or the input ends.

        ``read1`` takes what a pipe has now rather than waiting for a whole block.
        """
        read = getattr(self._src, "read1", self._src.read)
        while len(self._text) < need and not self._eof:
            chunk = read(max(need - len(self._text), _READ_AHEAD))
            if chunk:
                self._text += chunk
            else:
                self._eof = True

    def _take(self, size: int) -> bytes:
        self._fill(size)
        taken = bytes(self._text[:size])
        del self._text[:size]
        return taken

    def _line(self) -> bytes:
        limit = _COLUMNS + 3  # as readline(limit): up to the line feed, at most this much
        self._fill(limit)
        end = self._text.find(b"\n", 0, limit)
        line = self._take(end + 1 if end >= 0 else limit)
        if line.endswith(b"\r\n"):
            return line[:-2]
        if line.endswith(b"\n"):
            return line[:-1]
        if len(line) > _COLUMNS + 1 or (line and line != END):
            raise ArmorError("armor line too long or missing its line ending")
        return line

    def _start(self) -> None:
        self._started = True
        skipped = 0
        while True:
            c = self._take(1)
            if not c:
                raise ArmorError("no armor begin line")
            if c not in _WHITESPACE:
                break
            skipped += 1
            if skipped > _MAX_TRAILING:
                raise ArmorError("too much whitespace before the armor")
        line = c + self._line()
        if line != BEGIN:
            raise ArmorError("bad armor begin line")

    def _finish(self) -> None:
        rest = self._take(_MAX_TRAILING + 1)
        if len(rest) > _MAX_TRAILING or rest.strip(_WHITESPACE):
            raise ArmorError("unexpected data after the armor end line")
        self._done = True

    def _full_lines(self, size: int) -> bytes:
        """Decode the whole 64-column LF lines at the front of the next ``size`` bytes
        of text in bulk; b"" if the next line is not one of them.

        Each such line holds only base64 characters without padding, so it decodes to
        exactly 48 bytes and is canonical: no other check is needed.
        """
        self._fill(size)
        lines = min(size, len(self._text)) // _FULL_LINE
        if not lines:
            return b""
        ends = self._text[_COLUMNS : lines * _FULL_LINE : _FULL_LINE]
        lines -= len(ends.lstrip(b"\n"))  # up to the first line with no feed at column 64
        if not lines:
            return b""
        text = bytes(self._text[: lines * _FULL_LINE])
        data = text.replace(b"\n", b"")
        if len(data) != lines * _COLUMNS or data.translate(None, _B64_NO_PAD):
            return b""  # a stray line feed or another character: line by line
        del self._text[: lines * _FULL_LINE]
        return binascii.a2b_base64(data)

    def _next_block(self) -> bytes:
        line = self._line()
        if line == END:
            self._finish()
            return b""
        if not line:
            raise ArmorError("empty line in armor (or a missing end line)")
        if line.translate(None, _B64):
            raise ArmorError("invalid character in armor")
        if len(line) > _COLUMNS:
            raise ArmorError("armor line longer than 64 columns")
        last = len(line) < _COLUMNS or line.endswith(b"=")
        try:
            data = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ArmorError("invalid base64 in armor") from exc
        if base64.b64encode(data) != line:
            raise ArmorError("non-canonical base64 in armor")
        if last:
            if self._line() != END:
                raise ArmorError("short armor line before the end of the armor")
            self._finish()
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if not self._started:
            self._start()
        view = memoryview(buffer).cast("B")
        want = min(len(view), _MAX_READ)
        # A bytearray grown in place, never rebuilt: linear time, whatever the request.
        while len(self._buf) < want and not self._done:
            lines = -(-(want - len(self._buf)) // 48)
            self._buf += self._full_lines(lines * _FULL_LINE) or self._next_block()
        n = min(want, len(self._buf))
        view[:n] = self._buf[:n]
        del self._buf[:n]  # leaves under one line's worth
        return n


class ArmoredWriter(io.RawIOBase):
    """Encodes to armor; ``close()`` writes the last line and the end line."""

    def __init__(self, dst: BinaryIO) -> None:
        super().__init__()
        self._dst = dst
        self._pending = bytearray()
        self._dst.write(BEGIN + b"\n")

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._pending += data
        whole = len(self._pending) - len(self._pending) % 48
        if whole:
            encoded = base64.b64encode(bytes(self._pending[:whole]))
            del self._pending[:whole]
            lines = [encoded[i : i + _COLUMNS] for i in range(0, len(encoded), _COLUMNS)]
            self._dst.write(b"\n".join(lines) + b"\n")
        return len(data)

    def abandon(self) -> None:
        """Close without writing the tail: a failed file must not look complete.

        Also keeps garbage collection (which calls ``close``) from writing into a
        destination that is already closed or removed.
        """
        self._pending.clear()
        super().close()

    def close(self) -> None:
        if not self.closed:
            if self._pending:
                self._dst.write(base64.b64encode(bytes(self._pending)) + b"\n")
            self._dst.write(END + b"\n")
        super().close()
