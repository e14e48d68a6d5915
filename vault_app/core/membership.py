"""Changing who belongs to a vault: admins sign members into the registry, or mark them
removed (kept, so their old signatures still verify). Each change runs under the registry
lock and is recorded in the audit log.
"""

from __future__ import annotations

import dataclasses

from vault_app.core.errors import AccessDeniedError, ErrorKind, VaultError
from vault_app.core.members import Member, new_member
from vault_app.core.session import Session
from vault_app.core.vault_config import check_policy


def add_member(session: Session, name: str, recipient: str, signing_key: str, *,
               admin: bool) -> Member:
    """Sign and register a member's public keys (replacing a removed entry's keys)."""
    me = session.require_admin()
    check_policy(session.post_quantum, recipient, name)
    entry = new_member(name, recipient, signing_key, admin=admin, added_by=me.name,
                       clock=session.clock)
    with session.registry_lock():
        registry = session.registry
        existing = registry.trusted.get(name)
        if name in registry.problems or (existing is not None and existing.active):
            raise VaultError(f"{name} is already a member of this vault", kind=ErrorKind.EXISTS,
                             hint="remove them first to change their keys")
        signed = entry.signed(session.vault_id, me)
        session.registry_store.write(registry.with_entry(signed))
        session.audit("member-add", f"member:{name}", admin=admin,
                      fingerprint=signed.fingerprint())
    return signed


def remove_member(session: Session, name: str) -> None:
    """Mark a member removed (the entry stays, re-signed by the acting admin)."""
    me = session.require_admin()
    if name == session.config["root_admin"]:
        raise AccessDeniedError("the vault's first admin cannot be removed")
    with session.registry_lock():
        registry = session.registry
        removed = dataclasses.replace(registry.member(name), removed=session.now())
        session.registry_store.write(registry.with_entry(removed.signed(session.vault_id, me)))
        session.audit("member-remove", f"member:{name}")
