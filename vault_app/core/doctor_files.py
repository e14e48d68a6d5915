"""``vault doctor`` for files: copies and forks of one file, and versions put back.

Files that share a file id are versions of one file (a sync tool's conflict copy, a copy
made outside the app). Their signed histories say how they relate:

* one history is the start of the other: the shorter is an older version; the newer one
  is kept under the file's name and the older is set aside;
* they forked (changed apart after a common version): the version with the newest signed
  record keeps the name; a revocation made on either side is never undone: whoever was
  revoked on one side loses access on the other too (an admin's ``repair`` record, the file
  re-encrypted under a fresh key); and the other version is kept as a file of its own
  (an admin's ``split`` record: a new file id and name, its history and author kept).

A file the audit log knows in a newer version than the folder holds (an older copy put
back, with no newer copy left to restore) gets every revocation the log records for the
lost versions applied again. Decrypting for a re-encryption uses the admin's own key
where the file is shared with them, else the recovery key (``vault doctor -i``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.core import age
from vault_app.core.acl import Record, new_file_id
from vault_app.core.doctor import Action, Repair
from vault_app.core.errors import ConflictError, NoIdentityMatchError, VaultError
from vault_app.core.file_head import Head, read_head_from
from vault_app.core.file_ops import file_refs, pipe, recipients_for, write
from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.core.sync_conflicts import conflict_name
from vault_app.core.value_class import value_class
from vault_app.core.walk import scan

if TYPE_CHECKING:
    from vault_app.core.vault import Vault


@value_class
class Version:
    path: Path
    history: list[Record]

    @property
    def current(self) -> Record:
        return self.history[-1]

    def common(self, other: Version) -> int:
        """How many records the two histories share from the start."""
        count = 0
        for mine, theirs in zip(self.history, other.history, strict=False):
            if mine.digest() != theirs.digest():
                break
            count += 1
        return count


def _versions(vault: Vault) -> dict[str, list[Version]]:
    session = vault._session
    by_id: dict[str, list[Version]] = {}
    for path in scan(vault.path):
        try:
            with session.folder.open_read(path) as handle:
                head = read_head_from(handle, path)
        except VaultError:
            continue
        if head.history is not None:
            by_id.setdefault(head.history[-1].file_id, []).append(Version(path, head.history))
    return by_id


def actions(vault: Vault) -> list[Action]:
    found: list[Action] = []
    versions = _versions(vault)
    for group in versions.values():
        if len(group) > 1:
            found += _group_actions(vault, group)
    found += _rollback_actions(vault, {k: v[0] for k, v in versions.items() if len(v) == 1})
    return found


def _main(vault: Vault, group: Sequence[Version]) -> Version:
    """The version under the file's own name (not a conflict-marked copy), else the longest."""
    named = [v for v in group if vault._session.name_of(v.path) == v.current.name
             and conflict_name(v.path.name) is None]
    return (named or sorted(group, key=lambda v: (len(v.history), v.current.signed)))[-1]


def _group_actions(vault: Vault, group: Sequence[Version]) -> list[Action]:
    main = _main(vault, group)
    found: list[Action] = []
    for other in group:
        if other is main:
            continue
        shared = main.common(other)
        if shared == len(other.history):
            found.append(Action(f"set aside {_rel(vault, other.path)}: an older version of "
                                f"{_rel(vault, main.path)}",
                                functools.partial(_set_aside, path=other.path)))
        elif shared == len(main.history):
            found.append(Action(f"put the newer version {_rel(vault, other.path)} back under "
                                f"{_rel(vault, main.path)}, and set the older one aside",
                                functools.partial(_promote, main=main, newer=other)))
        else:
            found += _fork_actions(vault, main, other, shared)
    return found


def _fork_actions(vault: Vault, main: Version, other: Version, shared: int) -> list[Action]:
    # the newest signed record wins (a tie: the longer history, then the named file)
    winner, loser = sorted((main, other), key=lambda v: (v.current.signed, len(v.history),
                                                         v is main), reverse=True)
    base = main.history[shared - 1].acl if shared else {}
    revoked = {n for n in base if n not in winner.current.acl or n not in loser.current.acl}
    keep = [n for n in winner.current.acl if n not in revoked]
    found: list[Action] = []
    if loser is main:  # the newer fork is the copy: it takes the file's name
        found.append(Action(
            f"keep the newer fork {_rel(vault, winner.path)} under "
            f"{_rel(vault, main.path)} (the older fork becomes a file of its own)",
            lambda r: _swap(r, main, winner)))
    name_path = main.path
    if set(keep) != set(winner.current.acl):
        found.append(Action(
            f"take {', '.join(sorted(set(winner.current.acl) - set(keep)))}'s access to "
            f"{_rel(vault, name_path)} away again (revoked in the other fork: a revocation is "
            "never undone); the file is re-encrypted under a fresh key",
            lambda r: _reduce(r, name_path, revoked)))
    new_path = _fork_name(loser, vault)
    found.append(Action(
        f"keep the other fork of {_rel(vault, name_path)} (last signed by "
        f"{loser.current.signer} on {loser.current.signed[:10]}) as a file of its own, "
        f"{_rel(vault, new_path)}, without anyone revoked on either side",
        lambda r: _split(r, loser.path if loser is not main else _aside_path(r, main),
                         new_path, revoked)))
    return found


