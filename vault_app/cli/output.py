"""What the command line prints besides results: errors (words or JSON), a progress bar on
a terminal, and nothing at all with ``-q``.

* Errors: ``error:`` and ``hint:`` lines, or with ``--json`` one JSON object on stderr
  (``kind``, ``message``, ``hint``, ``exit_code``), so scripts never parse prose.
* Progress: a one-line bar on stderr while a long lock or unlock runs, only when stderr
  is a terminal (never in a pipe or a log) and not with ``-q`` or ``--json``.
* ``-q``: the human result lines go nowhere; data on standard output (``cat``,
  ``-o -``) and JSON still come out.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

from vault_app.cli.hints import hint_lines
from vault_app.core.errors import VaultError

_data_out: BinaryIO | None = None  # standard output for data while -q silences the rest


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))
            if c not in (0x09, 0x0A, 0x0D)}
_CONTROL.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})


def printable(text: str) -> str:
    """``text`` with control characters (an escape sequence in a planted file name) and
    bytes that are not UTF-8 shown as ``\\xNN``: what reaches a terminal is plain text."""
    return text if text.isprintable() else text.translate(_CONTROL)


def error(message: str, hints: list[str] | tuple[str, ...] = ()) -> None:
    print(f"error: {printable(message)}", file=sys.stderr)
    for hint in hints:
        print(f"hint: {printable(hint)}", file=sys.stderr)


def report(exc: VaultError, args: argparse.Namespace, code: int) -> None:
    """The error as ``error:``/``hint:`` lines, or one JSON object under ``--json``."""
    hints = hint_lines(exc)
    if getattr(args, "json", False):
        json.dump({"kind": exc.kind.value, "message": str(exc),
                   "hint": "\n".join(hints) or None, "exit_code": code},
                  sys.stderr, sort_keys=True)
        sys.stderr.write("\n")
        return
    error(str(exc), hints)


def data_stream() -> BinaryIO:
    """Standard output for data: it stays open under ``-q``."""
    return _data_out if _data_out is not None else sys.stdout.buffer


def binary_stdout() -> BinaryIO:
    """Standard output for binary data: refused when it is a terminal (as age does)."""
    from vault_app.cli._common import UsageError

    out = data_stream()
    if out.isatty():
        raise UsageError("refusing to write binary output to the terminal",
                         hint="use -o FILE, or redirect standard output")
    return out


@contextlib.contextmanager
def quiet(args: argparse.Namespace) -> Iterator[None]:
    """With ``-q`` (and no ``--json``), human output lines are dropped while the verb runs."""
    global _data_out
    if not getattr(args, "quiet", False) or getattr(args, "json", False):
        yield
        return
    real = sys.stdout
    _data_out = real.buffer
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"))  # noqa: SIM115 - closed below
    try:
        yield
    finally:
        sys.stdout.close()
        sys.stdout, _data_out = real, None


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


class ProgressBar:
    """``label [#####-----] 42%  1.2 GiB/2.0 GiB  850 MiB/s`` on stderr, redrawn at most
    ten times a second; :meth:`done` clears it."""

    WIDTH = 24

    def __init__(self, label: str, total: int | None, stream: io.TextIOBase | None = None
                 ) -> None:
        self._label = label if len(label) <= 32 else "…" + label[-31:]
        self._total = total
        self._stream = stream or sys.stderr
        self._start = time.monotonic()
        self._shown = 0.0
        self._drawn = False

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._shown < 0.1 and done != self._total:
            return
        self._shown = now
        rate = done / max(now - self._start, 1e-6)
        if self._total:
            frac = min(1.0, done / self._total)
            filled = int(frac * self.WIDTH)
            bar = f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {frac:4.0%}"
            amount = f"{_human(done)}/{_human(self._total)}"
        else:
            bar, amount = "", _human(done)
        self._stream.write(f"\r\x1b[2K{self._label} {bar}  {amount}  {_human(rate)}/s")
        self._stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()


def progress_bar(args: argparse.Namespace, label: str, total: int | None) -> ProgressBar | None:
    """A bar if stderr is a terminal and the user did not ask for quiet or JSON."""
    if getattr(args, "quiet", False) or getattr(args, "json", False):
        return None
    try:
        if not sys.stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return ProgressBar(label, total)
