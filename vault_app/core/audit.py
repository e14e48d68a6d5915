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

import contextlib
import hashlib
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault_app.core import safe_json, signing
from vault_app.core.errors import ErrorKind, Remedy, VaultError
from vault_app.core.layout import META, check_name
from vault_app.core.locks import audit_lock
from vault_app.core.safe_fs import describe_entry_error
from vault_app.core.seen import AuditSeen
from vault_app.core.vault_folder import VaultFolder

LOG = "audit.log"
HEADS = "audit-heads"
LEGACY_HEAD = "audit.head"  # the single checkpoint of format 1 vaults (still checked)
FORMAT = 2  # records this version writes; format 1 records (older vaults) are read too
_FORMATS = (1, 2)
MAX_LOG = 256 << 20
_RECORD_DOMAIN = b"dataset-vault.org/v1/audit-record\n"
_HEAD_DOMAIN = b"dataset-vault.org/v1/audit-head\n"
_MEMBER_HEAD_DOMAIN = b"dataset-vault.org/v2/audit-member-head\n"
_GENESIS_DOMAIN = b"dataset-vault.org/v1/audit-genesis\n"
_FIELDS = ("v", "seq", "time", "actor", "action", "target", "details", "prev_hash")
REPAIR = "audit-repair"
MERGE = "audit-merge"

#: A member's signing key at a registry version (``None``: a record of the first format,
#: which names no version): ``(name, version) -> key or None``; or simply name -> key.
KeyLookup = Callable[[str, int | None], str | Ed25519PublicKey | None]
Keys = Mapping[str, str | Ed25519PublicKey] | KeyLookup


def _lookup(keys: Keys) -> KeyLookup:
    if callable(keys):
        return keys
    return lambda name, _at: keys.get(name)


class AuditError(VaultError):
    """The audit log cannot be read or written."""

    kind = ErrorKind.VAULT_DAMAGED


class AuditConflictError(AuditError):
    """The log was cut, edited, forked or rolled back: nothing is appended to it."""

    kind = ErrorKind.CONFLICT
    remedy = Remedy.RESOLVE_CONFLICTS


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One parsed record; ``line_hash`` is what the next record's ``prev_hash`` must be."""

    seq: int
    time: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    sig: str = field(repr=False)
    line_hash: str = field(repr=False)
    v: int = FORMAT
    reg: int | None = None  # the registry version the actor saw (format 2)

    def body(self) -> dict[str, Any]:
        body = {"v": self.v, "seq": self.seq, "time": self.time, "actor": self.actor,
                "action": self.action, "target": self.target, "details": self.details,
                "prev_hash": self.prev_hash}
        if self.v >= 2:
            body["reg"] = self.reg
        return body

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "sig": self.sig, "hash": self.line_hash}

    def signed_by(self, key: str | Ed25519PublicKey) -> bool:
        return signing.verify(key, self.sig, _RECORD_DOMAIN + signing.canonical(self.body()))

    @classmethod
    def parse(cls, line: bytes) -> AuditRecord:
        data = safe_json.loads(line, what="a record", error=AuditError)
        if not isinstance(data, dict) or data.get("v") not in _FORMATS or isinstance(
                data.get("v"), bool):
            raise AuditError("a record of an unknown format version")
        expected = {*_FIELDS, "sig", *(("reg",) if data["v"] >= 2 else ())}
        if set(data) != expected:
            raise AuditError("a record with missing or extra fields")
        types = {"seq": int, "time": str, "actor": str, "action": str, "target": str,
                 "details": dict, "prev_hash": str, "sig": str,
                 **({"reg": int} if data["v"] >= 2 else {})}
        if any(not isinstance(data[k], t) or isinstance(data[k], bool)
               for k, t in types.items()):
            raise AuditError("a record with a field of the wrong type")
        return cls(data["seq"], data["time"], data["actor"], data["action"], data["target"],
                   data["details"], data["prev_hash"], data["sig"], _sha(line), data["v"],
                   data.get("reg"))


