"""The OS keyring backend, chosen without ``keyring``'s plugin scan where its choice is known.

``keyring.get_keyring()`` imports every backend it ships and every installed plugin to ask
each for its priority (on Linux that includes the macOS backend, whose ``ctypes`` library
search starts a subprocess), after importing ``keyring`` itself (``importlib_metadata``,
``jaraco``, ``urllib``, ``http``, ``email``): about 0.2 s, which was most of a command's
fixed cost. Where the outcome is known, this module reaches the same keyring directly:

* on a freedesktop system (Linux, the BSDs) with a session bus, keyring's choice is the
  Secret Service, unless the user configured another backend (``PYTHON_KEYRING_BACKEND``
  or ``keyringrc.cfg``, both honored by falling back to keyring) or runs KDE (where
  keyring prefers KWallet when ``python-dbus`` is installed). Third-party plugins are not
  consulted on this path: a user who installed one selects it with either setting.
* everywhere else keyring chooses, as before.

:class:`SecretService` reads an entry with three calls on one D-Bus connection
(``OpenSession``, ``SearchItems``, ``GetSecrets``), where keyring's backend makes about
eight on a new connection per lookup. It reads exactly the entries keyring writes
(attributes ``service`` and ``username``). The secret crosses the user's own session bus
unencrypted (the spec's ``plain`` transfer): any process that could watch that bus could
as well ask the Secret Service for the entry itself, so the spec's Diffie-Hellman transfer
would cost a 1024-bit exchange per command and protect nothing more. Everything else (an
entry in a locked collection, which needs an unlock prompt; storing; deleting) is done by
keyring's own Secret Service backend, imported only then.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from vault_app.core.errors import KeyringUnavailableError

_BUS_NAME = "org.freedesktop.secrets"
_SERVICE_PATH = "/org/freedesktop/secrets"
_SERVICE_IFACE = "org.freedesktop.Secret.Service"
_TIMEOUT = 30.0  # seconds: the daemon may be started by D-Bus activation first


def os_keyring() -> Any:
    """The keyring backend ``keyring.get_keyring()`` would return, found cheaply if possible."""
    if _secret_service_is_keyrings_choice():
        direct = SecretService.connect()
        if direct is not None:
            return direct
    import keyring  # about 0.2 s with the detection below: only where it must choose

    return keyring.get_keyring()


def _secret_service_is_keyrings_choice() -> bool:
    """Whether ``keyring`` would pick its Secret Service backend here (see the docstring)."""
    if sys.platform in ("win32", "darwin", "cygwin") or not os.environ.get(
            "DBUS_SESSION_BUS_ADDRESS"):
        return False
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return False
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    if (Path(config) / "python_keyring" / "keyringrc.cfg").exists():
        return False
    return "KDE" not in os.environ.get("XDG_CURRENT_DESKTOP", "").split(":")


class SecretService:
    """keyring's Secret Service backend, with a fast path for reading an entry."""

    def __init__(self, connection: Any, session: str) -> None:
        self._connection = connection
        self._session = session
        self._lock = threading.Lock()  # one connection: one call at a time
        self._fallback: Any = None
        weakref.finalize(self, connection.close)  # closed with this object (or at exit)

    @classmethod
    def connect(cls) -> SecretService | None:
        """A connection to the Secret Service, or None if there is none on the bus."""
        try:
            from jeepney.io.blocking import open_dbus_connection

            connection = open_dbus_connection(bus="SESSION")
        except (ImportError, OSError, ValueError, KeyError):
            return None
        try:
            _output, session = cls._call(connection, "OpenSession", "sv", ("plain", ("s", "")))
        except (KeyringUnavailableError, OSError, TimeoutError):
            connection.close()
            return None
        return cls(connection, session)

    @staticmethod
    def _call(connection: Any, method: str, signature: str, args: tuple[Any, ...]) -> Any:
        from jeepney import DBusAddress, MessageType, new_method_call

        address = DBusAddress(_SERVICE_PATH, bus_name=_BUS_NAME, interface=_SERVICE_IFACE)
        reply = connection.send_and_get_reply(new_method_call(address, method, signature, args),
                                              timeout=_TIMEOUT)
        if reply.header.message_type == MessageType.error:
            raise KeyringUnavailableError(f"the OS keyring refused a request ({method})")
        return reply.body

    def get_password(self, service: str, username: str) -> str | None:
        """The entry keyring stores under ``service``/``username``, or None.

        An entry that needs unlocking, or any failure of the fast path (the daemon
        restarted under a long-lived window, say), goes through keyring's backend.
        """
        try:
            with self._lock:
                found = self._read(service, username)
        except (KeyringUnavailableError, OSError, TimeoutError):
            found = None
        if found is not None:
            return found[0]
        value: str | None = self._keyring().get_password(service, username)
        return value

    def _read(self, service: str, username: str) -> tuple[str | None] | None:
        """``(secret or None,)`` if the fast path settles it; None if keyring must."""
        unlocked, locked = self._call(self._connection, "SearchItems", "a{ss}",
                                      ({"service": service, "username": username},))
        if not unlocked:
            return None if locked else (None,)  # locked: an unlock prompt is keyring's
        (secrets,) = self._call(self._connection, "GetSecrets", "aoo",
                                (unlocked[:1], self._session))
        _session, _params, secret, _type = secrets[unlocked[0]]
        return (bytes(secret).decode("utf-8"),)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._keyring().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._keyring().delete_password(service, username)

    def _keyring(self) -> Any:
        if self._fallback is None:
            from keyring.backends.SecretService import Keyring

            self._fallback = Keyring()  # type: ignore[no-untyped-call]
        return self._fallback
