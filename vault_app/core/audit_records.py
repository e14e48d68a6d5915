"""The audit log's records and checkpoints as data: their fields, parsing, what a record
or a checkpoint says, and what repair and merge records acknowledge (no I/O).

``audit.py`` reads, appends and verifies the log; this module is what it reads and writes,
and the rules records carry (a repair record's acknowledged checkpoints, a merge record's
embedded records) that verification and appends both apply.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault_app.core import safe_json, signing
from vault_app.core.digests import sha256_hex
from vault_app.core.errors import ErrorKind, Remedy, VaultError
from vault_app.core.value_class import field, value_class

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


def lookup(keys: Keys) -> KeyLookup:
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


def sha(data: bytes) -> str:
    return sha256_hex(data)


@value_class
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
                   data["details"], data["prev_hash"], data["sig"], sha(line), data["v"],
                   data.get("reg"))


@value_class
class Head:
    """A signed checkpoint: ``actor``'s latest record is ``seq`` with hash ``hash``."""

    actor: str
    seq: int
    hash: str
    file: str  # where it was found, for messages
    data: dict[str, Any] = field(repr=False, compare=False)

    def key(self) -> tuple[str, int, str]:
        return (self.actor, self.seq, self.hash)


@value_class(frozen=False)
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


def merged_positions(records: list[AuditRecord]) -> set[tuple[int, str]]:
    """``(seq, hash)`` of the records that merge records carry (a checkpoint written on the
    other copy of a merged log names one of them)."""
    found: set[tuple[int, str]] = set()
    for record in records:
        lines = record.details.get("records") if record.action == MERGE else None
        for text in lines if isinstance(lines, list) else []:
            with contextlib.suppress(AuditError, AttributeError):
                merged = AuditRecord.parse(str(text).encode())
                found.add((merged.seq, merged.line_hash))
    return found


def draft(actor: str, action: str, details: Mapping[str, Any] | None) -> AuditRecord:
    """A record about to be appended, for the checks that read records."""
    return AuditRecord(0, "", actor, action, "", dict(details or {}), "", "", "")


def acknowledged(records: list[AuditRecord], admins: Collection[str]) -> set[tuple[str, int,
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


def merge_problems(record: AuditRecord, chain: Chain, keys: KeyLookup) -> list[str]:
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