def _rollback_actions(vault: Vault, single: dict[str, Version]) -> list[Action]:
    records = vault._session.audit_log().records()
    found: list[Action] = []
    for file_id, version in single.items():
        revoked = {str(r.details.get("user")) for r in records
                   if r.action == "revoke" and r.details.get("file") == file_id
                   and isinstance(r.details.get("version"), int)
                   and int(r.details["version"]) > len(version.history)}
        again = revoked & set(version.current.acl)
        if again:
            found.append(Action(
                f"take {', '.join(sorted(again))}'s access to {_rel(vault, version.path)} "
                "away again: the audit log records the revocation, but an older version "
                "was put back", functools.partial(_reduce, path=version.path, revoked=again)))
    return found


# -- the repairs ---------------------------------------------------------------------------


def _rel(vault: Vault, path: Path) -> str:
    return os.path.relpath(path, vault.path)


def _set_aside(repair: Repair, path: Path) -> str:
    kept = repair.set_aside(repair.vault._session.folder.parts(path))
    return f"set aside {_rel(repair.vault, path)} in {kept}"


def _promote(repair: Repair, main: Version, newer: Version) -> str:
    aside = _set_aside(repair, main.path)
    repair.vault._session.folder.move(newer.path, main.path)
    return f"{aside}; put {_rel(repair.vault, newer.path)} back under its name"


def _aside_path(repair: Repair, version: Version) -> Path:
    """Where ``_swap`` set the main version aside (for the split that follows it)."""
    parts = repair.vault._session.folder.parts(version.path)
    return repair.vault.path / ".vault" / "resolved" / repair.stamp / "__".join(parts)


def _swap(repair: Repair, main: Version, winner: Version) -> str:
    return _promote(repair, main, winner)


def _fork_name(version: Version, vault: Vault) -> Path:
    marker = conflict_name(version.path.name)
    original = marker.original if marker else version.path.name
    stem = original[: -len(LOCKED_SUFFIX)] if original.endswith(LOCKED_SUFFIX) else original
    base, dot, ext = stem.rpartition(".")
    if not dot:
        base, ext = stem, ""
    label = f" (fork by {version.current.signer} {version.current.signed[:10]})"
    name = f"{base}{label}{dot}{ext}{LOCKED_SUFFIX}"
    return version.path.parent / name


def _open_key(repair: Repair, head: Head, path: Path) -> bytes:
    identities = [repair.vault.keys().identity]
    if repair.recovery is not None:
        identities.append(repair.recovery)  # type: ignore[arg-type]
    try:
        return age.unwrap_file_key(head.header, identities)
    except NoIdentityMatchError:
        raise ConflictError(f"{path.name}: it is not shared with you, so it cannot be "
                            "re-encrypted to repair it", hint="run vault doctor with the "
                            "vault's recovery key (-i), or ask one of its owners") from None


def _reencrypt(repair: Repair, source: Path, dest: Path, acl: dict[str, str], *,
               change: str, overwrite: bool, new_id: bool) -> Record:
    session = repair.vault._session
    with session.folder.open_read(source) as handle:
        head = read_head_from(handle, source)
        history = list(head.history or [])
        current = history[-1]
        file_key = _open_key(repair, head, source)
        readers = recipients_for(session, acl)
        written: list[Record] = []
        pipe(handle, source, head, file_key, None, lambda src: written.append(write(
            session, dest, src, readers=readers, acl=acl, author=current.author,
            change=change, prev=history, file_id=new_file_id() if new_id else current.file_id,
            overwrite=overwrite, expect_size=age.content_size(head.header, head.file_size),
            progress=None, cancel=None)))
    session.audit(change, dest, **file_refs(written[0], len(history) + 1))
    return written[0]


def _reduce(repair: Repair, path: Path, revoked: set[str]) -> str:
    session = repair.vault._session
    with session.file_lock(path), session.folder.open_read(path) as handle:
        current = (read_head_from(handle, path).history or [])[-1]
    acl = {n: r for n, r in current.acl.items() if n not in revoked
           and (m := session.registry.lookup(n)) is not None and m.active}
    _reencrypt(repair, path, path, acl, change="repair", overwrite=True, new_id=False)
    return f"took {', '.join(sorted(set(current.acl) - set(acl)))}'s access to " \
           f"{_rel(repair.vault, path)} away"


def _split(repair: Repair, source: Path, dest: Path, revoked: set[str]) -> str:
    session = repair.vault._session
    with session.folder.open_read(source) as handle:
        current = (read_head_from(handle, source).history or [])[-1]
    acl = {n: r for n, r in current.acl.items() if n not in revoked
           and (m := session.registry.lookup(n)) is not None and m.active}
    if "owner" not in acl.values():
        raise ConflictError(f"{source.name}: none of its owners may keep it, so it cannot be "
                            "a file of its own; it stays set aside in .vault/resolved/")
    _reencrypt(repair, source, dest, acl, change="split", overwrite=False, new_id=True)
    if session.folder.parts(source)[0] != ".vault":
        _set_aside(repair, source)
    return f"kept the other fork as {_rel(repair.vault, dest)}"
