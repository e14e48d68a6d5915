"""Per-file access control as one extra age header stanza, ``dataset-vault.org/acl``.

Its body is canonical JSON ``{"v":1,"history":[record, ...]}``; the last record is
the current one. Each record names the file's author, its ACL (user -> role), the
readers the file key is wrapped for (user -> recipient) and the recovery recipient,
and is Ed25519-signed by whoever wrote that header version. A record binds:

* the recipient stanzas of its header (``stanzas_sha256``),
* the payload ciphertext, nonce included: in records of the second format by the root of
  the payload's segment digests (``segments_sha256``; the list is the header stanza of
  ``segments.py``, just before this one), in records of the first format and for content
  written before segments by one SHA-256 of the whole payload (``payload_sha256``), so
  ``share`` can re-sign a header without touching the payload, and
* the previous record (``prev``), so every ACL change is checked against the ACL
  before it: only an owner may change who reads, only an owner or editor the content.

Other age implementations skip the unknown stanza type; the header MAC covers it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from vault_app.core import safe_json, signing
from vault_app.core.digests import sha256_hex
from vault_app.core.errors import MalformedError, VaultError
from vault_app.core.header import Stanza
from vault_app.core.layout import check_name
from vault_app.core.segments import STANZA as SEGMENTS_STANZA
from vault_app.core.value_class import field, replace, value_class

ACL_STANZA = "dataset-vault.org/acl"
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
    CONFLICT = "conflict"   # a sync conflict copy, a duplicate file id, a fork
    ROLLBACK = "rollback"   # older than what this account saw, or than the audit log says


CAN_SHARE = {Role.OWNER.value}
CAN_WRITE = {Role.OWNER.value, Role.EDITOR.value}


def new_file_id() -> str:
    """A fresh ``file_id``: 32 hex digits, random in the form of a version-4 UUID (as
    ``uuid.uuid4().hex`` gives, without importing ``uuid`` and ``platform`` for it)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def stanzas_digest(stanzas: Sequence[Stanza]) -> str:
    return sha256_hex(b"".join(s.encode() for s in stanzas))


#: Fields of a record of the first format; the second adds ``V2_FIELDS``.
V1_FIELDS = ("file_id", "author", "acl", "readers", "recovery", "stanzas_sha256",
             "payload_sha256", "signer", "signed", "change", "prev", "signature")
V2_FIELDS = ("format", "name", "vault", "registry", "segments_sha256")
MAX_RECORDS = 4096
MAX_STANZA = 1 << 20
_MAX_MEMBERS = 4096


