"""Who reads a locked file: share (add a reader, or change a role) and revoke.

Sharing rewrites only the header: the file key is wrapped for one more reader and a new
ACL record is signed; the payload (and the list of its segment digests) is copied byte
for byte (in the kernel where it can be). Revoking needs a fresh file key, so the payload
is re-encrypted from a decrypting thread without a plaintext file. Both run under the
file's lock and only by an owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from vault_app.core import age, segments
from vault_app.core.acl import Record, Role, encode_stanza, stanzas_digest
from vault_app.core.errors import (
    AccessDeniedError,
    FileOperationError,
    MemberKeyMismatchError,
    SignatureError,
    UnknownUserError,
)
from vault_app.core.file_head import Head
from vault_app.core.file_ops import file_refs, owned_head, pipe, recipients_for, write
from vault_app.core.header import Stanza
from vault_app.core.keys import parse_recipient
from vault_app.core.listing import FileInfo
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.session import Session
from vault_app.core.value_class import replace
from vault_app.core.vault_config import check_policy
from vault_app.core.vault_io import copy_range

_POWER = {Role.READER.value: 1, Role.EDITOR.value: 2, Role.OWNER.value: 3}


def share(session: Session, locked: Path, user: str, role: Role, *,
          progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> None:
    """Give ``user`` the ``role`` on ``locked``. Adding a reader or raising a role is a
    header-only rewrite under the same file key; lowering a role re-encrypts under a fresh
    file key, so a header kept from before cannot be put back to regain the old role."""
    me = session.keys()
    session.require_current()
    target = session.registry.member(user)
    check_policy(session.post_quantum, target.recipient, user)
    with session.file_lock(locked), session.folder.open_read(locked) as handle:
        head, current = owned_head(session, locked, handle)
        file_key = session.file_key(head, locked)
        acl = {**current.acl, user: role.value}
        _need_owner(acl, locked)
        readers, stanzas = dict(current.readers), list(head.recipients)
        if user in readers and readers[user] != target.recipient:
            raise MemberKeyMismatchError(
                f"{user}'s key changed since they were given this file",
                hint=f"revoke {user} first, then share again")
        if acl == current.acl:
            return
        history = list(head.history or [])
        if user in current.acl and _POWER[role.value] < _POWER[current.acl[user]]:
            written: list[Record] = []  # a demotion: fresh file key, content re-encrypted
            pipe(handle, locked, head, file_key, cancel, lambda src: written.append(write(
                session, locked, src, readers=readers, acl=acl, author=current.author,
                change="share", prev=history, file_id=current.file_id, overwrite=True,
                expect_size=age.content_size(head.header, head.file_size), progress=progress,
                cancel=cancel)))
            record = written[0]
        else:
            if user not in readers:
                readers[user] = target.recipient
                stanzas += age.wrap_stanzas(file_key, [parse_recipient(target.recipient)])
            record = replace(
                current, **session.record_fields(locked), acl=acl, readers=readers,
                stanzas_sha256=stanzas_digest(stanzas), signer=me.name, signed=session.now(),
                change="share", prev=current.digest(), signature="").sign(me)
            _rewrite_header(session, handle, locked, head, file_key, stanzas,
                            [*history, record])
        session.audit("share", locked, user=user, role=role.value,
                      **file_refs(record, len(history) + 1))


def _rewrite_header(session: Session, src: BinaryIO, locked: Path, head: Head,
                    file_key: bytes, stanzas: list[Stanza], history: list[Record]) -> None:
    """A new header over the payload of ``src`` (the file the header was checked from)."""
    listed = ([segments.encode_stanza(head.segments.digests, head.segments.chunks)]
              if head.segments is not None else [])
    header = age.seal_header(file_key, [*stanzas, *listed, encode_stanza(history)])
    payload = head.file_size - head.header_len
    with session.folder.replace(locked, overwrite=True) as out:
        out.write(header.encode())
        copy_range(src, out, head.header_len, payload)
        if out.tell() != len(header.encode()) + payload:
            raise FileOperationError(f"{locked}: the payload copy is incomplete")


def revoke(session: Session, locked: Path, user: str, *, progress: ProgressFn | None,
           cancel: CancelToken | None) -> None:
    """Remove ``user``: a fresh file key, the payload re-encrypted, replaced atomically."""
    session.keys()  # mismatched keys are refused before the file's lock is taken
    session.require_current()
    with session.file_lock(locked), session.folder.open_read(locked) as handle:
        head, current = owned_head(session, locked, handle)
        if user not in current.acl:
            raise UnknownUserError(f"{user} has no access to {locked.name}")
        file_key = session.file_key(head, locked)
        acl = {n: r for n, r in current.acl.items()
               if n != user and (m := session.registry.lookup(n)) is not None and m.active}
        _need_owner(acl, locked)
        readers = recipients_for(session, acl)
        assert head.history is not None
        written: list[Record] = []
        pipe(handle, locked, head, file_key, cancel, lambda src: written.append(write(
            session, locked, src, readers=readers, acl=acl, author=current.author,
            change="revoke", prev=list(head.history or []), file_id=current.file_id,
            overwrite=True, expect_size=age.content_size(head.header, head.file_size),
            progress=progress, cancel=cancel)))
        session.audit("revoke", locked, user=user,
                      **file_refs(written[0], len(head.history or []) + 1))


def revoke_everywhere(session: Session, user: str, files: Iterable[FileInfo], *,
                      cancel: CancelToken | None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Revoke ``user`` from each of ``files`` whose ACL names them:
    (revoked, [(skipped, why)])."""
    done: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for info in files:
        if user not in info.acl:
            continue
        try:
            revoke(session, info.path, user, progress=None, cancel=cancel)
        except (AccessDeniedError, SignatureError, UnknownUserError) as exc:
            skipped.append((info.path, str(exc)))
        else:
            done.append(info.path)
    return done, skipped


def _need_owner(acl: dict[str, str], locked: Path) -> None:
    if Role.OWNER.value not in acl.values():
        raise AccessDeniedError(f"{locked.name} would be left without an owner",
                                hint="make someone else an owner first")
