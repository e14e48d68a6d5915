"""Tamper-evident audit log of a vault (``.vault/audit.log``, one JSON record a line).

Each record ``{seq, time, actor, action, target, details, prev_hash, sig}`` is signed with
the acting member's Ed25519 key and chained to the one before by the SHA-256 of that
record's exact line, so editing, removing, inserting or reordering a record breaks a
signature or the chain. Cutting records off the *end* leaves a valid chain, so every
append also rewrites ``.vault/audit.head``, a signed checkpoint of the last sequence
number and hash; a log shorter than its checkpoint is reported as truncated.

What it cannot prove: a member can forge records attributed to themselves only (never
to others), and someone who rolls back both the log and the checkpoint to an older,
consistent state is not detected without a copy kept elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault_app.core import signing
from vault_app.core.atomic import atomic_output, describe_os_error
from vault_app.core.errors import ErrorKind, Remedy, VaultError
from vault_app.core.layout import META
from vault_app.core.locks import audit_lock
from vault_app.core.vault_io import shared_mode

LOG = "audit.log"
HEAD = "audit.head"
FORMAT = 1
_RECORD_DOMAIN = b"dataset-vault.org/v1/audit-record\n"
_HEAD_DOMAIN = b"dataset-vault.org/v1/audit-head\n"
_GENESIS_DOMAIN = b"dataset-vault.org/v1/audit-genesis\n"
_FIELDS = ("v", "seq", "time", "actor", "action", "target", "details", "prev_hash")
_MAX_LINE = 1 << 20


class AuditError(VaultError):
    """The audit log cannot be read or written."""

    kind = ErrorKind.VAULT_DAMAGED


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _publish_shared(fd: int) -> None:
    """The checkpoint is public: shared mode before the rename (never published 0600), and
    only after the fsync, so a kill while it is synced leaves a private temp file."""
    with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
        os.fchmod(fd, shared_mode())


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

    def body(self) -> dict[str, Any]:
        return {"v": FORMAT, "seq": self.seq, "time": self.time, "actor": self.actor,
                "action": self.action, "target": self.target, "details": self.details,
                "prev_hash": self.prev_hash}

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "sig": self.sig, "hash": self.line_hash}

    @classmethod
    def parse(cls, line: bytes) -> AuditRecord:
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuditError("not a JSON record") from exc
        if not isinstance(data, dict) or set(data) != {*_FIELDS, "sig"}:
            raise AuditError("a record with missing or extra fields")
        if data["v"] != FORMAT:
            raise AuditError("a record of an unknown format version")
        types = {"seq": int, "time": str, "actor": str, "action": str, "target": str,
                 "details": dict, "prev_hash": str, "sig": str}
        if any(not isinstance(data[k], t) or isinstance(data[k], bool)
               for k, t in types.items()):
            raise AuditError("a record with a field of the wrong type")
        return cls(data["seq"], data["time"], data["actor"], data["action"], data["target"],
                   data["details"], data["prev_hash"], data["sig"], _sha(line))


class AuditLog:
    """The audit log of the vault at ``vault_dir``. Appends are serialized across processes."""

    def __init__(self, vault_dir: Path | str, *, vault_id: str = "",
                 clock: signing.Clock | None = None) -> None:
        self.meta = Path(vault_dir) / META
        self.path = self.meta / LOG
        self.head_path = self.meta / HEAD
        self.genesis = _sha(_GENESIS_DOMAIN + vault_id.encode())
        self._clock = clock

    # -- writing --------------------------------------------------------------------------

    def append(self, signer: signing.Signer, action: str, target: str = "",
               details: Mapping[str, Any] | None = None) -> AuditRecord:
        """Sign and append one record; durable (fsynced) when this returns.

        ``details`` must be plain JSON data and must never hold a secret.
        """
        with audit_lock(self.meta):
            last = self._last_complete()
            seq = 1 if last is None else last.seq + 1
            prev = self.genesis if last is None else last.line_hash
            body = {"v": FORMAT, "seq": seq, "time": signing.now_iso(self._clock),
                    "actor": signer.name, "action": action, "target": target,
                    "details": dict(details or {}), "prev_hash": prev}
            sig = signing.sign(signer, _RECORD_DOMAIN + signing.canonical(body))
            line = signing.canonical({**body, "sig": sig})
            self._write_line(line)
            record = AuditRecord.parse(line)
            self._write_head(signer, record)
            return record

    def _write_line(self, line: bytes) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         shared_mode())
            try:
                os.write(fd, line + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise describe_os_error(exc, self.path) from None

    def _write_head(self, signer: signing.Signer, record: AuditRecord) -> None:
        head = {"seq": record.seq, "hash": record.line_hash, "actor": signer.name,
                "time": record.time}
        head["sig"] = signing.sign(signer, _HEAD_DOMAIN + signing.canonical(head))
        with atomic_output(self.head_path, overwrite=True,
                           before_publish=_publish_shared) as out:
            out.write(signing.canonical(head) + b"\n")

    def _last_complete(self) -> AuditRecord | None:
        """The last complete record; an unfinished line left by a crash is cut off first."""
        try:
            with self.path.open("r+b") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size == 0:
                    return None
                tail_start = max(0, size - _MAX_LINE - 1)
                handle.seek(tail_start)
                tail = handle.read()
                if not tail.endswith(b"\n"):  # a crash mid-append: that record never was
                    cut = tail.rfind(b"\n") + 1
                    handle.truncate(tail_start + cut)
                    tail = tail[:cut]
                lines = tail.splitlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise describe_os_error(exc, self.path) from None
        if not lines:
            return None
        try:
            return AuditRecord.parse(lines[-1])
        except AuditError as exc:
            raise AuditError(f"{self.path}: the last record is damaged",
                             hint="restore .vault/audit.log from a backup",
                             remedy=Remedy.VERIFY_AUDIT_LOG) from exc

    # -- reading --------------------------------------------------------------------------

    def _lines(self) -> list[bytes]:
        """Complete lines only (a trailing fragment is an append a crash interrupted)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise describe_os_error(exc, self.path) from None
        return data[: data.rfind(b"\n") + 1].splitlines()

    def records(self) -> list[AuditRecord]:
        """Every readable record in file order (damaged lines are skipped; see verify)."""
        found = []
        for line in self._lines():
            with contextlib.suppress(AuditError):
                found.append(AuditRecord.parse(line))
        return found

    def history(self, target: str) -> list[AuditRecord]:
        """The records about one file (its path relative to the vault), oldest first."""
        return [r for r in self.records() if r.target == target]

    def verify(self, public_keys_by_member: Mapping[str, str | Ed25519PublicKey]) -> list[str]:
        """Every problem found: edited, removed, inserted, reordered or cut-off records."""
        problems: list[str] = []
        prev, expected, last_seq = self.genesis, 1, 0
        hashes: dict[int, str] = {}
        for number, line in enumerate(self._lines(), 1):
            try:
                record = AuditRecord.parse(line)
            except AuditError as exc:
                problems.append(f"line {number}: {exc} (edited or damaged)")
                prev, expected = _sha(line), expected + 1
                continue
            where = f"record {record.seq} (line {number})"
            if record.seq != expected:
                problems.append(f"{where}: expected sequence number {expected}; a record was "
                                "removed, inserted or reordered")
            if record.prev_hash != prev:
                problems.append(f"{where}: does not chain to the record before it; a record "
                                "was edited, removed, inserted or reordered")
            key = public_keys_by_member.get(record.actor)
            if key is None:
                problems.append(f"{where}: signed by {record.actor!r}, who is not a known "
                                "member")
            elif not signing.verify(key, record.sig,
                                    _RECORD_DOMAIN + signing.canonical(record.body())):
                problems.append(f"{where}: the signature of {record.actor!r} does not verify; "
                                "the record was edited")
            hashes.setdefault(record.seq, record.line_hash)
            prev, expected, last_seq = record.line_hash, record.seq + 1, record.seq
        problems.extend(self._check_head(public_keys_by_member, hashes, last_seq))
        return problems

    def _check_head(self, keys: Mapping[str, str | Ed25519PublicKey], hashes: dict[int, str],
                    last_seq: int) -> list[str]:
        try:
            head = json.loads(self.head_path.read_bytes())
        except FileNotFoundError:
            return ["the signed checkpoint (audit.head) is missing; records may have been "
                    "removed"] if hashes else []
        except (OSError, ValueError):
            return ["the signed checkpoint (audit.head) is unreadable"]
        if not isinstance(head, dict) or not {"seq", "hash", "actor", "sig"} <= set(head):
            return ["the signed checkpoint (audit.head) is malformed"]
        body = {k: v for k, v in head.items() if k != "sig"}
        key = keys.get(str(head["actor"]))
        signed = _HEAD_DOMAIN + signing.canonical(body)
        if key is None or not signing.verify(key, head["sig"], signed):
            return ["the signature of the checkpoint (audit.head) does not verify"]
        seq = head["seq"]
        if not isinstance(seq, int) or seq > last_seq:
            return [f"the log ends at record {last_seq} but the signed checkpoint names record "
                    f"{seq}: records were cut off the end"]
        if hashes.get(seq) != head["hash"]:
            return [f"record {seq} differs from the one the signed checkpoint names"]
        return []
