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

from vault_app.cli import exit_codes, output
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


class _Printable:
    """A text stream that shows text as ``printable`` does (every line a verb prints,
    every error): a name someone else chose never drives the terminal."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(output.printable(text)))

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
    output.error(message, list(hints))


def run_command(args: argparse.Namespace) -> int:
    """Run the verb's handler; map every expected failure to ``error:`` (or, with
    ``--json``, one JSON object) and the exit status of its kind (``cli/exit_codes.py``).

    The ``hint:`` lines are worded from the error's kind and remedy (``cli/hints.py``),
    never from its message text.
    """
    if os.environ.get("VAULT_DEBUG"):
        import logging  # only here: about 5 ms of start-up otherwise

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    command = getattr(args, "command", None)
    try:
        with _unwind_on_termination(), _printable_output(), output.quiet(args):
            result = args.handler(args)
        return int(result or 0)
    except Terminated as exc:
        error("terminated")
        return 128 + exc.signum
    except Cancelled:  # a normal outcome, said plainly
        output.report(Cancelled("cancelled"), args, exit_codes.INTERRUPTED)
        return exit_codes.INTERRUPTED
    except VaultError as exc:
        code = exit_codes.for_kind(exc.kind, command)
        output.report(exc, args, code)
        return code
    except KeyboardInterrupt:
        error("interrupted")
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        return exit_codes.FAILED
    except OSError as exc:  # one the verb did not expect: still named, never a traceback
        from vault_app.core.atomic import describe_os_error

        described = describe_os_error(exc, exc.filename or "a file")
        code = exit_codes.for_kind(described.kind, command)
        output.report(described, args, code)
        return code
    except Exception as exc:  # a bug: said plainly; the traceback only with VAULT_DEBUG
        if os.environ.get("VAULT_DEBUG"):
            import traceback

            traceback.print_exc()
        internal = VaultError(f"internal error ({type(exc).__name__}); nothing more was done",
                              kind=ErrorKind.INTERNAL)
        output.report(internal, args, exit_codes.for_kind(ErrorKind.INTERNAL, command))
        return exit_codes.for_kind(ErrorKind.INTERNAL, command)


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
