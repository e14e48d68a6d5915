"""Names and places every part of the app agrees on: where a vault keeps its metadata,
what a locked file is called, how long a lock is waited for, what a user may be named.

Defined once here (the core, the CLI and the window all use them), so a rename or a new
rule cannot leave one of them behind. See docs/format.md for the folder layout.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vault_app.core.errors import ErrorKind, FileOperationError, UnknownUserError

META = ".vault"  # the vault's metadata folder, inside the vault folder
CONFIG = "config.json"
MEMBERS = "members.json"
LOCKS = "locks"  # the lock files, inside META
LOCKED_SUFFIX = ".age"
LOCK_TIMEOUT = 120.0  # seconds to wait for another process's lock on a file or the registry

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}")


def display_name(path: Path, root: Path) -> str:
    """``path`` relative to the vault folder ``root``, ``/``-separated, without ``.age``.
    String operations, not ``Path.relative_to``: a listing runs this 10,000 times."""
    text, prefix = str(path), str(root) + os.sep
    rel = text[len(prefix):] if text.startswith(prefix) else path.name
    if os.sep != "/":
        rel = rel.replace(os.sep, "/")
    return rel[: -len(LOCKED_SUFFIX)] if rel.endswith(LOCKED_SUFFIX) else rel


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:   # a byte that is not UTF-8 (a surrogate escape)
        return f"%{code - 0xDC00:02X}"
    if char == "%" or code < 0x20 or 0x7F <= code < 0xA0:
        return "".join(f"%{b:02X}" for b in char.encode())
    return char


def escape_part(part: str) -> str:
    """One path component as signed records and the audit log name it: UTF-8 text, with
    bytes that are not UTF-8, control characters and ``%`` as ``%XX`` (so every name is
    printable, encodes, and no two names map to the same text)."""
    if part.isascii() and part.isprintable() and "%" not in part:
        return part
    return "".join(_escape_char(c) for c in part)


def printable_path(path: Path | str) -> str:
    """A path outside the vault as records name it (escaped as :func:`escape_part`)."""
    return escape_part(os.fspath(path))


def vault_name(parts: tuple[str, ...] | list[str]) -> str:
    """A file's name in its vault, from its path components below the vault root."""
    return "/".join(escape_part(p) for p in parts)


def check_name(name: str) -> str:
    """User names become keyring entries, file names and header fields: keep them plain."""
    if not _NAME.fullmatch(name):
        raise UnknownUserError(
            f"invalid user name {name!r}", kind=ErrorKind.USAGE,
            hint="use letters, digits, '.', '_', '-' or '@' (at most 64, no leading dot)",
        )
    return name


def locked_path(root: Path, name: Path) -> Path:
    """Where the file ``name`` (relative to the vault folder ``root``, or absolute inside
    it) is stored locked: inside ``root``, outside its metadata, with the ``.age`` suffix."""
    path = Path(os.path.normpath(root / name))
    rel = os.path.relpath(path, root)
    if rel == "." or rel.split(os.sep)[0] in ("..", META) or path.name.startswith("."):
        raise FileOperationError(f"{name}: is not a file name inside the vault {root}",
                                 path=path, kind=ErrorKind.USAGE)
    return path if path.name.endswith(LOCKED_SUFFIX) else path.with_name(path.name
                                                                         + LOCKED_SUFFIX)
