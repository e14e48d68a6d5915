"""Is what the vault folder holds now at least as new as what this account saw before?

``seen`` keeps the memory; this module compares and moves it forward. A member registry
at a lower version than one seen before is a rollback (someone put back an older
``members.json``: a removed member would be active again); the same version with another
digest is a fork (two copies changed apart). A file whose signed history is shorter than
one seen before is a rollback (an older version put back: a revoked reader could read
it again); a history that does not contain the record seen at its length is a fork.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault_app.core.acl import Record, Status, Verdict
from vault_app.core.members import Registry
from vault_app.core.seen import FileSeen, VaultSeen


def registry_problem(seen: VaultSeen, registry: Registry) -> str | None:
    """Why ``registry`` is older than, or forked from, the one this account saw."""
    if registry.version < seen.registry_version:
        return (f"rollback: the member registry is at version {registry.version}, but this "
                f"account saw version {seen.registry_version}: an older members.json was "
                "put back (a removed member may be active again)")
    if (registry.version == seen.registry_version and seen.registry_digest
            and registry.digest() != seen.registry_digest):
        return (f"fork: the member registry's version {registry.version} is not the one "
                "this account saw: two copies of the vault were changed apart (a sync "
                "conflict) or it was edited")
    return None


def remember_registry(seen: VaultSeen, registry: Registry) -> None:
    if registry.document_problem is None and registry.version > seen.registry_version:
        seen.registry_version, seen.registry_digest = registry.version, registry.digest()


def file_verdict(seen: VaultSeen, history: Sequence[Record]) -> Verdict | None:
    """ROLLBACK or CONFLICT if ``history`` is older than, or forked from, what was seen."""
    known = seen.files.get(history[-1].file_id)
    if known is None:
        return None
    if len(history) < known.version:
        return Verdict(Status.ROLLBACK, (
            f"rollback: this is version {len(history)} of the file, but this account saw "
            f"version {known.version}: an older copy was put back (it may still name "
            "readers whose access was revoked)"))
    if history[known.version - 1].digest() != known.record:
        return Verdict(Status.CONFLICT, (
            f"fork: the file's history is not the one this account saw at version "
            f"{known.version}: two copies were changed apart (a sync conflict) or it was "
            "rewritten"))
    return None


def remember_history(seen: VaultSeen, history: Sequence[Record], name: str) -> None:
    if is_news(seen, history):
        current = history[-1]
        seen.files[current.file_id] = FileSeen(len(history), current.digest(), name)


def is_news(seen: VaultSeen, history: Sequence[Record]) -> bool:
    """Whether ``history`` would move the memory of its file forward (so that reading a
    file already remembered at this version writes nothing)."""
    known = seen.files.get(history[-1].file_id)
    return known is None or len(history) > known.version
