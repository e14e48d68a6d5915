"""``vault doctor``: repair what sync conflicts, rollbacks and forks left, after saying how.

``plan`` looks at the vault and returns the repairs it would make, each in plain words;
``apply`` carries out the ones the person agreed to. An admin runs it. Nothing is ever
deleted: a copy that is no longer needed is set aside in ``.vault/resolved/<time>/``,
where an admin can look at it (and delete it by hand). The repairs:

* **registry**: the registry and its conflict copies are merged (the union of their
  signed entries; a removal always wins), removals and additions the audit log records
  are applied again (a rolled-back registry cannot bring a removed member back), and the
  result is signed as the next version;
* **audit log**: a conflict copy's records after the point where the two copies forked
  are carried into the log by a merge record (each still verifiable); records the log
  lost are acknowledged by a repair record naming the checkpoints that named them;
* **files**: see ``doctor_files`` (forks and copies of one file, versions put back).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from vault_app.core import audit as audit_module
from vault_app.core import audit_records
from vault_app.core.errors import ConflictError, VaultError
from vault_app.core.layout import MEMBERS, META
from vault_app.core.members import Member, Registry
from vault_app.core.recipients import Identity
from vault_app.core.sync_conflicts import conflict_name
from vault_app.core.value_class import field, value_class

if TYPE_CHECKING:
    from vault_app.core.vault import Vault

RESOLVED = "resolved"


@value_class(frozen=False)
class Action:
    """One repair: what it does, in words, and how."""

    what: str
    run: Callable[[Repair], str] = field(repr=False)


@value_class(frozen=False)
class Repair:
    """What the repairs share: the vault (acting as an admin), the recovery identity if
    given, and where set-aside copies go."""

    vault: Vault
    recovery: Identity | None = None
    stamp: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime(
        "%Y%m%dT%H%M%SZ"))

    def set_aside(self, parts: Sequence[str]) -> str:
        """Move the vault entry ``parts`` into ``.vault/resolved/<stamp>/`` (kept)."""
        target = self.vault.path / META / RESOLVED / self.stamp / "__".join(parts)
        self.vault._session.folder.move(self.vault.path.joinpath(*parts), target)
        return str(target.relative_to(self.vault.path))


def plan(vault: Vault) -> list[Action]:
    """The repairs the vault needs, in the order they are applied."""
    from vault_app.core import doctor_files

    vault.require_admin()
    return [*_registry_actions(vault), *_audit_actions(vault), *doctor_files.actions(vault)]


def apply(vault: Vault, actions: Sequence[Action], *,
          recovery: Identity | None = None) -> list[str]:
    """Carry out ``actions``; returns what each did."""
    repair = Repair(vault, recovery)
    return [action.run(repair) for action in actions]


# -- the registry ----------------------------------------------------------------------------


def _copies(vault: Vault, original: str, parts: Sequence[str] = (META,)) -> list[str]:
    with vault._session.folder.folder(list(parts)) as folder:
        names = folder.names()
    return sorted(n for n in names if (m := conflict_name(n)) is not None and m.strong
                  and m.original == original)


def _read_registry(vault: Vault, name: str) -> Registry:
    config = vault.config
    data = vault._session.folder.read_meta_json(name, what=f".vault/{name}")
    return Registry.from_json(data, config["vault_id"], config["root_admin"],
                              config["root_signing_key"])


def _registry_actions(vault: Vault) -> list[Action]:
    copies = _copies(vault, MEMBERS)
    problem = vault._session.registry_problem()
    from vault_app.core.crosscheck import registry_problems

    logged = registry_problems(vault._session.audit_log().records(), vault.registry)
    if not copies and problem is None and not logged:
        return []
    what = ("merge the member registry" + (f" with its conflict copies ({', '.join(copies)})"
                                           if copies else "")
            + ", apply again every removal and addition the audit log records, and sign "
              "the result as the next version (a removal always wins)")
    return [Action(what, lambda repair: _merge_registries(repair, copies))]


def _merge_registries(repair: Repair, copies: Sequence[str]) -> str:
    vault = repair.vault
    session = vault._session
    me = vault.require_admin()
    with session.registry_lock():
        main = session.registry
        others = [_read_registry(vault, name) for name in copies]
        entries = _union([main, *others])
        entries = _apply_log(entries, session.audit_log().records(), main)
        version = max([main.version, *(o.version for o in others)]) + 1
        merged = main.replaced(me, entries, version=version)
        session.registry_store.write(merged)
        if merged.problems:
            raise ConflictError(f"the merged registry still has problems: {merged.problems}")
        for name in copies:
            repair.set_aside([META, name])
        session.audit("registry-merge", "registry", registry=merged.version,
                      merged=list(copies))
    return (f"member registry merged into version {merged.version}"
            + (f"; set aside {', '.join(copies)}" if copies else ""))


def _union(registries: Sequence[Registry]) -> list[Member]:
    """Every trusted entry of any copy, one per (name, period); a closed one wins."""
    chosen: dict[tuple[str, int], Member] = {}
    for registry in registries:
        for name, periods in registry.periods.items():
            for entry in periods:
                key = (name, entry.since)
                known = chosen.get(key)
                if known is None or (entry.removed and not known.removed):
                    chosen[key] = entry
    return list(chosen.values())


def _apply_log(entries: list[Member], records: Sequence[audit_module.AuditRecord],
               registry: Registry) -> list[Member]:
    """Entries with every member change the audit log records (their signed entries are in
    the records' details): a removal the registry lost is applied again."""
    by_key = {(e.name, e.since): e for e in entries}
    for record in records:
        if record.action not in ("member-add", "member-remove"):
            continue
        data = record.details.get("entry")
        if not isinstance(data, dict):
            continue
        try:
            logged = Member.from_json(data)
        except VaultError:
            continue
        key = (logged.name, logged.since)
        known = by_key.get(key)
        if known is None or (logged.removed and not known.removed):
            by_key[key] = logged
    return list(by_key.values())


# -- the audit log ---------------------------------------------------------------------------


def _audit_actions(vault: Vault) -> list[Action]:
    log = vault._session.audit_log()
    copies = _copies(vault, audit_module.LOG)
    head_copies = [n for n in _list(vault, [META, audit_module.HEADS])
                   if (m := conflict_name(n)) is not None and m.strong]
    actions = [Action(f"carry the records of {name} that the log does not have into it (a "
                      "merge record, each record still verifiable), and set the copy aside",
                      functools.partial(_merge_log, name=name)) for name in copies]
    if head_copies:
        actions.append(Action(
            f"set aside conflict copies of members' checkpoints ({', '.join(head_copies)})",
            lambda repair: "; ".join(repair.set_aside([META, audit_module.HEADS, n])
                                     for n in head_copies)))
    registry = vault.registry
    from vault_app.core.members import admins, signing_keys

    cut = [p for p in log.verify(signing_keys(registry), admins=admins(registry))
           if "cut off" in p or "differs from the one" in p or "checkpoint is missing" in p]
    if cut and not copies:
        actions.append(Action(
            "record, in a repair record signed by you, that the records these checkpoints "
            f"name were lost ({len(cut)} problem(s)); the alarm then clears",
            _acknowledge_lost))
    return actions


def _list(vault: Vault, parts: list[str]) -> list[str]:
    try:
        with vault._session.folder.folder(parts) as folder:
            return sorted(folder.names())
    except VaultError:
        return []


def _merge_log(repair: Repair, name: str) -> str:
    vault = repair.vault
    session = vault._session
    log = session.audit_log()
    raw = session.folder.read_meta(name, limit=audit_module.MAX_LOG) or b""
    mine = {r.line_hash for r in log.records()}
    theirs = [line for line in raw.splitlines() if line.strip()]
    fork = 0
    while fork < len(theirs) and audit_records.sha(theirs[fork]) in mine:
        fork += 1
    branch = [line.decode("utf-8", "replace") for line in theirs[fork:]]
    if branch:
        session.audit(audit_module.MERGE, "", source=name, records=branch)
    repair.set_aside([META, name])
    return f"merged {len(branch)} record(s) of {name} into the audit log; set the copy aside"


def _acknowledge_lost(repair: Repair) -> str:
    session = repair.vault._session
    log = session.audit_log()
    chain = log._read()
    heads, _problems = log.heads()
    lost = [{"actor": h.actor, "seq": h.seq, "hash": h.hash} for h in heads
            if chain.hashes.get(h.seq) != h.hash]
    latest = {r.actor: r for r in chain.records if r.v >= 2}
    present = {h.actor for h in heads}
    lost += [{"actor": a, "seq": r.seq, "hash": r.line_hash} for a, r in latest.items()
             if a not in present]
    session.audit(audit_module.REPAIR, "", acknowledged=lost,
                  reason="records named by these checkpoints were lost")
    return f"acknowledged {len(lost)} lost checkpoint(s) in a signed repair record"

