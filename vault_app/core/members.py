"""The vault's member registry (``.vault/members.json``): public keys signed by admins.

Trust starts at the first admin, whose signing key is pinned in the (self-signed)
vault config. An entry is trusted when it is signed by an already trusted admin;
anything else (an edited recipient, a swapped signing key, an entry "signed" by a
non-admin) is reported as a problem and never used. Removed members stay in the
registry, marked removed, so their old signatures can still be checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from vault_app.core.errors import (
    MemberKeyMismatchError,
    Remedy,
    UnknownUserError,
    VaultFormatError,
)
from vault_app.core.layout import check_name
from vault_app.core.signing import (
    Clock,
    Signer,
    canonical,
    now_iso,
    parse_signing_public,
    sign,
    verify,
)

MEMBERS_FORMAT = "dataset-vault.org/members/v1"
_MEMBER_DOMAIN = b"dataset-vault.org/v1/member\n"


@dataclass(frozen=True)
class Member:
    """One registry entry. ``signed_by`` is the admin whose signature makes it valid."""

    name: str
    recipient: str
    signing_key: str
    admin: bool
    added_by: str
    added: str
    removed: str = ""
    signed_by: str = ""
    signature: str = ""

    @property
    def active(self) -> bool:
        return not self.removed

    def message(self, vault_id: str) -> bytes:
        body = {k: v for k, v in asdict(self).items() if k != "signature"}
        body["vault"] = vault_id
        return _MEMBER_DOMAIN + canonical(body)

    def signed(self, vault_id: str, admin: Signer) -> Member:
        unsigned = replace(self, signed_by=admin.name, signature="")
        return replace(unsigned, signature=sign(admin, unsigned.message(vault_id)))

    def fingerprint(self) -> str:
        """Short, stable digest of the public keys, to compare out of band."""
        digest = hashlib.sha256(f"{self.recipient}\n{self.signing_key}".encode()).hexdigest()
        return ":".join(digest[i:i + 4] for i in range(0, 16, 4))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        try:
            return cls(name=str(data["name"]), recipient=str(data["recipient"]),
                       signing_key=str(data["signing_key"]), admin=bool(data["admin"]),
                       added_by=str(data["added_by"]), added=str(data["added"]),
                       removed=str(data.get("removed", "")),
                       signed_by=str(data.get("signed_by", "")),
                       signature=str(data.get("signature", "")))
        except (KeyError, TypeError) as exc:
            raise VaultFormatError("a member registry entry is malformed") from exc


class Registry:
    """The parsed registry with its trust evaluated: ``trusted`` entries and ``problems``."""

    def __init__(self, vault_id: str, root_name: str, root_key: str,
                 entries: Iterable[Member]) -> None:
        self.vault_id = vault_id
        self.root_name = root_name
        self.root_key = root_key
        self.entries = list(entries)
        self.trusted: dict[str, Member] = {}
        self.problems: dict[str, str] = {}
        self._evaluate()

    def _valid(self, entry: Member, signer: Member) -> bool:
        return verify(signer.signing_key, entry.signature, entry.message(self.vault_id))

    def _evaluate(self) -> None:
        names = [e.name for e in self.entries]
        for name in {n for n in names if names.count(n) > 1}:
            self.problems[name] = "appears more than once in the registry"
        pending = [e for e in self.entries if e.name not in self.problems]
        for entry in pending:
            if entry.name != self.root_name:
                continue
            if entry.signing_key != self.root_key:
                self.problems[entry.name] = ("its signing key is not the one pinned in the "
                                             "vault config (swapped key)")
            elif (entry.signed_by == entry.name and entry.admin
                  and self._valid(entry, entry)):
                self.trusted[entry.name] = entry
            else:
                self.problems[entry.name] = "its self-signature does not verify"
        if self.root_name not in self.trusted and self.root_name not in self.problems:
            self.problems[self.root_name] = "the first admin is missing from the registry"
        pending = [e for e in pending if e.name != self.root_name]
        changed = True
        while changed:
            changed = False
            for entry in list(pending):
                signer = self.trusted.get(entry.signed_by)
                if signer is not None and signer.admin and signer.active:
                    pending.remove(entry)
                    changed = True
                    if self._valid(entry, signer):
                        self.trusted[entry.name] = entry
                    else:
                        self.problems[entry.name] = (
                            "its signature does not verify (keys swapped or entry edited)")
        for entry in pending:
            self.problems[entry.name] = (f"it is not signed by a vault admin "
                                         f"(claims {entry.signed_by or 'nobody'})")

    # -- lookups ------------------------------------------------------------------------------

    def member(self, name: str, *, active: bool = True) -> Member:
        """The trusted entry for ``name``; raises on a tampered or missing one."""
        if name in self.problems:
            raise MemberKeyMismatchError(f"member {name!r} is not trustworthy: "
                                         f"{self.problems[name]}")
        entry = self.trusted.get(name)
        if entry is None or (active and not entry.active):
            raise UnknownUserError(f"{name!r} is not a member of this vault",
                                   remedy=Remedy.ADD_MEMBER)
        return entry

    def lookup(self, name: str) -> Member | None:
        """For verifying old signatures: trusted entries, removed ones included."""
        return self.trusted.get(name)

    def active_members(self) -> list[Member]:
        return [m for m in self.trusted.values() if m.active]

    def to_json(self) -> dict[str, Any]:
        return {"format": MEMBERS_FORMAT, "members": [asdict(e) for e in self.entries]}

    @classmethod
    def from_json(cls, data: Any, vault_id: str, root_name: str, root_key: str) -> Registry:
        if not isinstance(data, dict) or data.get("format") != MEMBERS_FORMAT:
            raise VaultFormatError("the member registry has an unknown format")
        members = data.get("members")
        if not isinstance(members, list):
            raise VaultFormatError("the member registry is malformed")
        return cls(vault_id, root_name, root_key, [Member.from_json(m) for m in members])

    # -- changes (return a new registry; the caller writes it under the registry lock) -------

    def with_entry(self, entry: Member) -> Registry:
        entries = [e for e in self.entries if e.name != entry.name] + [entry]
        return Registry(self.vault_id, self.root_name, self.root_key, entries)


def new_member(keys_name: str, recipient: str, signing_key: str, *, admin: bool,
               added_by: str, clock: Clock | None = None) -> Member:
    check_name(keys_name)
    parse_signing_public(signing_key)  # refuse garbage at once
    return Member(keys_name, recipient, signing_key, admin, added_by, now_iso(clock))
