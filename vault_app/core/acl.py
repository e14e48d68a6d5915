"""Per-file access control as one extra age header stanza, ``dataset-vault.org/acl``.

Its body is canonical JSON ``{"v":1,"history":[record, ...]}``; the last record is
the current one. Each record names the file's author, its ACL (user -> role), the
readers the file key is wrapped for (user -> recipient) and the recovery recipient,
and is Ed25519-signed by whoever wrote that header version. A record binds:

* the recipient stanzas of its header (``stanzas_sha256``),
* the payload ciphertext, nonce included (``payload_sha256``), so ``share`` can re-sign
  a header without touching the payload, and
* the previous record (``prev``), so every ACL change is checked against the ACL
  before it: only an owner may change who reads, only an owner or editor the content.

Other age implementations skip the unknown stanza type; the header MAC covers it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from vault_app.core import signing
from vault_app.core.errors import MalformedError
from vault_app.core.header import Stanza
from vault_app.core.members import Member

ACL_STANZA = "dataset-vault.org/acl"
ACL_VERSION = 1
_SIG_DOMAIN = b"dataset-vault.org/v1/acl-signature\n"
_ZERO_DIGEST = "0" * 64
_PLACEHOLDER_SIG = "A" * 86 + "=="  # same length as a real Ed25519 signature in base64


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    READER = "reader"


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN_SIGNER = "unknown signer"
    UNSIGNED = "unsigned"
    UNREADABLE = "unreadable"


CAN_SHARE = {Role.OWNER.value}
CAN_WRITE = {Role.OWNER.value, Role.EDITOR.value}


def stanzas_digest(stanzas: Sequence[Stanza]) -> str:
    return hashlib.sha256(b"".join(s.encode() for s in stanzas)).hexdigest()


@dataclass(frozen=True)
class Record:
    """One signed version of a file's access list; see the module docstring."""

    file_id: str
    author: str
    acl: dict[str, str]
    readers: dict[str, str]
    recovery: str
    stanzas_sha256: str
    payload_sha256: str
    signer: str
    signed: str
    change: str
    prev: str = ""
    signature: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict, for encoding. Shallow (``asdict`` deep-copies, which
        was a quarter of the time of listing a large vault); callers only serialize it."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def message(self) -> bytes:
        body = self.as_dict()
        del body["signature"]
        return _SIG_DOMAIN + signing.canonical(body)

    def digest(self) -> str:
        return hashlib.sha256(signing.canonical(self.as_dict())).hexdigest()

    def sign(self, signer: signing.Signer) -> Record:
        if signer.name != self.signer:
            raise ValueError("a record is signed by its signer")
        return replace(self, signature=signing.sign(signer, self.message()))

    def placeholder(self) -> Record:
        """Same encoded length as the final record: lets the header be written first."""
        return replace(self, payload_sha256=_ZERO_DIGEST, signature=_PLACEHOLDER_SIG)

    @property
    def owners(self) -> list[str]:
        return sorted(n for n, r in self.acl.items() if r == Role.OWNER.value)

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """Strictly typed: a hostile header must give MalformedError, never a crash."""
        if not isinstance(data, dict) or set(data) != set(cls.__dataclass_fields__):
            raise MalformedError("the file's access list is malformed")
        for name, value in data.items():
            if name in ("acl", "readers"):
                if not isinstance(value, dict) or not all(
                        isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                    raise MalformedError("the file's access list is malformed")
            elif not isinstance(value, str):
                raise MalformedError("the file's access list is malformed")
        record = cls(**data)
        if any(r not in {x.value for x in Role} for r in record.acl.values()):
            raise MalformedError("the file's access list names an unknown role")
        return record


def encode_stanza(history: Sequence[Record]) -> Stanza:
    body = {"v": ACL_VERSION, "history": [r.as_dict() for r in history]}
    return Stanza(ACL_STANZA, (), signing.canonical(body))


def decode_stanza(stanza: Stanza) -> list[Record]:
    try:
        data = json.loads(stanza.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError("the file's access list is not valid JSON") from exc
    if not isinstance(data, dict) or data.get("v") != ACL_VERSION:
        raise MalformedError("the file's access list has an unknown version")
    history = data.get("history")
    if not isinstance(history, list) or not history:
        raise MalformedError("the file's access list has no records")
    return [Record.from_json(r) for r in history]


def split_header(stanzas: Sequence[Stanza]) -> tuple[list[Stanza], list[Record] | None]:
    """Recipient stanzas, and the ACL history (None if the file has no vault stanza)."""
    ours = [s for s in stanzas if s.type == ACL_STANZA]
    recipients = [s for s in stanzas if s.type != ACL_STANZA]
    if not ours:
        return recipients, None
    if len(ours) > 1 or stanzas[-1].type != ACL_STANZA:
        raise MalformedError("the file has a misplaced or repeated access-list stanza")
    return recipients, decode_stanza(ours[0])


@dataclass(frozen=True)
class Verdict:
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is Status.VALID


Lookup = Callable[[str], Member | None]


def _check_step(prev: Record, cur: Record) -> str | None:
    """Why ``cur`` may not follow ``prev`` (None if it may)."""
    role = prev.acl.get(cur.signer)
    if cur.file_id != prev.file_id:
        return "its history mixes two files"
    if cur.prev != prev.digest():
        return "its history was edited"
    access_changed = (cur.acl, cur.readers, cur.recovery) != (prev.acl, prev.readers,
                                                               prev.recovery)
    content_changed = cur.payload_sha256 != prev.payload_sha256 or cur.author != prev.author
    if access_changed and cur.change != "revoke" and role not in CAN_SHARE:
        return f"{cur.signer} changed the access list without being an owner"
    if cur.change == "revoke" and role not in CAN_SHARE:
        return f"{cur.signer} revoked access without being an owner"
    if content_changed and role not in CAN_WRITE:
        return f"{cur.signer} changed the content without being an owner or editor"
    return None


def verify_history(history: Sequence[Record], recipient_stanzas: Sequence[Stanza],
                   lookup: Lookup) -> Verdict:
    """Check every signature and every step of a file's ACL history (header only)."""
    for index, record in enumerate(history):
        signer = lookup(record.signer)
        if signer is None:
            return Verdict(Status.UNKNOWN_SIGNER,
                           f"signed by {record.signer}, who is not a member of this vault")
        if not signing.verify(signer.signing_key, record.signature, record.message()):
            return Verdict(Status.INVALID,
                           f"the signature by {record.signer} does not verify: the access "
                           "list or header was changed")
        if index == 0:
            if record.signer != record.author or record.acl.get(record.author) != "owner":
                return Verdict(Status.INVALID, "the first version is not signed by its author")
            if record.prev:
                return Verdict(Status.INVALID, "its history was cut")
        else:
            problem = _check_step(history[index - 1], record)
            if problem is not None:
                return Verdict(Status.INVALID, problem)
    current = history[-1]
    if stanzas_digest(recipient_stanzas) != current.stanzas_sha256:
        return Verdict(Status.INVALID, "the recipients in the header are not the signed ones")
    if set(current.readers) != set(current.acl):
        return Verdict(Status.INVALID, "the readers and the access list disagree")
    expected = len(current.readers) + (1 if current.recovery else 0)
    if len(recipient_stanzas) != expected:
        return Verdict(Status.INVALID, "the header wraps the file key for unlisted recipients")
    when = current.signed[:10]
    detail = f"signed by {current.signer} on {when}"
    if current.author != current.signer:
        detail += f"; content by {current.author}"
    return Verdict(Status.VALID, detail)
