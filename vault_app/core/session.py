"""An opened vault acting as one user: what every vault operation works with.

The operation modules (``file_ops``, ``sharing``, ``membership``, ``listing``,
``verify``) take a ``Session``: the vault's folder and signed config, the acting user
and their keys (checked against the registry), the registry, the locks, the clock and
the audit log. ``vault.Vault`` is the public face that owns one and hands it to them.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import threading
from pathlib import Path
from typing import Any

from vault_app.core import age, freshness, locks, signing
from vault_app.core.acl import Record
from vault_app.core.audit import AuditLog
from vault_app.core.errors import (
    AccessDeniedError,
    ConflictError,
    MemberKeyMismatchError,
    NoIdentityMatchError,
    Remedy,
    UnknownUserError,
)
from vault_app.core.file_head import Head
from vault_app.core.keystore import Keystore, UserKeys
from vault_app.core.layout import META, check_name, vault_name
from vault_app.core.members import Registry, admins, fingerprint, signing_keys
from vault_app.core.registry_store import RegistryStore
from vault_app.core.seen import AuditSeen, SeenStore
from vault_app.core.vault_folder import VaultFolder


def default_user() -> str:
    """``VAULT_USER`` if set, else the operating-system login name."""
    return os.environ.get("VAULT_USER") or getpass.getuser()


class Session:
    """The vault at ``path`` (signed ``config``), acting as ``user``. Keys are fetched
    from the keystore on first use."""

    def __init__(self, path: Path, config: dict[str, Any], *, user: str | None,
                 keystore: Keystore | None, clock: signing.Clock | None = None) -> None:
        self.path = path
        self.config = config
        self.user = check_name(user or default_user())
        self.keystore = keystore or Keystore()
        self.clock = clock
        self.meta = path / META
        self.folder = VaultFolder(path)
        self.registry_store = RegistryStore(self.folder, config)
        self.seen = SeenStore(self.keystore.config_dir, self.vault_id)
        self._keys: UserKeys | None = None
        self._learned: list[tuple[list[Record], str]] = []
        self._audit_seen: AuditSeen | None = None
        self._seen_lock = threading.Lock()  # the window saves from several threads

    # -- the config ----------------------------------------------------------------------

    @property
    def vault_id(self) -> str:
        return str(self.config["vault_id"])

    @property
    def policy(self) -> dict[str, Any]:
        return dict(self.config.get("policy", {}))

    @property
    def post_quantum(self) -> bool:
        return bool(self.policy.get("recipient_type") == "pq")

    @property
    def recovery_recipient(self) -> str:
        return str(self.config["recovery_recipient"])

    def now(self) -> str:
        return signing.now_iso(self.clock)

    def name_of(self, path: Path) -> str:
        """``path`` as it is named in the vault: below the root, with ``/``."""
        return vault_name(self.folder.parts(path))

    def record_fields(self, path: Path) -> dict[str, Any]:
        """What a new signed record of ``path`` binds beside its ACL: the record format,
        the file's name in the vault, the vault, the registry version the signer sees."""
        return {"format": 2, "name": self.name_of(path), "vault": self.vault_id,
                "registry": self.registry.version}

    # -- who acts ------------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return self.registry_store.read()

    # -- what this account saw before (rollbacks and forks) ------------------------------

    def registry_problem(self) -> str | None:
        """Why the registry is not one to build on: older than seen, forked, or not the
        document its admin signed (None if it is fine)."""
        registry = self.registry
        return (freshness.registry_problem(self.seen.state, registry)
                or registry.document_problem)

    def require_current(self) -> None:
        """Refuse to change anything on top of a rolled-back or forked registry."""
        problem = self.registry_problem()
        if problem is not None:
            raise ConflictError(f"{self.registry_store.path}: {problem}; nothing was changed")

    def learned(self, history: list[Record], name: str) -> None:
        """A file's history just checked out: remember it (written by ``save_seen``)."""
        self._learned.append((history, name))

    def save_seen(self) -> None:
        """Move this account's memory of the vault forward with what was just verified."""
        with self._seen_lock:
            self._save_seen()

    def _save_seen(self) -> None:
        registry = self.registry_store.cached
        known = self.seen.state  # a file read again at a version remembered: nothing new
        self._learned = [(h, n) for h, n in self._learned if freshness.is_news(known, h)]
        if not self._learned and self._audit_seen is None and (
                registry is None or registry.version <= self.seen.state.registry_version):
            return
        learned, self._learned = self._learned, []
        audit, self._audit_seen = self._audit_seen, None
        with self.seen.update() as state:
            if registry is not None and self.registry_problem() is None:
                freshness.remember_registry(state, registry)
            for history, name in learned:
                freshness.remember_history(state, history, name)
            if audit is not None and audit.seq > state.audit.seq:
                state.audit = audit

    def keys(self) -> UserKeys:
        """The acting user's private keys, checked against their signed registry entry."""
        if self._keys is None:
            try:
                member = self.registry.member(self.user)
            except UnknownUserError:
                raise UnknownUserError(f"{self.user} is not a member of this vault",
                                       remedy=Remedy.ASK_TO_JOIN) from None
            keys = self.keystore.load(self.user)
            if (keys.recipient, keys.signing_public) != (member.recipient, member.signing_key):
                raise MemberKeyMismatchError(
                    f"this vault knows {self.user} by the keys {member.fingerprint()} (added "
                    f"by {member.added_by} on {member.added[:10]}), but the keys of "
                    f"{self.user} in this account's keyring are "
                    f"{fingerprint(keys.recipient, keys.signing_public)}: they were made "
                    "elsewhere or replaced, and this vault does not know them",
                    remedy=Remedy.REJOIN)
            self._keys = keys
        return self._keys

    def trust_keys(self, keys: UserKeys) -> None:
        """Use ``keys`` without the registry check: they just made the registry."""
        self._keys = keys

    def require_admin(self) -> UserKeys:
        """The acting user's keys, if they are an admin of this vault."""
        keys = self.keys()
        if not self.registry.member(self.user).admin:
            raise AccessDeniedError(f"{self.user} is not an admin of this vault",
                                    hint="ask a vault admin to do this")
        return keys

    def file_key(self, head: Head, locked: Path) -> bytes:
        """The file key of ``locked``, unwrapped with the acting user's identity (the
        header MAC checked); refused if the file is not shared with them."""
        identity = self.keys().identity  # outside the try: a wrong passphrase is not this
        try:
            return age.unwrap_file_key(head.header, [identity])
        except NoIdentityMatchError:
            raise AccessDeniedError(f"{locked.name} is not shared with {self.user}") from None

    # -- locks and the record of changes -------------------------------------------------

    def file_lock(self, locked: Path) -> contextlib.AbstractContextManager[None]:
        return locks.file_lock(self.folder, locked)

    def registry_lock(self) -> contextlib.AbstractContextManager[None]:
        return locks.registry_lock(self.folder)

    def audit_log(self) -> AuditLog:
        return AuditLog(self.path, vault_id=self.vault_id, clock=self.clock, folder=self.folder)

    def audit(self, action: str, target: Path | str, **details: Any) -> None:
        """Append a signed, chained record to .vault/audit.log (refused, and so the
        operation with it, if the log was cut or changed behind the app's back)."""
        if isinstance(target, Path):
            target = self.name_of(target)
        registry = self.registry
        seen = self.seen.state.audit
        log = self.audit_log()
        log.append(self.keys(), action, target, details, keys=signing_keys(registry),
                   admins=admins(registry), registry_version=registry.version,
                   seen=seen if seen.seq else None)
        self._audit_seen = log.checked
