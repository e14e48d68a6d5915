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
from pathlib import Path
from typing import Any

from vault_app.core import age, locks, signing
from vault_app.core.audit import AuditLog
from vault_app.core.errors import AccessDeniedError, MemberKeyMismatchError, NoIdentityMatchError
from vault_app.core.file_head import Head
from vault_app.core.keystore import Keystore, UserKeys
from vault_app.core.layout import META, check_name
from vault_app.core.members import Registry
from vault_app.core.registry_store import RegistryStore


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
        self.registry_store = RegistryStore(self.meta, config)
        self._keys: UserKeys | None = None

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

    # -- who acts ------------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return self.registry_store.read()

    def keys(self) -> UserKeys:
        """The acting user's private keys, checked against their signed registry entry."""
        if self._keys is None:
            member = self.registry.member(self.user)
            keys = self.keystore.load(self.user)
            if (keys.recipient, keys.signing_public) != (member.recipient, member.signing_key):
                raise MemberKeyMismatchError(
                    f"the keys of {self.user!r} in this account differ from the vault's "
                    "registry entry")
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
        return locks.file_lock(self.meta, self.path, locked)

    def registry_lock(self) -> contextlib.AbstractContextManager[None]:
        return locks.registry_lock(self.meta)

    def audit(self, action: str, target: Path | str, **details: Any) -> None:
        """Append a signed, chained record to .vault/audit.log once the change is durable."""
        if isinstance(target, Path):
            path = target.absolute()
            target = (path.relative_to(self.path).as_posix() if self.path in path.parents
                      else str(path))
        AuditLog(self.path, vault_id=self.vault_id, clock=self.clock).append(
            self.keys(), action, target, details)
