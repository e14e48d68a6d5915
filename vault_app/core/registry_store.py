"""Where the member registry lives: ``.vault/members.json``, read and written.

``members.py`` is the registry as data (entries, signatures, trust); this is its file.
A read is parsed and its trust evaluated only when the file changed (a listing asks for
the registry once per file), and the file's stamp tells callers which version they saw.
Writers hold the registry lock (``locks.registry_lock``) around read-change-write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vault_app.core.errors import VaultFormatError
from vault_app.core.layout import MEMBERS
from vault_app.core.members import Registry
from vault_app.core.vault_io import write_metadata

#: A version of members.json: its (mtime in ns, size).
Stamp = tuple[int, int]


class RegistryStore:
    """The registry file of the vault whose metadata folder is ``meta`` and whose signed
    config is ``config`` (which pins the first admin, the root of trust)."""

    def __init__(self, meta: Path, config: Mapping[str, Any]) -> None:
        self.path = meta / MEMBERS
        self._config = config
        self._registry: Registry | None = None
        self._stamp: Stamp | None = None

    @property
    def stamp(self) -> Stamp | None:
        """The version of the file last read (None before the first read)."""
        return self._stamp

    def read(self) -> Registry:
        """The registry as the file is now; parsed again only if the file changed."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise VaultFormatError(f"{self.path}: the member registry is missing") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._registry is None or stamp != self._stamp:
            try:
                data = json.loads(self.path.read_bytes())
            except (OSError, ValueError) as exc:
                raise VaultFormatError(f"{self.path}: unreadable member registry") from exc
            self._registry = Registry.from_json(data, self._config["vault_id"],
                                                self._config["root_admin"],
                                                self._config["root_signing_key"])
            self._stamp = stamp
        return self._registry

    def write(self, registry: Registry) -> None:
        """Replace the file atomically (call under the registry lock)."""
        write_metadata(self.path, registry.to_json(), overwrite=True)
        self._registry = None