@dataclass(frozen=True)
class Head:
    """A signed checkpoint: ``actor``'s latest record is ``seq`` with hash ``hash``."""

    actor: str
    seq: int
    hash: str
    file: str  # where it was found, for messages
    data: dict[str, Any] = field(repr=False, compare=False)

    def key(self) -> tuple[str, int, str]:
        return (self.actor, self.seq, self.hash)


@dataclass
class Chain:
    """The log as read: records in order, every record's hash by seq, structural problems.

    A ``partial`` chain holds only the records after the last one an account saw
    (``records_before`` of them came earlier) and, of the earlier ones, the hashes that
    checkpoints named then."""

    records: list[AuditRecord] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    partial: bool = False
    records_before: int = 0
    last_hash: str = ""
    end: int = 0   # byte offset just past the last record

    @property
    def last_seq(self) -> int:
        return self.records[-1].seq if self.records else self.records_before


class AuditLog:
    """The audit log of the vault at ``vault_dir``. Appends are serialized across processes."""

    def __init__(self, vault_dir: Path | str, *, vault_id: str = "",
                 clock: signing.Clock | None = None, folder: VaultFolder | None = None) -> None:
        self.folder = folder or VaultFolder(Path(vault_dir))
        self.meta = self.folder.root / META
        self.path = self.meta / LOG
        self.heads_path = self.meta / HEADS
        self.genesis = _sha(_GENESIS_DOMAIN + vault_id.encode())
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
        repairing = (_acknowledged([_draft(signer.name, action, details)], admins)
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
        if not first or _sha(first[:-1]) != seen.hash or seen.start + len(first) != seen.end:
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
                prev, expected = _sha(line), expected + 1
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
                names = sorted(n for n in folder.names() if n.endswith(".json"))
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
        acknowledged = _acknowledged(chain.records, admins) | (also or set())
        lookup = _lookup(keys) if keys is not None else None
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
            if head.key() in acknowledged:
                continue
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
        lookup = _lookup(keys)
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
                problems += _merge_problems(record, chain, lookup)
        if not chain.records and self.heads()[0]:
            problems.append("the log is empty but members' signed checkpoints name records: "
                            "records were cut off the end")
        else:
            problems += self._head_problems(chain, keys, admins)
        return problems


def _draft(actor: str, action: str, details: Mapping[str, Any] | None) -> AuditRecord:
    """A record about to be appended, for the checks that read records."""
    return AuditRecord(0, "", actor, action, "", dict(details or {}), "", "", "")


def _acknowledged(records: list[AuditRecord], admins: Collection[str]) -> set[tuple[str, int,
                                                                                  str]]:
    """Checkpoints that an admin's repair record says were lost (and so may not match)."""
    found: set[tuple[str, int, str]] = set()
    for record in records:
        if record.action != REPAIR or record.actor not in admins:
            continue
        for item in record.details.get("acknowledged", []):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                found.add((str(item["actor"]), int(item["seq"]), str(item["hash"])))
    return found


def _merge_problems(record: AuditRecord, chain: Chain, keys: KeyLookup) -> list[str]:
    """An ``audit-merge`` record's embedded records: each signed, chained from a record of
    this log (the fork point) or the genesis, and in order among themselves."""
    lines = record.details.get("records")
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        return [f"record {record.seq}: a merge record without readable records"]
    problems: list[str] = []
    known = set(chain.hashes.values())
    prev: str | None = None
    for number, text in enumerate(lines, 1):
        where = f"record {record.seq}, merged record {number}"
        try:
            merged = AuditRecord.parse(text.encode())
        except AuditError as exc:
            problems.append(f"{where}: {exc}")
            continue
        key = keys(merged.actor, merged.reg)
        if key is None or not merged.signed_by(key):
            problems.append(f"{where}: the signature of {merged.actor!r} does not verify")
        if prev is None:
            if merged.prev_hash not in known and merged.seq != 1:
                problems.append(f"{where}: does not start from a record of this log")
        elif merged.prev_hash != prev:
            problems.append(f"{where}: does not chain to the merged record before it")
        prev = merged.line_hash
    return problems
