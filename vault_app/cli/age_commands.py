"""The age-compatible verbs: ``keygen``, ``encrypt``, ``decrypt``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, BinaryIO

from vault_app.cli._common import UsageError, ask_passphrase
from vault_app.core import age
from vault_app.core.atomic import atomic_output
from vault_app.core.errors import BadPassphraseError, FileOperationError, NoIdentityMatchError
from vault_app.core.keys import (
    generate_identity,
    parse_recipient,
    parse_recipients,
    passphrase_recipient,
    prompting_passphrase_identity,
)
from vault_app.core.recipients import Identity, Recipient

#: The verbs this module adds.
VERBS = ("keygen", "encrypt", "decrypt")


def register(commands: Any) -> None:
    keygen = commands.add_parser("keygen", help="generate an identity (like age-keygen)")
    keygen.add_argument("--pq", action="store_true", help="post-quantum hybrid identity")
    keygen.add_argument("-o", "--output", metavar="FILE", help="write the identity to FILE")
    keygen.set_defaults(handler=cmd_keygen)

    enc = commands.add_parser("encrypt", help="encrypt to recipients or a passphrase")
    enc.add_argument("-r", "--recipient", action="append", default=[], metavar="RECIPIENT")
    enc.add_argument("-R", "--recipients-file", action="append", default=[], metavar="PATH")
    enc.add_argument("-p", "--passphrase", action="store_true", help="encrypt with a passphrase")
    enc.add_argument("-a", "--armor", action="store_true", help="PEM-armored output")
    enc.add_argument("-o", "--output", metavar="OUT")
    enc.add_argument("input", nargs="?", default="-", metavar="IN")
    enc.set_defaults(handler=cmd_encrypt)

    dec = commands.add_parser("decrypt", help="decrypt with identities or a passphrase")
    dec.add_argument("-i", "--identity", action="append", default=[], metavar="PATH")
    dec.add_argument("-o", "--output", metavar="OUT")
    dec.add_argument("input", nargs="?", default="-", metavar="IN")
    dec.set_defaults(handler=cmd_decrypt)


def _read_text(path: str, what: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise FileOperationError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_identity_file(path: str) -> list[Identity]:
    """An identity file, plain or itself passphrase-encrypted (as age allows)."""
    from vault_app.core.api import identities_from_bytes

    data = _read_text(path, "identity file")
    return identities_from_bytes(
        data, path, lambda: ask_passphrase(f"Enter passphrase for identity file {path}: "))


def cmd_keygen(args: argparse.Namespace) -> int:
    identity = generate_identity(post_quantum=args.pq)
    recipient = str(identity.recipient())
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    text = f"# created: {created}\n# public key: {recipient}\n{identity}\n".encode()
    if args.output and args.output != "-":
        with atomic_output(args.output) as out:
            out.write(text)
    else:
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    print(f"Public key: {recipient}", file=sys.stderr)
    return 0


def _open_in(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    if Path(path).is_dir():
        raise FileOperationError(f"{path}: is a folder, not a file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise FileOperationError(f"{path}: {exc.strerror}") from None


def _stdout_checked(binary: bool) -> BinaryIO:
    if binary and sys.stdout.isatty():
        raise UsageError("refusing to write binary output to the terminal",
                         hint="use -o FILE, or -a for armored output")
    return sys.stdout.buffer


def _stdin_once(input_path: str, key_paths: list[str], what: str) -> None:
    """Standard input can carry the data or a key file, not both (as age says)."""
    if input_path == "-" and "-" in key_paths:
        raise UsageError(f"standard input cannot be both the {what} and the input",
                         hint="pass the input as a file name")


def cmd_encrypt(args: argparse.Namespace) -> int:
    _stdin_once(args.input, args.recipients_file, "recipients file")
    recipients: list[Recipient] = [parse_recipient(r) for r in args.recipient]
    for path in args.recipients_file:
        text = _read_text(path, "recipients file").decode("utf-8", "replace")
        recipients.extend(parse_recipients(text))
    if args.passphrase:
        if recipients:
            raise UsageError("-p cannot be combined with -r or -R")
        recipients = [passphrase_recipient(ask_passphrase(confirm=True))]
    if not recipients:
        raise UsageError("no recipients", hint="use -r RECIPIENT, -R FILE, or -p")
    if args.output and args.output != "-":
        if args.input == "-":
            with atomic_output(args.output) as out:
                age.encrypt(sys.stdin.buffer, out, recipients, armor=args.armor)
        else:
            age.encrypt_file(args.input, args.output, recipients, armor=args.armor)
        return 0
    out = _stdout_checked(not args.armor)
    src = _open_in(args.input)
    try:
        age.encrypt(src, out, recipients, armor=args.armor)
        out.flush()
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    return 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    _stdin_once(args.input, args.identity, "identity file")
    identities: list[Identity] = []
    for path in args.identity:
        identities.extend(load_identity_file(path))
    if not identities:
        identities.append(prompting_passphrase_identity(ask_passphrase))
    try:
        _decrypt(args, identities)
    except NoIdentityMatchError as exc:
        if args.identity or isinstance(exc, BadPassphraseError):
            raise
        raise NoIdentityMatchError(
            "the file is encrypted to keys, not to a passphrase",
            hint="pass your identity file with -i FILE",
        ) from None
    return 0


def _decrypt(args: argparse.Namespace, identities: list[Identity]) -> None:
    if args.output and args.output != "-":
        if args.input == "-":
            with atomic_output(args.output) as out:
                age.decrypt(sys.stdin.buffer, out, identities)
        else:
            age.decrypt_file(args.input, args.output, identities)
        return
    src = _open_in(args.input)
    try:
        age.decrypt(src, sys.stdout.buffer, identities)
        sys.stdout.buffer.flush()
    finally:
        if src is not sys.stdin.buffer:
            src.close()
