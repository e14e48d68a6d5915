"""Shared CLI plumbing: error reporting, passphrase prompts, JSON output, I/O."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from typing import Any

from vault_app.core.errors import Cancelled, VaultError

log = logging.getLogger("vault_app.cli")


class UsageError(VaultError):
    """The command line was well-formed but asks for something impossible."""


def error(message: str, hint: str | None = None) -> None:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """Run the verb's handler; map every expected failure to ``error:`` and exit 1."""
    if os.environ.get("VAULT_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        result = args.handler(args)
        return int(result or 0)
    except Cancelled:
        error("cancelled")
        return 130
    except VaultError as exc:
        error(str(exc), exc.hint)
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
