"""The rules a file's signed access history must follow (header only, no I/O).

Each record of a file's ACL history (``acl.Record``) is checked against the member
registry and against the record before it:

* its signature, by the key its signer had at the registry version the record names (so a
  member's key signs nothing after their removal; records of the first format name no
  version and are checked with the signer's current entry);
* registry versions never go back along a history, and never beyond the registry itself
  (that would mean the registry was put back to an older version);
* who may change what: only an owner changes who reads; only an owner or editor the
  content; a new content version is by its author (``lock``/``update``: author = signer),
  while a re-encryption by an owner (``revoke``, a demoting ``share``) keeps the author;
  ``adopt`` (a file whose owners all left, taken over with the recovery key) is by an admin;
  ``repair`` and ``split`` (``vault doctor`` resolving a fork: taking access away, or
  making a forked version a file of its own) are by an admin and never give anyone more
  access than the version before; ``rename`` only moves the file;
* the current record names this vault and the file's own path in it, so a file renamed,
  moved or swapped with another outside the app is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault_app.core import signing
from vault_app.core.acl import CAN_SHARE, CAN_WRITE, Record, Status, Verdict, stanzas_digest
from vault_app.core.header import Stanza
from vault_app.core.members import Member, Registry

#: Changes that re-encrypt the content without being a new version of it.
_REKEYS = ("revoke", "share", "adopt", "repair", "split")
#: Admins' repairs (vault doctor): access may only shrink.
_REPAIRS = ("repair", "split")
_POWER = {"reader": 1, "editor": 2, "owner": 3}


def _signer(record: Record, registry: Registry) -> tuple[Member | None, Verdict | None]:
    """The entry whose key must have signed ``record``, or the verdict why there is none."""
    if record.format < 2:
        entry = registry.lookup(record.signer)
    else:
        if record.registry > registry.version:
            return None, Verdict(Status.ROLLBACK, (
                f"it was signed with member registry version {record.registry}, but the "
                f"registry here is at version {registry.version}: the registry was put back "
                "to an older copy, or this file comes from another copy of the vault"))
        entry = registry.lookup(record.signer, record.registry)
        if entry is None and registry.lookup(record.signer) is not None:
            return None, Verdict(Status.INVALID, (
                f"signed by {record.signer}, who was not a member at registry version "
                f"{record.registry} (a removed member's key)"))
    if entry is None:
        return None, Verdict(Status.UNKNOWN_SIGNER,
                             f"signed by {record.signer}, who is not a member of this vault")
    return entry, None


def _check_step(prev: Record, cur: Record, registry: Registry) -> str | None:
    """Why ``cur`` may not follow ``prev`` (None if it may)."""
    role = prev.acl.get(cur.signer)
    if cur.file_id != prev.file_id and not (cur.format >= 2 and cur.change == "split"):
        return "its history mixes two files"
    if cur.prev != prev.digest():
        return "its history was edited"
    if prev.format >= 2 and cur.format < 2:
        return "a record of the older format follows a newer one"
    if cur.format >= 2 and prev.format >= 2 and cur.registry < prev.registry:
        return "its history goes back to an older member registry"
    access_changed = (cur.acl, cur.readers, cur.recovery) != (prev.acl, prev.readers,
                                                               prev.recovery)
    content_changed = (cur.content_digests != prev.content_digests
                       or cur.author != prev.author)
    if cur.format >= 2:
        problem = _check_v2_step(prev, cur, registry, access_changed, content_changed)
        if problem is not None or cur.change in ("adopt", *_REPAIRS):
            return problem
    if access_changed and cur.change != "revoke" and role not in CAN_SHARE:
        return f"{cur.signer} changed the access list without being an owner"
    if cur.change == "revoke" and role not in CAN_SHARE:
        return f"{cur.signer} revoked access without being an owner"
    if content_changed and role not in CAN_WRITE:
        return f"{cur.signer} changed the content without being an owner or editor"
    return None


def _check_v2_step(prev: Record, cur: Record, registry: Registry, access_changed: bool,
                   content_changed: bool) -> str | None:
    if cur.vault != prev.vault and prev.format >= 2:
        return "its history mixes two vaults"
    if cur.change in ("lock", "update"):
        if cur.author != cur.signer:
            return f"{cur.signer} wrote new content but names {cur.author} as its author"
    elif cur.author != prev.author:
        return f"a {cur.change} by {cur.signer} changed the author"
    if prev.format >= 2 and cur.name != prev.name and cur.change not in ("rename", "split"):
        return "the file's name changed outside a rename"
    if cur.change == "rename" and (access_changed or content_changed):
        return "a rename changed more than the name"
    if cur.change == "rename" and prev.acl.get(cur.signer) not in CAN_WRITE:
        return f"{cur.signer} renamed the file without being an owner or editor"
    if content_changed and cur.change not in ("lock", "update", *_REKEYS):
        return f"a {cur.change} changed the content"
    if cur.change in _REPAIRS:
        admin = registry.lookup(cur.signer, cur.registry)
        if admin is None or not admin.admin:
            return f"{cur.signer} repaired the file without being an admin"
        more = [n for n, r in cur.acl.items()
                if _POWER.get(r, 0) > _POWER.get(prev.acl.get(n, ""), 0)]
        if more:
            return f"a {cur.change} by {cur.signer} gave {more[0]} more access"
    if cur.change == "adopt":
        admin = registry.lookup(cur.signer, cur.registry)
        if admin is None or not admin.admin:
            return f"{cur.signer} took the file over without being an admin"
        kept = [o for o in prev.owners if registry.lookup(o, cur.registry) is not None]
        if kept:
            return (f"{cur.signer} took the file over while its owner {kept[0]} was still a "
                    "member")
    return None


def verify_history(history: Sequence[Record], recipient_stanzas: Sequence[Stanza],
                   registry: Registry, *, vault_id: str | None = None,
                   name: str | None = None) -> Verdict:
    """Check every signature and every step of a file's ACL history (header only).

    ``vault_id`` and ``name`` (the file's path in the vault, POSIX separators) are what
    the current record must name, if it is of the second format.
    """
    for index, record in enumerate(history):
        signer, refused = _signer(record, registry)
        if refused is not None:
            return refused
        assert signer is not None
        if not signing.verify(signer.signing_key, record.signature, record.message()):
            return Verdict(Status.INVALID,
                           f"the signature by {record.signer} does not verify: the access "
                           "list or header was changed")
        if index == 0:
            if record.signer != record.author or record.acl.get(record.author) != "owner":
                return Verdict(Status.INVALID, "the first version is not signed by its author")
            if record.prev:
                return Verdict(Status.INVALID, "its history was cut")
        else:
            problem = _check_step(history[index - 1], record, registry)
            if problem is not None:
                return Verdict(Status.INVALID, problem)
    current = history[-1]
    if current.format >= 2:
        if vault_id is not None and current.vault != vault_id:
            return Verdict(Status.INVALID, "it was signed for another vault")
        if name is not None and current.name != name:
            return Verdict(Status.INVALID, (
                f"it was signed as {current.name!r}: it was renamed or moved outside the "
                "app, or swapped with another file"))
    if stanzas_digest(recipient_stanzas) != current.stanzas_sha256:
        return Verdict(Status.INVALID, "the recipients in the header are not the signed ones")
    if set(current.readers) != set(current.acl):
        return Verdict(Status.INVALID, "the readers and the access list disagree")
    expected = len(current.readers) + (1 if current.recovery else 0)
    if len(recipient_stanzas) != expected:
        return Verdict(Status.INVALID, "the header wraps the file key for unlisted recipients")
    when = current.signed[:10]
    detail = f"signed by {current.signer} on {when}"
    if current.author != current.signer:
        detail += f"; content by {current.author}"
    return Verdict(Status.VALID, detail)
