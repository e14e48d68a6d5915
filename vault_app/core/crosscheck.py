"""The audit log, the member registry and the files, checked against one another.

Each is signed on its own, so each can be put back to an older, validly signed copy
without its own signatures noticing. But they record each other: every member change in
the audit log names the registry version it made, and every file change names the file's
id, its history length and the digest of the new record. So:

* a log that names a registry version above the registry's own means the registry was
  rolled back (a ``member-remove`` in the log while the registry lists the member as
  active is exactly a removal undone);
* a log that names version N of a file whose history is shorter means the file was put
  back to an older version (a revocation undone); a different record at N is a fork.

A vault rolled back whole (log, checkpoints, registry and files together) to a state this
account never saw is consistent in itself; that is the residual risk ``SECURITY.md``
states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vault_app.core.acl import Record
from vault_app.core.audit import AuditRecord
from vault_app.core.members import Registry

_FILE_CHANGES = ("lock", "update", "share", "revoke", "adopt", "rename")


def registry_problems(records: Sequence[AuditRecord], registry: Registry) -> list[str]:
    """Where the log says the registry went further than it is now."""
    problems: list[str] = []
    latest: dict[str, AuditRecord] = {}
    newest = 0
    for record in records:
        if record.action not in ("member-add", "member-remove") or not record.target.startswith(
                "member:"):
            continue
        version = record.details.get("registry")
        if isinstance(version, int) and not isinstance(version, bool):
            newest = max(newest, version)
        latest[record.target[7:]] = record
    if newest > registry.version:
        problems.append(f"rollback: the audit log records member registry version {newest}, "
                        f"but the registry is at version {registry.version}: an older "
                        "members.json was put back")
    for name, record in sorted(latest.items()):
        entry = registry.trusted.get(name)
        version = record.details.get("registry")
        at = version if isinstance(version, int) and not isinstance(version, bool) else 0
        if (record.action == "member-remove" and entry is not None and entry.active
                and entry.since <= at):  # the same membership the log closed: undone
            problems.append(f"rollback: the audit log records the removal of {name} "
                            f"(record {record.seq}), but the registry lists {name} as a "
                            "member: the removal was undone")
        if record.action == "member-add" and entry is None and registry.version >= at:
            problems.append(f"rollback: the audit log records the addition of {name} "
                            f"(record {record.seq}), but the registry does not list them")
    return problems


def file_problems(records: Sequence[AuditRecord],
                  histories: Mapping[str, tuple[str, Sequence[Record]]]) -> list[str]:
    """Where the log knows a file version the file no longer has.

    ``histories``: file id -> (the file's name, its signed history), for the files present.
    """
    problems: list[str] = []
    latest: dict[str, AuditRecord] = {}
    for record in records:
        if record.action not in _FILE_CHANGES:
            continue
        file_id, version = record.details.get("file"), record.details.get("version")
        if not isinstance(file_id, str) or not isinstance(version, int):
            continue
        known = latest.get(file_id)
        if known is None or version >= int(known.details["version"]):
            latest[file_id] = record
    for file_id, record in sorted(latest.items()):
        if file_id not in histories:
            continue  # deleted (the OS lets members delete; backups bring files back)
        name, history = histories[file_id]
        version = int(record.details["version"])
        if len(history) < version:
            problems.append(f"rollback: {name}: the audit log records version {version} "
                            f"({record.action} by {record.actor}, record {record.seq}), but "
                            f"the file is at version {len(history)}: an older copy was put "
                            "back")
        elif history[version - 1].digest() != record.details.get("record"):
            problems.append(f"fork: {name}: version {version} is not the one the audit log "
                            f"records ({record.action} by {record.actor}, record "
                            f"{record.seq}): two copies were changed apart")
    return problems
