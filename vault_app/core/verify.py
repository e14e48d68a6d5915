"""Judging locked files: the signature verdict of a header, and the full check of a vault.

``judge`` is the header-only verdict every listing row and every operation relies on
(signatures, ACL history, recovery key); ``checked_head`` is how operations refuse a
file that fails it. ``verify_files`` goes further and reads each file whole: the payload
must be the signed one, and every reader's key the one in the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vault_app.core import freshness
from vault_app.core.acl import Status, Verdict
from vault_app.core.errors import (
    AgeError,
    ConflictError,
    FileOperationError,
    KeyFormatError,
    SignatureError,
)
from vault_app.core.file_head import Head, read_head, read_head_from
from vault_app.core.history_rules import verify_history
from vault_app.core.session import Session
from vault_app.core.vault_io import payload_digest


@dataclass(frozen=True)
class FileVerdict:
    """The outcome of verifying one file (or, for ``members.json``, one registry entry)."""

    path: Path
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is Status.VALID


def judge(session: Session, head: Head, path: Path) -> Verdict:
    """The header's verdict: every signature and ACL step, signers trusted by the
    registry at the version they signed with, the file named as it was signed, and
    wrapped for this vault's recovery key."""
    if head.history is None:
        return Verdict(Status.UNSIGNED, "a plain age file, without a vault signature")
    registry = session.registry
    for name in sorted({r.signer for r in head.history}):
        if name in registry.problems:  # a swapped or forged key: never "unknown"
            return Verdict(Status.INVALID, f"the registry entry of {name} is not "
                           f"trustworthy: {registry.problems[name]}")
    name = session.name_of(path)
    verdict = verify_history(head.history, head.recipients, registry,
                             vault_id=session.vault_id, name=name)
    if verdict.ok and head.history[-1].recovery != session.recovery_recipient:
        return Verdict(Status.INVALID, "it is not wrapped for this vault's recovery key")
    if verdict.ok:
        stale = freshness.file_verdict(session.seen.state, head.history)
        if stale is not None:
            return stale
        session.learned(head.history, name)
    return verdict


def checked_head(session: Session, locked: Path, handle: BinaryIO | None = None) -> Head:
    """Read a header (from ``handle`` if given, else opening ``locked`` in the vault) and
    refuse anything whose signature is not valid."""
    head = (read_head_from(handle, locked) if handle is not None
            else read_head(locked, folder=session.folder))
    verdict = judge(session, head, locked)
    if verdict.status in (Status.ROLLBACK, Status.CONFLICT):
        raise ConflictError(f"{locked.name}: {verdict.detail}; nothing was changed")
    if not verdict.ok or head.history is None:
        raise SignatureError(f"{locked.name}: {verdict.status.value}: {verdict.detail}")
    return head


def verify_files(session: Session, paths: Iterable[Path]) -> list[FileVerdict]:
    """Registry problems first, then each of ``paths`` (reading every file whole)."""
    registry = session.registry
    results = [FileVerdict(session.registry_store.path, Status.INVALID,
                           f"member {name}: {problem}")
               for name, problem in sorted(registry.problems.items())]
    if registry.document_problem is not None:
        results.append(FileVerdict(session.registry_store.path, Status.CONFLICT,
                                   registry.document_problem))
    results.extend(_verify_file(session, Path(path)) for path in paths)
    return results


def _verify_file(session: Session, path: Path) -> FileVerdict:
    try:
        with session.folder.open_read(path) as handle:
            return _verify_open(session, path, handle)
    except (AgeError, KeyFormatError, FileOperationError) as exc:
        return FileVerdict(path, Status.UNREADABLE, str(exc))


def _verify_open(session: Session, path: Path, handle: BinaryIO) -> FileVerdict:
    head = read_head_from(handle, path)
    registry = session.registry
    verdict = judge(session, head, path)
    if not verdict.ok or head.history is None:
        return FileVerdict(path, verdict.status, verdict.detail)
    current = head.history[-1]
    if payload_digest(handle, head.header_len) != current.payload_sha256:
        return FileVerdict(path, Status.INVALID, "the content is not the signed content")
    for name, recipient in current.readers.items():
        member = registry.lookup(name, current.registry if current.format >= 2 else None)
        if member is None or member.recipient != recipient:
            return FileVerdict(path, Status.INVALID,
                               f"reader {name}'s key is not the one in the member registry")
    return FileVerdict(path, verdict.status, verdict.detail)
