"""Judging locked files: the signature verdict of a header, and the full check of a vault.

``judge`` is the header-only verdict every listing row and every operation relies on
(signatures, ACL history, recovery key); ``checked_head`` is how operations refuse a
file that fails it. ``verify_files`` goes further and reads each file whole: the payload
must be the signed one, and every reader's key the one in the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from vault_app.core import crosscheck, freshness, segments, vault_identity
from vault_app.core.acl import Record, Status, Verdict
from vault_app.core.conflicts import (
    copy_verdict,
    duplicate_ids,
    duplicate_verdict,
    metadata_conflicts,
)
from vault_app.core.errors import (
    AgeError,
    ConflictError,
    FileOperationError,
    KeyFormatError,
    SignatureError,
)
from vault_app.core.file_head import Head, read_head, read_head_from
from vault_app.core.history_rules import verify_history
from vault_app.core.members import admins, signing_keys
from vault_app.core.segment_check import hash_segments
from vault_app.core.session import Session
from vault_app.core.value_class import value_class
from vault_app.core.vault_io import payload_digest
from vault_app.core.walk import walk_vault


@value_class
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
    copy = copy_verdict(path, head.history[-1].name or None)
    if copy is not None:
        return copy
    if verdict.ok and head.history[-1].recovery != session.recovery_recipient:
        return Verdict(Status.INVALID, "it is not wrapped for this vault's recovery key")
    listed = _segments_problem(head) if verdict.ok else None
    if listed is not None:
        return Verdict(Status.INVALID, listed)
    if verdict.ok:
        stale = freshness.file_verdict(session.seen.state, head.history)
        if stale is not None:
            return stale
        session.learned(head.history, name)
    return verdict


def _segments_problem(head: Head) -> str | None:
    """Why the segment digests in the header are not the ones the current record signs
    for a payload of this length (None if they are, or if it signs one whole digest)."""
    assert head.history is not None
    root = head.history[-1].segments_sha256
    if not root:
        return (None if head.segments is None
                else "the header lists segment digests that its record does not sign")
    if head.segments is None:
        return "the segment digests that its record signs are missing"
    try:
        segments.check_list(head.segments, root, head.payload_size)
    except SignatureError as exc:
        return str(exc)
    return None


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


def verify_files(session: Session, paths: Iterable[Path], *,
                 whole_vault: bool = False) -> list[FileVerdict]:
    """Registry problems first, then each of ``paths`` (reading every file whole). With
    ``whole_vault``, also everything that spans files: conflict copies and duplicate file
    ids, conflict copies in ``.vault/``, vaults inside the vault, the audit log, and the
    log cross-checked against the registry and the files (rollbacks, forks)."""
    registry = session.registry
    meta = session.meta
    results = [FileVerdict(session.registry_store.path, Status.INVALID,
                           f"member {name}: {problem}")
               for name, problem in sorted(registry.problems.items())]
    stale = session.registry_problem()
    if stale is not None:
        results.append(_vault_row(session.registry_store.path, stale))
    histories: dict[Path, tuple[str | None, list[Record]]] = {}
    files = [_verify_file(session, Path(path), histories) for path in paths]
    others = duplicate_ids((path, history[-1].file_id) for path, (_n, history)
                           in histories.items())
    for verdict in files:
        if verdict.path in others and verdict.status is not Status.CONFLICT:
            dup = duplicate_verdict(others[verdict.path], session.path)
            verdict = FileVerdict(verdict.path, dup.status, dup.detail)
        results.append(verdict)
    if whole_vault:
        results += [_vault_row(meta, p) for p in metadata_conflicts(session.folder)]
        nested: list[str] = []
        for _entry in walk_vault(session.path, nested=nested):
            pass
        results += [FileVerdict(Path(p), Status.CONFLICT, str(vault_identity.nested(
            Path(p), session.path))) for p in nested]
        log = session.audit_log()
        results += [_vault_row(log.path, p) for p in log.verify(
            signing_keys(registry), admins=admins(registry))]
        records = log.records()
        results += [_vault_row(session.registry_store.path, p)
                    for p in crosscheck.registry_problems(records, registry)]
        by_id = {history[-1].file_id: (session.name_of(path), history)
                 for path, (_n, history) in histories.items()}
        results += [_vault_row(log.path, p) for p in crosscheck.file_problems(records, by_id)]
    return results


def _vault_row(path: Path, problem: str) -> FileVerdict:
    """A problem of the vault as a whole, with the status its first word names."""
    word = problem.split(":", 1)[0]
    status = (Status.ROLLBACK if word == "rollback" else
              Status.CONFLICT if word in ("fork", "conflict") else Status.INVALID)
    return FileVerdict(path, status, problem)


def _verify_file(session: Session, path: Path,
                 histories: dict[Path, tuple[str | None, list[Record]]]) -> FileVerdict:
    try:
        with session.folder.open_read(path) as handle:
            return _verify_open(session, path, handle, histories)
    except (AgeError, KeyFormatError, FileOperationError) as exc:
        return FileVerdict(path, Status.UNREADABLE, str(exc))


def _verify_open(session: Session, path: Path, handle: BinaryIO,
                 histories: dict[Path, tuple[str | None, list[Record]]]) -> FileVerdict:
    head = read_head_from(handle, path)
    if head.history is not None:
        histories[path] = (head.history[-1].name or None, head.history)
    registry = session.registry
    verdict = judge(session, head, path)
    if not verdict.ok or head.history is None:
        return FileVerdict(path, verdict.status, verdict.detail)
    current = head.history[-1]
    if head.segments is not None:  # checked against the signed root by judge
        same = (hash_segments(handle, head.header_len, head.payload_size,
                              chunks=head.segments.chunks) == list(head.segments.digests))
    else:
        same = payload_digest(handle, head.header_len) == current.payload_sha256
    if not same:
        return FileVerdict(path, Status.INVALID, "the content is not the signed content")
    for name, recipient in current.readers.items():
        member = registry.lookup(name, current.registry if current.format >= 2 else None)
        if member is None or member.recipient != recipient:
            return FileVerdict(path, Status.INVALID,
                               f"reader {name}'s key is not the one in the member registry")
    return FileVerdict(path, verdict.status, verdict.detail)
