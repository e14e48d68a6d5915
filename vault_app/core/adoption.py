"""Taking over a file whose owners have all left the vault (``vault adopt``).

Only an owner may change who reads a file, so a file whose owners were all removed would
be stuck: readable by its remaining readers, changeable by nobody. Every file is also
wrapped for the vault's recovery key, which the admins keep offline; with it, an admin
re-encrypts the file under a fresh key for new owners (the remaining members keep their
roles) and signs an ``adopt`` record. The history rules accept that record only from an
admin, and only if none of the file's owners was a member any more; the author stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vault_app.core import age
from vault_app.core.acl import Record, Role
from vault_app.core.errors import AccessDeniedError, ErrorKind, VaultError
from vault_app.core.file_ops import file_refs, pipe, recipients_for, write
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.recipients import Identity
from vault_app.core.session import Session
from vault_app.core.verify import checked_head


def adopt(session: Session, locked: Path, recovery: Identity, owners: Sequence[str], *,
          progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Record:
    """Make ``owners`` the owners of the orphaned ``locked``, with the recovery key."""
    me = session.require_admin()
    session.require_current()
    if not owners:
        raise VaultError("name at least one new owner", kind=ErrorKind.USAGE)
    for name in owners:
        session.registry.member(name)  # each an active member
    with session.file_lock(locked), session.folder.open_read(locked) as handle:
        head = checked_head(session, locked, handle)
        history = list(head.history or [])
        current = history[-1]
        registry = session.registry
        still = [o for o in current.owners if (m := registry.lookup(o)) is not None and m.active]
        if still:
            raise AccessDeniedError(
                f"{locked.name} still has an owner who is a member ({', '.join(still)})",
                hint=f"ask {still[0]} to share it (only files whose owners all left are "
                     "taken over)")
        file_key = age.unwrap_file_key(head.header, [recovery])
        acl = {n: r for n, r in current.acl.items()
               if (m := registry.lookup(n)) is not None and m.active}
        acl.update({name: Role.OWNER.value for name in owners})
        readers = recipients_for(session, acl)
        written: list[Record] = []
        pipe(handle, locked, head, file_key, cancel, lambda src: written.append(write(
            session, locked, src, readers=readers, acl=acl, author=current.author,
            change="adopt", prev=history, file_id=current.file_id,
            overwrite=True, expect_size=age.content_size(head.header, head.file_size),
            progress=progress, cancel=cancel)))
        session.audit("adopt", locked, owners=list(owners), signed_by=me.name,
                      **file_refs(written[0], len(history) + 1))
    return written[0]
