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

from vault_app.core.acl import Status, Verdict, verify_history
from vault_app.core.errors import AgeError, FileOperationError, KeyFormatError, SignatureError
from vault_app.core.file_head import Head, read_head
from vault_app.core.members import Registry
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


def judge(head: Head, registry: Registry, recovery_recipient: str) -> Verdict:
    """The header's verdict: every signature and ACL step, signers trusted by the
    registry, and the file wrapped for this vault's recovery key."""
    if head.history is None:
        return Verdict(Status.UNSIGNED, "a plain age file, without a vault signature")
    for name in sorted({r.signer for r in head.history}):
        if name in registry.problems:  # a swapped or forged key: never "unknown"
            return Verdict(Status.INVALID, f"the registry entry of {name} is not "
                           f"trustworthy: {registry.problems[name]}")
    verdict = verify_history(head.history, head.recipients, registry.lookup)
    if verdict.ok and head.history[-1].recovery != recovery_recipient:
        return Verdict(Status.INVALID, "it is not wrapped for this vault's recovery key")
    return verdict


def checked_head(session: Session, locked: Path) -> Head:
    """Read a header and refuse anything whose signature is not valid."""
    head = read_head(locked)
    verdict = judge(head, session.registry, session.recovery_recipient)
    if not verdict.ok or head.history is None:
        raise SignatureError(f"{locked.name}: {verdict.status.value}: {verdict.detail}")
    return head


def verify_files(session: Session, paths: Iterable[Path]) -> list[FileVerdict]:
    """Registry problems first, then each of ``paths`` (reading every file whole)."""
    registry = session.registry
    results = [FileVerdict(session.registry_store.path, Status.INVALID,
                           f"member {name}: {problem}")
               for name, problem in sorted(registry.problems.items())]
    results.extend(_verify_file(session, Path(path)) for path in paths)
    return results


def _verify_file(session: Session, path: Path) -> FileVerdict:
    try:
        head = read_head(path)
    except (AgeError, KeyFormatError, FileOperationError) as exc:
        return FileVerdict(path, Status.UNREADABLE, str(exc))
    registry = session.registry
    verdict = judge(head, registry, session.recovery_recipient)
    if not verdict.ok or head.history is None:
        return FileVerdict(path, verdict.status, verdict.detail)
    current = head.history[-1]
    if payload_digest(path, head.header_len) != current.payload_sha256:
        return FileVerdict(path, Status.INVALID, "the content is not the signed content")
    for name, recipient in current.readers.items():
        member = registry.lookup(name)
        if member is None or member.recipient != recipient:
            return FileVerdict(path, Status.INVALID,
                               f"reader {name}'s key is not the one in the member registry")
    return FileVerdict(path, verdict.status, verdict.detail)
