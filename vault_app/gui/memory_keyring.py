"""An in-memory keyring backend for throwaway vaults (``--self-test``, screenshots).

Keys put here vanish with the process; nothing touches the user's real keyring or disk.
Real use always goes through the OS keyring (``Keystore()`` with no backend).
"""

from __future__ import annotations

from pathlib import Path

from vault_app.core.keystore import Keystore


class MemoryKeyring:
    """The three calls ``Keystore`` makes on a keyring backend, kept in a dict."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._items.pop((service, username), None)


def memory_keystore(config_dir: Path) -> Keystore:
    return Keystore(backend=MemoryKeyring(), config_dir=config_dir)
