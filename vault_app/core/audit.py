"""Tamper-evident audit log of a vault (``.vault/audit.log``, one JSON record a line).

Each record ``{seq, time, actor, action, target, details, prev_hash, sig}`` is signed with
the acting member's Ed25519 key and chained to the one before by the SHA-256 of that
record's exact line, so editing, removing, inserting or reordering a record breaks a
signature or the chain.

Cutting records off the *end* leaves a valid chain. So every member who appends also
signs a checkpoint of their own, ``.vault/audit-heads/<member>.json`` (the sequence
number and hash of their latest record): a log cut below anyone's checkpoint is caught,
and since a member can sign only their own checkpoint, no member can cut another's
records and cover it up. A cut log is not extended: appends refuse a log that does not
reach every checkpoint (or that is shorter than what this client saw before), so the
alarm stays until an admin resolves it (``vault doctor``), which records what was lost
in a signed ``audit-repair`` record. Records that sync tools split into two copies of the
log are joined by an ``audit-merge`` record, which carries the other copy's records
verbatim, each still verifiable.

A record signed by a member after the record of their removal is reported.

What it cannot prove: a member can forge records attributed to themselves only (never
to others), and someone who rolls back the log and every checkpoint to an older,
consistent state is caught only by clients that saw the newer state (``seen``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault_app.core import safe_json, signing
from vault_app.core.audit_records import (
    _GENESIS_DOMAIN,
    _HEAD_DOMAIN,
    _MEMBER_HEAD_DOMAIN,
    _RECORD_DOMAIN,
    FORMAT,
    HEADS,
    LEGACY_HEAD,
    LOG,
    MAX_LOG,
    MERGE,
    REPAIR,
    AuditConflictError,
    AuditError,
    AuditRecord,
    Chain,
    Head,
    KeyLookup,
    Keys,
    draft,
    merge_problems,
    merged_positions,
    sha,
)
from vault_app.core.audit_records import acknowledged as acknowledged_heads
from vault_app.core.audit_records import lookup as key_lookup
from vault_app.core.errors import VaultError
from vault_app.core.layout import META, check_name
from vault_app.core.locks import audit_lock
from vault_app.core.safe_fs import describe_entry_error
from vault_app.core.seen import AuditSeen
from vault_app.core.sync_conflicts import conflict_name
from vault_app.core.vault_folder import VaultFolder

__all__ = ["HEADS", "LEGACY_HEAD", "LOG", "MAX_LOG", "MERGE", "REPAIR", "AuditConflictError",
           "AuditError", "AuditLog", "AuditRecord", "Chain", "Head", "Keys"]


class AuditLog:
    """The audit log of the vault at ``vault_dir``. Appends are serialized across processes."""

    def __init__(self, vault_dir: Path | str, *, vault_id: str = "",
                 clock: signing.Clock | None = None, folder: VaultFolder | None = None) -> None:
        self.folder = folder or VaultFolder(Path(vault_dir))
        self.meta = self.folder.root / META
        self.path = self.meta / LOG
        self.heads_path = self.meta / HEADS
        self.genesis = sha(_GENESIS_DOMAIN + vault_id.encode())
        self._clock = clock
        #: what this account has seen of the log after its last append (or None)
        self.checked: AuditSeen | None = None

    # -- writing --------------------------------------------------------------------------

    def append(self, signer: signing.Signer, action: str, target: str = "",
               details: Mapping[str, Any] | None = None, *, keys: Keys | None = None,
               admins: Collection[str] = (), seen: AuditSeen | None = None,
               registry_version: int = 0) -> AuditRecord:
        """Sign and append one record; durable (fsynced) when this returns.

        Refused (``AuditConflictError``) if the log is damaged, does not reach a member's
        signed checkpoint (records were cut off), or no longer holds the last record this
        account saw (``seen``): a cut or rolled-back log is never extended and re-signed as
        if nothing happened. ``keys`` (members' signing keys) check the checkpoints'
        signatures. With ``seen`` only the records added since are read. After the append,
        ``self.checked`` says what this account has now seen. ``details`` must be plain
        JSON and never hold a secret.
        """
        # an admin's repair record may name the checkpoints it acknowledges as lost
        repairing = (acknowledged_heads([draft(signer.name, action, details)], admins)
                     if action == REPAIR else set())
        with audit_lock(self.folder):
            tail = self._tail(seen) if seen is not None and seen.end else None
            if tail is not None and not tail.problems and not self._head_problems(
                    tail, keys, admins, also=repairing):
                chain, problems = tail, []
            else:  # read it all: the definitive verdict, repairs considered
                chain = self._read(repair_tail=True)
                problems = list(chain.problems)
                problems += self._head_problems(chain, keys, admins, also=repairing)
                if seen is not None and seen.seq and chain.hashes.get(seen.seq) != seen.hash:
                    problems.append(f"the log no longer holds record {seen.seq} as this "
                                    "account last saw it: it was cut or rolled back")
            if problems:
                raise AuditConflictError(
                    f"{self.path}: the audit log was changed behind the app's back "
                    f"({problems[0]}); nothing was recorded and nothing was done")
            body = {"v": FORMAT, "seq": chain.last_seq + 1,
                    "time": signing.now_iso(self._clock), "actor": signer.name,
                    "action": action, "target": target, "details": dict(details or {}),
                    "prev_hash": chain.last_hash or self.genesis, "reg": registry_version}
            sig = signing.sign(signer, _RECORD_DOMAIN + signing.canonical(body))
            line = signing.canonical({**body, "sig": sig})
            self.folder.append_meta(LOG, line + b"\n")
            record = AuditRecord.parse(line)
            self._write_head(signer, record)
            heads = {h.seq: h.hash for h in self.heads()[0]}
            self.checked = AuditSeen(record.seq, record.line_hash, chain.end,
                                     chain.end + len(line) + 1, heads)
            return record

    def _write_head(self, signer: signing.Signer, record: AuditRecord) -> None:
        head = {"v": 2, "actor": signer.name, "seq": record.seq, "hash": record.line_hash,
                "time": record.time, "reg": record.reg}
        head["sig"] = signing.sign(signer, _MEMBER_HEAD_DOMAIN + signing.canonical(head))
        with self.folder.folder([META, HEADS], create=True) as heads, heads.replace(
                f"{check_name(signer.name)}.json", self.folder.modes.file) as out:
            out.write(signing.canonical(head) + b"\n")

    # -- reading --------------------------------------------------------------------------

    def _open_log(self, *, writable: bool) -> BinaryIO | None:
        with self.folder.folder([META]) as meta:
            try:
                fd = meta.open_raw(LOG, os.O_RDWR if writable else os.O_RDONLY)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise describe_entry_error(exc, meta, LOG) from None
        return os.fdopen(fd, "r+b" if writable else "rb")

    def _raw(self, *, repair_tail: bool, start: int = 0) -> bytes:
        """The log's bytes from ``start`` to its last complete line. With ``repair_tail``
        (under the lock) an unfinished line left by a crash mid-append is cut off."""
        handle = self._open_log(writable=repair_tail)
        if handle is None:
            return b""
        with handle:
            handle.seek(start)
            data = handle.read(MAX_LOG + 1)
            if len(data) > MAX_LOG:
                raise AuditError(f"{self.path}: the audit log is larger than "
                                 f"{MAX_LOG >> 20} MiB; refused")
            complete = data.rfind(b"\n") + 1
            if repair_tail and complete != len(data):  # a crash mid-append: never was
                handle.truncate(start + complete)
                os.fsync(handle.fileno())
        return data[:complete]

    def _read(self, *, repair_tail: bool = False) -> Chain:
        """Parse and link every record (no signature is checked here)."""
        chain = Chain()
        self._link(chain, self._raw(repair_tail=repair_tail), self.genesis, 1, 0)
        return chain

    def _tail(self, seen: AuditSeen) -> Chain | None:
        """The records after the one this account saw last, linked to it; None if that
        record is no longer where it was (then the whole log must be read)."""
        raw = self._raw(repair_tail=True, start=seen.start)
        first = raw[: raw.find(b"\n") + 1]
        if not first or sha(first[:-1]) != seen.hash or seen.start + len(first) != seen.end:
            return None
        chain = Chain(hashes={**seen.heads, seen.seq: seen.hash}, partial=True)
        chain.last_hash, chain.end = seen.hash, seen.end
        chain.records_before = seen.seq
        self._link(chain, raw[len(first):], seen.hash, seen.seq + 1, seen.end)
        return chain

    @staticmethod
    def _link(chain: Chain, raw: bytes, prev: str, expected: int, offset: int) -> None:
        """Parse ``raw``'s lines onto ``chain``, each linked to the one before."""
        number = expected - 1
        for line in raw.splitlines():
            number += 1
            offset += len(line) + 1
            try:
                record = AuditRecord.parse(line)
            except AuditError as exc:
                chain.problems.append(f"line {number}: {exc} (edited or damaged)")
                prev, expected = sha(line), expected + 1
                continue
            where = f"record {record.seq} (line {number})"
            if record.seq != expected:
                chain.problems.append(f"{where}: expected sequence number {expected}; a "
                                      "record was removed, inserted or reordered")
            if record.prev_hash != prev:
                chain.problems.append(f"{where}: does not chain to the record before it; a "
                                      "record was edited, removed, inserted or reordered")
            chain.records.append(record)
            chain.hashes.setdefault(record.seq, record.line_hash)
            chain.last_hash, chain.end = record.line_hash, offset
            prev, expected = record.line_hash, record.seq + 1

    def records(self) -> list[AuditRecord]:
        """Every readable record in file order (damaged lines are skipped; see verify)."""
        return self._read().records

    def history(self, target: str) -> list[AuditRecord]:
        """The records about one file (its path relative to the vault), oldest first."""
        return [r for r in self.records() if r.target == target]

    # -- checkpoints ------------------------------------------------------------------------

    def heads(self) -> tuple[list[Head], list[str]]:
        """Every checkpoint file, parsed (signatures not checked), and unreadable ones."""
        found: list[Head] = []
        problems: list[str] = []
        with self.folder.folder([META]) as meta:
            heads_dir = meta.lstat(HEADS)
        names: list[str] = []
        if heads_dir is not None:
            with self.folder.folder([META, HEADS]) as folder:
                names = sorted(n for n in folder.names() if n.endswith(".json")
                               and conflict_name(n) is None)  # copies: conflicts.py says
        for name in [LEGACY_HEAD, *(f"{HEADS}/{n}" for n in names)]:
            try:
                if name == LEGACY_HEAD:
                    data = self.folder.read_meta(name)
                else:
                    with self.folder.folder([META, HEADS]) as folder:
                        data = folder.read(name.split("/", 1)[1], safe_json.MAX_BYTES)
                if data is None:
                    continue
                head = safe_json.loads(data, what=name, error=AuditError)
                found.append(self._head(head, name))
            except VaultError as exc:
                problems.append(f"the checkpoint {name} is unreadable: {exc}")
        return found, problems

    @staticmethod
    def _head(data: Any, name: str) -> Head:
        if (not isinstance(data, dict) or not isinstance(data.get("seq"), int)
                or isinstance(data.get("seq"), bool)
                or not all(isinstance(data.get(k), str) for k in ("hash", "actor", "sig"))):
            raise AuditError("malformed")
        if name != LEGACY_HEAD and name != f"{HEADS}/{data['actor']}.json":
            raise AuditError(f"it names {data['actor']!r}, not its own member")
        return Head(data["actor"], data["seq"], data["hash"], name, data)

    @staticmethod
    def _head_signed(head: Head, key: str | Ed25519PublicKey) -> bool:
        body = {k: v for k, v in head.data.items() if k != "sig"}
        domain = _HEAD_DOMAIN if head.file == LEGACY_HEAD else _MEMBER_HEAD_DOMAIN
        return signing.verify(key, head.data.get("sig"), domain + signing.canonical(body))

    def _head_problems(self, chain: Chain, keys: Keys | None, admins: Collection[str], *,
                       also: set[tuple[str, int, str]] | None = None) -> list[str]:
        """Checkpoints the log does not hold (cut records), unless an admin's repair
        record acknowledged exactly that checkpoint; with ``keys``, forged ones too."""
        acknowledged = acknowledged_heads(chain.records, admins) | (also or set())
        merged = merged_positions(chain.records)
        lookup: KeyLookup | None = key_lookup(keys) if keys is not None else None
        heads, problems = self.heads()
        with_heads = {h.actor for h in heads if h.file != LEGACY_HEAD}
        latest = {r.actor: r.seq for r in chain.records if r.v >= 2}
        for actor in sorted(set(latest) - with_heads):
            if (actor, latest[actor], chain.hashes.get(latest[actor], "")) not in acknowledged:
                problems.append(f"{actor}'s signed checkpoint is missing: records may have "
                                "been removed")
        for head in heads:
            if lookup is not None:
                reg = head.data.get("reg")
                key = lookup(head.actor, reg if isinstance(reg, int) else None)
                if key is None or not self._head_signed(head, key):
                    problems.append(f"the signature of {head.actor}'s checkpoint "
                                    f"({head.file}) does not verify")
                    continue
            if head.key() in acknowledged or (head.seq, head.hash) in merged:
                continue  # lost and acknowledged, or held by a merge record
            if head.seq > chain.last_seq:
                problems.append(f"the log ends at record {chain.last_seq} but {head.actor}'s "
                                f"signed checkpoint names record {head.seq}: records were "
                                "cut off the end")
            elif chain.hashes.get(head.seq) != head.hash:
                problems.append(f"record {head.seq} differs from the one {head.actor}'s "
                                "signed checkpoint names")
        return problems

    # -- verification -----------------------------------------------------------------------

    def verify(self, public_keys_by_member: Keys, *,
               admins: Collection[str] = ()) -> list[str]:
        """Every problem found: edited, removed, inserted, reordered or cut-off records,
        records signed after their signer's removal, forged checkpoints, bad merges."""
        keys = public_keys_by_member
        lookup = key_lookup(keys)
        chain = self._read()
        problems = list(chain.problems)
        removed: dict[str, int] = {}
        since: dict[str, int] = {}  # the registry version of each member's latest addition
        for record in chain.records:
            where = f"record {record.seq}"
            if record.reg is not None and record.reg < since.get(record.actor, 0):
                problems.append(f"{where}: signed by {record.actor!r} with registry version "
                                f"{record.reg}, older than their current membership "
                                f"({since[record.actor]}): a key from an earlier membership")
            key = lookup(record.actor, record.reg)
            if key is None and lookup(record.actor, None) is not None:
                problems.append(f"{where}: signed by {record.actor!r}, who was not a member "
                                f"at registry version {record.reg}")
            elif key is None:
                problems.append(f"{where}: signed by {record.actor!r}, who is not a known "
                                "member")
            elif not record.signed_by(key):
                problems.append(f"{where}: the signature of {record.actor!r} does not verify; "
                                "the record was edited")
            elif record.actor in removed:
                problems.append(f"{where}: signed by {record.actor!r} after their removal "
                                f"(record {removed[record.actor]})")
            if record.action == "member-remove" and record.target.startswith("member:"):
                removed[record.target[7:]] = record.seq
            elif record.action == "member-add" and record.target.startswith("member:"):
                removed.pop(record.target[7:], None)
                added_in = record.details.get("registry")
                if isinstance(added_in, int) and not isinstance(added_in, bool):
                    since[record.target[7:]] = added_in
            if record.action == MERGE:
                problems += merge_problems(record, chain, lookup)
        if not chain.records and self.heads()[0]:
            problems.append("the log is empty but members' signed checkpoints name records: "
                            "records were cut off the end")
        else:
            problems += self._head_problems(chain, keys, admins)
        return problems
