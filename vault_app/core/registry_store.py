"""Where the member registry lives: ``.vault/members.json``, read and written.

``members.py`` is the registry as data (entries, signatures, trust); this is its file.
A read is parsed and its trust evaluated only when the file changed (a listing asks for
the registry once per file), and the file's stamp tells callers which version they saw.
Writers hold the registry lock (``locks.registry_lock``) around read-change-write. The
file is read and written through the vault folder (no links, bounded, hostile JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vault_app.core.errors import VaultFormatError
from vault_app.core.layout import MEMBERS, META
from vault_app.core.members import Registry
from vault_app.core.vault_folder import VaultFolder

#: A version of members.json: its (inode, mtime in ns, size).
Stamp = tuple[int, int, int]


class RegistryStore:
    """The registry file of the vault in ``folder`` whose signed config is ``config``
    (which pins the first admin, the root of trust)."""

    def __init__(self, folder: VaultFolder, config: Mapping[str, Any]) -> None:
        self.folder = folder
        self.path = folder.root / META / MEMBERS
        self._config = config
        self._registry: Registry | None = None
        self._stamp: Stamp | None = None

    @property
    def cached(self) -> Registry | None:
        """The registry as last read (None before the first read)."""
        return self._registry

    @property
    def stamp(self) -> Stamp | None:
        """The version of the file last read (None before the first read)."""
        return self._stamp

    def read(self) -> Registry:
        """The registry as the file is now; parsed again only if the file changed."""
        info = self.folder.lstat(self.path)
        if info is None:
            raise VaultFormatError(f"{self.path}: the member registry is missing")
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._registry is None or stamp != self._stamp:
            data = self.folder.read_meta_json(MEMBERS, what=f"{self.path}",
                                              error=VaultFormatError)
            if data is None:
                raise VaultFormatError(f"{self.path}: the member registry is missing")
            self._registry = Registry.from_json(data, self._config["vault_id"],
                                                self._config["root_admin"],
                                                self._config["root_signing_key"])
            self._stamp = stamp
        return self._registry

    def write(self, registry: Registry) -> None:
        """Replace the file atomically (call under the registry lock)."""
        self.folder.write_meta_json(MEMBERS, registry.to_json())
        self._registry = None
