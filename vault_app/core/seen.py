"""What this account has seen of each vault, kept in the user's own config folder.

A shared or synced vault folder can be put back to an older state by anyone who can
write it: an older ``members.json`` in which a removed member is still active, an older
version of a file whose access list still names a revoked reader, an audit log cut
short. Each copy is validly signed, so the folder alone cannot tell. Each client
therefore remembers, outside the vault, the newest state it has verified:

* the member registry's version and digest;
* per file id, how long its signed history was and the digest of its latest record;
* the audit log's last record (sequence number, hash, where it ends) and the hashes of
  the records members' checkpoints named;
* the vault's root key and id per folder path (a changed identity at a known path is
  refused: see ``vault_config``).

Anything older than what was seen is a rollback; the same version with another digest is
a fork. Updates only move forward (several processes of one user merge under a lock).
The file is this account's own (0600 in a 0700 folder), never in the vault.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vault_app.core import lockfile, safe_fs, safe_json
from vault_app.core.errors import FileOperationError, MalformedError
from vault_app.core.value_class import field, value_class

_LIMIT = 64 << 20


@value_class(frozen=False)
class AuditSeen:
    """The audit log as last verified: its last record and the checkpoints' records."""

    seq: int = 0
    hash: str = ""
    start: int = 0   # byte offset of that record's line
    end: int = 0     # byte offset just past it
    heads: dict[int, str] = field(default_factory=dict)  # seq -> hash named by checkpoints


@value_class(frozen=False)
class FileSeen:
    version: int     # length of the signed history
    record: str      # digest of its latest record
    name: str = ""   # where it was (for messages)


@value_class(frozen=False)
class VaultSeen:
    """Everything remembered of one vault (by id)."""

    vault_id: str
    registry_version: int = 0
    registry_digest: str = ""
    audit: AuditSeen = field(default_factory=AuditSeen)
    files: dict[str, FileSeen] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"vault": self.vault_id,
                "registry": {"version": self.registry_version,
                             "digest": self.registry_digest},
                "audit": {"seq": self.audit.seq, "hash": self.audit.hash,
                          "start": self.audit.start, "end": self.audit.end,
                          "heads": {str(k): v for k, v in self.audit.heads.items()}},
                "files": {k: {"version": f.version, "record": f.record, "name": f.name}
                          for k, f in self.files.items()}}

    @classmethod
    def from_json(cls, vault_id: str, data: Any) -> VaultSeen:
        seen = cls(vault_id)
        if not isinstance(data, dict) or data.get("vault") != vault_id:
            return seen
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            registry = data["registry"]
            seen.registry_version = int(registry["version"])
            seen.registry_digest = str(registry["digest"])
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            audit = data["audit"]
            seen.audit = AuditSeen(int(audit["seq"]), str(audit["hash"]), int(audit["start"]),
                                   int(audit["end"]),
                                   {int(k): str(v) for k, v in audit["heads"].items()})
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            seen.files = {str(k): FileSeen(int(v["version"]), str(v["record"]),
                                           str(v.get("name", "")))
                          for k, v in data["files"].items()}
        return seen


class SeenStore:
    """This account's memory of one vault, in ``<config>/seen/<vault id>.json``."""

    def __init__(self, config_dir: Path, vault_id: str) -> None:
        self.folder = config_dir / "seen"
        self.vault_id = vault_id
        self.name = f"{safe_fs.temp_stem(vault_id)}.json"
        self._state: VaultSeen | None = None
        self._stamp: tuple[int, int, int] | None = None  # of the file ``_state`` came from

    @property
    def state(self) -> VaultSeen:
        """What was seen (read once per process; later changes come through ``update``)."""
        if self._state is None:
            self._state = self._read()
        return self._state

    def _read(self) -> VaultSeen:
        try:
            with safe_fs.open_folder(self.folder.parent, [self.folder.name]) as folder:
                info = folder.lstat(self.name)
                stamp = None if info is None else (info.st_ino, info.st_mtime_ns,
                                                   info.st_size)
                if stamp is not None and stamp == self._stamp and self._state is not None:
                    return self._state  # unchanged since this process read or wrote it
                data = folder.read(self.name, _LIMIT)
        except (OSError, FileOperationError):
            return VaultSeen(self.vault_id)
        self._stamp = stamp
        if data is None:
            return VaultSeen(self.vault_id)
        try:
            return VaultSeen.from_json(self.vault_id, safe_json.loads(
                data, what="remembered vault state", max_bytes=_LIMIT, max_depth=8))
        except MalformedError:
            return VaultSeen(self.vault_id)

    @contextlib.contextmanager
    def update(self) -> Iterator[VaultSeen]:
        """Change what was seen: the block gets the newest state on disk (merged with other
        processes of this account under a lock), and what it leaves is written back."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            folder = safe_fs.open_folder(self.folder.parent, [self.folder.name])
        except (OSError, FileOperationError):
            yield self.state  # nowhere to remember: this run still uses it
            return
        with folder, lockfile.hold(folder, f"{self.name}.lock", mode=0o600, timeout=30,
                                   what="this account's memory of the vault"):
            state = self._read()
            yield state
            with folder.replace(self.name, 0o600) as out:
                out.write(json.dumps(state.to_json(), separators=(",", ":")).encode())
            info = folder.lstat(self.name)
            self._stamp = None if info is None else (info.st_ino, info.st_mtime_ns,
                                                     info.st_size)
            self._state = state


def remember_file(state: VaultSeen, file_id: str, version: int, record: str,
                  name: str) -> None:
    """Move the memory of a file forward (never back)."""
    known = state.files.get(file_id)
    if known is None or version > known.version:
        state.files[file_id] = FileSeen(version, record, name)