@value_class
class Record:
    """One signed version of a file's access list; see the module docstring.

    Records of the second format (``format == 2``) also bind the file's name in the vault
    (``name``: its path below the vault root, so two files swapped or renamed into each
    other's names no longer pass), the vault (``vault``: its id) and the member registry
    version the signer saw (``registry``: a key signs only within its member's period),
    and name the content by the root of its segment digests (``segments_sha256``), or, for
    content written before segments (a share of an older file), keep the one digest of
    its whole payload (``payload_sha256``): exactly one of the two is set.
    """

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
    format: int = 2
    name: str = ""
    vault: str = ""
    registry: int = 0
    segments_sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The record as a plain dict, for encoding. Shallow (``asdict`` deep-copies, which
        was a quarter of the time of listing a large vault); callers only serialize it."""
        names = V1_FIELDS + V2_FIELDS if self.format >= 2 else V1_FIELDS
        return {name: getattr(self, name) for name in names}

    def message(self) -> bytes:
        body = self.as_dict()
        del body["signature"]
        return _SIG_DOMAIN + signing.canonical(body)

    def digest(self) -> str:
        return sha256_hex(signing.canonical(self.as_dict()))

    def sign(self, signer: signing.Signer) -> Record:
        if signer.name != self.signer:
            raise ValueError("a record is signed by its signer")
        return replace(self, signature=signing.sign(signer, self.message()))

    def placeholder(self) -> Record:
        """Same encoded length as the final record of new content: lets the header be
        written before the payload's digest is known."""
        digest = ({"segments_sha256": _ZERO_DIGEST} if self.format >= 2
                  else {"payload_sha256": _ZERO_DIGEST})
        return replace(self, **digest, signature=_PLACEHOLDER_SIG)

    @property
    def content_digests(self) -> tuple[str, str]:
        """What names the content (whichever digest the record uses): equal for two
        records exactly when they name the same content."""
        return self.payload_sha256, self.segments_sha256

    @property
    def owners(self) -> list[str]:
        return sorted(n for n, r in self.acl.items() if r == Role.OWNER.value)

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """Strictly typed: a hostile header must give MalformedError, never a crash."""
        bad = MalformedError("the file's access list is malformed")
        if not isinstance(data, dict):
            raise bad
        v2 = "format" in data
        if set(data) != set(V1_FIELDS + V2_FIELDS if v2 else V1_FIELDS):
            raise bad
        for name, value in data.items():
            if name in ("acl", "readers"):
                if (not isinstance(value, dict) or len(value) > _MAX_MEMBERS
                        or not all(isinstance(k, str) and isinstance(v, str)
                                   for k, v in value.items())):
                    raise bad
            elif name in ("format", "registry"):
                if not isinstance(value, int) or isinstance(value, bool) or not (
                        0 <= value < 1 << 62):
                    raise bad
            elif not isinstance(value, str):
                raise bad
        if v2 and data["format"] != 2:
            raise MalformedError("the file's access list has an unknown record format")
        record = cls(**data) if v2 else cls(**data, format=1)
        if v2 and bool(record.payload_sha256) == bool(record.segments_sha256):
            raise MalformedError("the file's access list names its content twice, or not")
        if any(r not in {x.value for x in Role} for r in record.acl.values()):
            raise MalformedError("the file's access list names an unknown role")
        try:
            for name in (record.author, record.signer, *record.acl, *record.readers):
                check_name(name)
        except VaultError:
            raise MalformedError("the file's access list names an invalid user") from None
        return record


def encode_stanza(history: Sequence[Record]) -> Stanza:
    version = max(r.format for r in history)
    body = {"v": version, "history": [r.as_dict() for r in history]}
    return Stanza(ACL_STANZA, (), signing.canonical(body))


def decode_stanza(stanza: Stanza) -> list[Record]:
    data = safe_json.loads(stanza.body, what="the file's access list", max_bytes=MAX_STANZA)
    if not isinstance(data, dict) or data.get("v") not in (1, 2):
        raise MalformedError("the file's access list has an unknown version")
    history = data.get("history")
    if not isinstance(history, list) or not history or len(history) > MAX_RECORDS:
        raise MalformedError("the file's access list has no records, or too many")
    return [Record.from_json(r) for r in history]


def split_header(stanzas: Sequence[Stanza]
                 ) -> tuple[list[Stanza], Stanza | None, list[Record] | None]:
    """Recipient stanzas, the segment digests' stanza (None if there is none) and the ACL
    history (None if the file has no vault stanza). The vault's stanzas come last: the
    segment digests (if any), then the access list."""
    ours = [s for s in stanzas if s.type == ACL_STANZA]
    if not ours:
        return list(stanzas), None, None
    if len(ours) > 1 or stanzas[-1].type != ACL_STANZA:
        raise MalformedError("the file has a misplaced or repeated access-list stanza")
    listed = [i for i, s in enumerate(stanzas) if s.type == SEGMENTS_STANZA]
    if listed and listed != [len(stanzas) - 2]:
        raise MalformedError("the file has misplaced or repeated segment digests")
    segments = stanzas[-2] if listed else None
    recipients = list(stanzas[: -2 if listed else -1])
    return recipients, segments, decode_stanza(ours[0])


@value_class
class Verdict:
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is Status.VALID
