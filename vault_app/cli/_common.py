"""Shared CLI plumbing: error reporting, passphrase prompts, JSON output, I/O."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from vault_app.cli.hints import hint_lines
from vault_app.core.errors import Cancelled, ErrorKind, VaultError


class UsageError(VaultError):
    """The command line was well-formed but asks for something impossible."""

    kind = ErrorKind.USAGE


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so temp files are removed.

    Without this, the default action kills the process on the spot and leaves the
    temp file (already holding decrypted data) beside the destination.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _unwind_on_termination() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Only signals left at their default: `nohup` (SIG_IGN) and callers' own handlers win.
    wanted = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None))
              if s is not None and signal.getsignal(s) == signal.SIG_DFL]
    previous = {s: signal.signal(s, _raise_terminated) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))
            if c not in (0x09, 0x0A, 0x0D)}
_CONTROL.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})


def printable(text: str) -> str:
    """``text`` with control characters (an escape sequence in a planted file name) and
    bytes that are not UTF-8 shown as ``\\xNN``: what reaches a terminal is plain text."""
    return text if text.isprintable() else text.translate(_CONTROL)


class _Printable:
    """A text stream that shows text as ``printable`` does (every line a verb prints,
    every error): a name someone else chose never drives the terminal."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(printable(text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _printable_output() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def error(message: str, hints: Sequence[str] = ()) -> None:
    print(f"error: {printable(message)}", file=sys.stderr)
    for hint in hints:
        print(f"hint: {printable(hint)}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """Run the verb's handler; map every expected failure to ``error:`` and exit 1.

    The ``hint:`` lines are worded from the error's kind and remedy (``cli/hints.py``),
    never from its message text.
    """
    if os.environ.get("VAULT_DEBUG"):
        import logging  # only here: about 5 ms of start-up otherwise

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        with _unwind_on_termination(), _printable_output():
            result = args.handler(args)
        return int(result or 0)
    except Terminated as exc:
        error("terminated")
        return 128 + exc.signum
    except Cancelled as exc:
        error("cancelled", hint_lines(exc))
        return 130
    except VaultError as exc:
        error(str(exc), hint_lines(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        return 1


def ask_passphrase(prompt: str = "Enter passphrase: ", *, confirm: bool = False) -> bytes:
    """Read a passphrase from the terminal (never from arguments or plain stdin)."""
    if not _has_tty():
        raise UsageError(
            "a passphrase is needed but there is no terminal to ask it on",
            hint="run the command in a terminal",
        )
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Confirm passphrase: ") != first:
        raise UsageError("the passphrases did not match")
    if not first:
        raise UsageError("the passphrase must not be empty")
    return first.encode("utf-8")


def _has_tty() -> bool:
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return sys.stdin.isatty()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
