"""Changing who belongs to a vault: admins sign members into the registry, or close their
membership (the entry stays, so their old signatures still verify). Each change makes a
new registry version signed by the admin, runs under the registry lock and is recorded in
the audit log with that version and the member's fingerprint.
"""

from __future__ import annotations

from vault_app.core.errors import AccessDeniedError, ErrorKind, VaultError
from vault_app.core.members import Member, new_member
from vault_app.core.session import Session
from vault_app.core.vault_config import check_policy


def add_member(session: Session, name: str, recipient: str, signing_key: str, *,
               admin: bool, via: str = "keys given") -> Member:
    """Sign and register a member's public keys (a removed member's name may come back
    with new keys: a new period)."""
    me = session.require_admin()
    session.require_current()
    check_policy(session.post_quantum, recipient, name)
    entry = new_member(name, recipient, signing_key, admin=admin, added_by=me.name,
                       clock=session.clock)
    with session.registry_lock():
        registry = session.registry
        existing = registry.trusted.get(name)
        if name in registry.problems or (existing is not None and existing.active):
            raise VaultError(f"{name} is already a member of this vault", kind=ErrorKind.EXISTS,
                             hint="remove them first to change their keys")
        changed = registry.changed(me, add=entry)
        session.registry_store.write(changed)
        added = changed.member(name)
        session.audit("member-add", f"member:{name}", admin=admin,
                      fingerprint=added.fingerprint(), registry=changed.version,
                      entry=added.to_json(), via=via)
    return added


def remove_member(session: Session, name: str) -> None:
    """Close ``name``'s membership (their entry stays, re-signed by the acting admin)."""
    me = session.require_admin()
    session.require_current()
    if name == session.config["root_admin"]:
        raise AccessDeniedError("the vault's first admin cannot be removed")
    if name == me.name:
        raise AccessDeniedError("an admin cannot remove themselves",
                                hint="ask another admin to remove you")
    with session.registry_lock():
        registry = session.registry
        changed = registry.changed(me, remove=name, when=session.now())
        session.registry_store.write(changed)
        session.audit("member-remove", f"member:{name}", registry=changed.version,
                      entry=changed.trusted[name].to_json())
