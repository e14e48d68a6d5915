"""The Python client for analysts: ``vault_app.open``, ``vault_app.session`` and the key
session behind them and behind ``vault://`` paths (``vault_app.fs``).

One :class:`~vault_app.core.key_session.KeySession` per process: the first read of a
vault unlocks the acting user's keys, later reads (any thread, any file) reuse them,
and :func:`close_session` forgets them. Like the command line and the window, this is a
client of the core, so it words its own advice: a notebook has no terminal to ask a
passphrase on, and the error says what to do instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import io
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from vault_app.core.errors import BadPassphraseError, ErrorKind, Remedy

if TYPE_CHECKING:
    from vault_app.core.api import Identities, PathLike
    from vault_app.core.key_session import KeySession

#: What :func:`passphrase_needed` tells a Python user to do.
HOW_TO_GIVE_IT = (
    "call vault_app.session(passphrase=...) first (or pass passphrase= to vault_app.open), "
    "or set VAULT_PASSPHRASE_FILE to a file whose first line is the passphrase")

_session: KeySession | None = None
_session_passphrase: str | None = None
_guard = threading.Lock()
# The passphrase given to the open in progress (vault_app.open or a vault:// open).
_call_passphrase: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vault_passphrase", default=None)


def passphrase_needed(prompt: str) -> BadPassphraseError:
    """The error for protected keys when no passphrase was given and none can be asked."""
    what = prompt.rstrip(": ").replace("Passphrase for ", "")
    return BadPassphraseError(
        f"a passphrase is needed to open {what}, and there is no terminal to ask for it: "
        f"{HOW_TO_GIVE_IT}", kind=ErrorKind.USAGE, remedy=Remedy.SUPPLY_PASSPHRASE)


def _can_prompt() -> bool:
    """A terminal, or a Jupyter kernel (whose frontend may offer a password box)."""
    if "ipykernel" in sys.modules:
        return True
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (ValueError, OSError):
        return False


def _ask(prompt: str, _confirm: bool) -> bytes:
    """This call's passphrase, else the session's, else VAULT_PASSPHRASE_FILE, else ask."""
    from vault_app.core.keystore import passphrase_from_env

    given = _call_passphrase.get() or _session_passphrase
    if given is not None:
        return given.encode()
    from_env = passphrase_from_env()
    if from_env is not None:
        return from_env(prompt, False)
    if not _can_prompt():
        raise passphrase_needed(prompt)
    try:
        return getpass.getpass(prompt).encode()
    except (NotImplementedError, EOFError):  # IPython's StdinNotImplementedError, no input
        raise passphrase_needed(prompt) from None


def session(*, passphrase: str | None = None, user: str | None = None) -> KeySession:
    """Start this process's key session afresh (closing any open one) and return it.

    ``passphrase`` opens passphrase-protected keys (a key file, or a protected keyring
    entry); ``user`` is the acting user (default: ``VAULT_USER`` or the login name).
    Keys are unlocked on the first read and kept until :func:`close_session`.
    """
    from vault_app.core.key_session import KeySession

    global _session, _session_passphrase
    with _guard:
        if _session is not None:
            _session.close()
        _session_passphrase = passphrase
        _session = KeySession(user=user, ask=_ask)
        return _session


def current_session() -> KeySession:
    """This process's key session, started on first use."""
    from vault_app.core.key_session import KeySession

    global _session
    with _guard:
        if _session is None or _session.closed:
            _session = KeySession(ask=_ask)
        return _session


def close_session() -> None:
    """Forget every key this process unlocked; the next read unlocks them again."""
    global _session, _session_passphrase
    with _guard:
        if _session is not None:
            _session.close()
        _session, _session_passphrase = None, None


@contextlib.contextmanager
def call_passphrase(passphrase: str | None) -> Iterator[None]:
    """Offer ``passphrase`` to any unlock that happens inside the block (this thread)."""
    token = _call_passphrase.set(passphrase)
    try:
        yield
    finally:
        _call_passphrase.reset(token)


def open(
    path: PathLike,
    *,
    identities: Identities | None = None,
    identity_file: PathLike | None = None,
    vault: PathLike | None = None,
    user: str | None = None,
    passphrase: str | None = None,
) -> io.BufferedReader:
    """Open a locked (age) file for reading, decrypting on the fly with random access.

    With ``identities`` and/or ``identity_file`` those keys are used (a plain age file).
    Without them, the vault containing ``path`` (or ``vault``) is opened as ``user``
    (default: ``VAULT_USER`` or the login name) with that user's keys, unlocked once for
    this process (see :func:`session`), and the file's signature is checked.
    ``passphrase`` opens an encrypted identity file or passphrase-protected keys.
    """
    from vault_app.core.api import open_locked

    if identities is not None or identity_file is not None:
        return open_locked(path, identities=identities, identity_file=identity_file,
                           passphrase=passphrase)
    with call_passphrase(passphrase):
        return open_locked(os.fspath(path), vault=vault, user=user,
                           session=current_session())
