"""The vault's member registry (``.vault/members.json``): public keys signed by admins.

Trust starts at the first admin, whose signing key is pinned in the (self-signed)
vault config. An entry is trusted when it is signed by a trusted admin; anything else
(an edited recipient, a swapped signing key, an entry "signed" by a non-admin) is reported
as a problem and never used.

The registry has versions: every change by an admin makes version N+1, which names the
digest of version N and is signed as a whole by that admin. A member's entry says in
which version they were added (``since``) and, once removed, in which version
(``until``); every signed record in the vault names the registry version its signer saw,
so a key signs only within its member's period: a removed member's new signatures are
refused, and a registry put back to an older version is seen as one. Removed entries stay
(with their period), so old signatures still verify; a name may come back later as a new
entry (new keys, a new period).

Version 1 registries (no versions, one entry per name) are read as version 0; their
entries keep their signatures (a version 2 entry with ``since = until = 0`` signs the same
fields), and the next change writes version 2 of the format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vault_app.core.digests import sha256_hex
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
from vault_app.core.value_class import asdict, replace, value_class

MEMBERS_FORMAT = "dataset-vault.org/members/v2"
MEMBERS_FORMAT_V1 = "dataset-vault.org/members/v1"
_MEMBER_DOMAIN = b"dataset-vault.org/v1/member\n"
_REGISTRY_DOMAIN = b"dataset-vault.org/v2/registry\n"
#: Registry versions are counted in int64 range; more is a forgery.
_MAX_VERSION = 1 << 62


@value_class
class Member:
    """One registry entry. ``signed_by`` is the admin whose signature makes it valid;
    ``since``/``until`` the registry versions of the member's period (0: not set)."""

    name: str
    recipient: str
    signing_key: str
    admin: bool
    added_by: str
    added: str
    removed: str = ""
    signed_by: str = ""
    signature: str = ""
    since: int = 0
    until: int = 0

    @property
    def active(self) -> bool:
        return not self.removed

    def member_at(self, version: int) -> bool:
        """Whether this entry was a member at registry ``version``."""
        if version < self.since:
            return False
        if not self.removed:
            return True
        return version < (self.until or 1)  # removed in a version 1 registry: before v2

    def message(self, vault_id: str) -> bytes:
        body = {k: v for k, v in asdict(self).items() if k != "signature"}
        for field in ("since", "until"):  # absent in version 1 entries: same signature
            if not body[field]:
                del body[field]
        body["vault"] = vault_id
        return _MEMBER_DOMAIN + canonical(body)

    def signed(self, vault_id: str, admin: Signer) -> Member:
        unsigned = replace(self, signed_by=admin.name, signature="")
        return replace(unsigned, signature=sign(admin, unsigned.message(vault_id)))

    def fingerprint(self) -> str:
        """Short, stable digest of the public keys, to compare out of band."""
        return fingerprint(self.recipient, self.signing_key)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for field in ("since", "until"):
            if not data[field]:
                del data[field]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        if not isinstance(data, Mapping):
            raise VaultFormatError("a member registry entry is malformed")
        text = ("name", "recipient", "signing_key", "added_by", "added", "removed",
                "signed_by", "signature")
        values = {k: data.get(k, "") for k in text}
        numbers = {k: data.get(k, 0) for k in ("since", "until")}
        if (not all(isinstance(v, str) for v in values.values())
                or not isinstance(data.get("admin"), bool)
                or not all(isinstance(v, int) and not isinstance(v, bool)
                           and 0 <= v < _MAX_VERSION for v in numbers.values())
                or not values["name"] or not values["recipient"]):
            raise VaultFormatError("a member registry entry is malformed")
        try:
            check_name(values["name"])
        except UnknownUserError:
            raise VaultFormatError("a member registry entry has an invalid name") from None
        return cls(admin=data["admin"], **values, **numbers)


def fingerprint(recipient: str, signing_key: str) -> str:
    """Short, stable digest of a member's public keys, to read out and compare."""
    digest = sha256_hex(f"{recipient}\n{signing_key}".encode())
    return ":".join(digest[i:i + 4] for i in range(0, 16, 4))


class Registry:
    """The parsed registry with its trust evaluated: trusted entries and ``problems``."""

    def __init__(self, vault_id: str, root_name: str, root_key: str,
                 entries: Iterable[Member], *, version: int = 0, prev: str = "",
                 signed_by: str = "", signature: str = "") -> None:
        self.vault_id = vault_id
        self.root_name = root_name
        self.root_key = root_key
        self.entries = list(entries)
        self.version = version
        self.prev = prev
        self.signed_by = signed_by
        self.signature = signature
        #: name -> its trusted entries, oldest first (one per period)
        self.periods: dict[str, list[Member]] = {}
        self.problems: dict[str, str] = {}
        #: why the registry as a whole is not the one its admin signed (None if it is)
        self.document_problem: str | None = None
        self._evaluate()

    # -- trust ------------------------------------------------------------------------------

    def _valid(self, entry: Member, signer: Member) -> bool:
        return verify(signer.signing_key, entry.signature, entry.message(self.vault_id))

    def _admin_at(self, name: str, version: int | None) -> Member | None:
        """``name``'s trusted admin entry at registry ``version``; for ``None`` (what was
        signed in a version 1 registry names no version) their current, active one."""
        for entry in reversed(self.periods.get(name, [])):
            if entry.admin and (entry.active if version is None
                                else entry.member_at(version)):
                return entry
        return None

    def _evaluate(self) -> None:
        by_name: dict[str, list[Member]] = {}
        for entry in self.entries:
            by_name.setdefault(entry.name, []).append(entry)
        for name, entries in by_name.items():
            if sum(1 for e in entries if e.active) > 1 or (
                    len(entries) > 1 and any(not e.since for e in entries)):
                self.problems[name] = "appears more than once in the registry"
        pending = [e for e in self.entries if e.name not in self.problems]
        root = [e for e in pending if e.name == self.root_name]
        for entry in root:
            if entry.signing_key != self.root_key:
                self.problems[entry.name] = ("its signing key is not the one pinned in the "
                                             "vault config (swapped key)")
            elif (entry.signed_by == entry.name and entry.admin and entry.active
                  and self._valid(entry, entry)):
                self.periods[entry.name] = [entry]
            else:
                self.problems[entry.name] = "its self-signature does not verify"
        if self.root_name not in self.periods and self.root_name not in self.problems:
            self.problems[self.root_name] = "the first admin is missing from the registry"
        pending = [e for e in pending if e.name != self.root_name]
        changed = True
        while changed:
            changed = False
            for entry in list(pending):
                at = (entry.until if entry.removed else entry.since) or None
                signer = self._admin_at(entry.signed_by, at)
                if signer is None:
                    continue
                pending.remove(entry)
                changed = True
                if self._valid(entry, signer):
                    self.periods.setdefault(entry.name, []).append(entry)
                else:
                    self.problems[entry.name] = (
                        "its signature does not verify (keys swapped or entry edited)")
        for entry in pending:
            self.problems.setdefault(entry.name, f"it is not signed by a vault admin (claims "
                                                 f"{entry.signed_by or 'nobody'})")
        for name in self.problems:
            self.periods.pop(name, None)
        for entries in self.periods.values():
            entries.sort(key=lambda e: (e.since, e.active))
        if self.version and not self._document_signed():
            self.document_problem = ("conflict: the registry's own signature does not "
                                     "verify: entries were edited, removed or put back "
                                     "behind the app's back")

    def _document_signed(self) -> bool:
        signer = self._admin_at(self.signed_by, self.version)
        return signer is not None and verify(signer.signing_key, self.signature,
                                             self._document_message(self.signed_by))

    def _document_message(self, signed_by: str) -> bytes:
        body = {"vault": self.vault_id, "version": self.version, "prev": self.prev,
                "members": sha256_hex(canonical({"m": [e.to_json() for e in self.entries]})),
                "signed_by": signed_by}
        return _REGISTRY_DOMAIN + canonical(body)

    # -- lookups ----------------------------------------------------------------------------

    @property
    def trusted(self) -> dict[str, Member]:
        """Each trusted name's current entry (its active one, else its latest)."""
        return {name: entries[-1] for name, entries in self.periods.items()}

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

    def lookup(self, name: str, at: int | None = None) -> Member | None:
        """For checking a signature by ``name``: with ``at`` (the registry version the
        signer named), the entry that was a member then, or None; without, the current
        entry (records of the first format name no version)."""
        entries = self.periods.get(name, [])
        if at is None:
            return entries[-1] if entries else None
        for entry in reversed(entries):
            if entry.member_at(at):
                return entry
        return None

    def active_members(self) -> list[Member]:
        return [m for m in self.trusted.values() if m.active]

    def digest(self) -> str:
        """Digest of this registry document, as the next version names it in ``prev``."""
        return sha256_hex(canonical(self.to_json()))

    # -- the file -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        if not self.version:
            return {"format": MEMBERS_FORMAT_V1, "members": [e.to_json() for e in self.entries]}
        return {"format": MEMBERS_FORMAT, "version": self.version, "prev": self.prev,
                "members": [e.to_json() for e in self.entries], "signed_by": self.signed_by,
                "signature": self.signature}

    @classmethod
    def from_json(cls, data: Any, vault_id: str, root_name: str, root_key: str) -> Registry:
        if not isinstance(data, dict) or data.get("format") not in (MEMBERS_FORMAT,
                                                                    MEMBERS_FORMAT_V1):
            raise VaultFormatError("the member registry has an unknown format")
        members = data.get("members")
        if not isinstance(members, list):
            raise VaultFormatError("the member registry is malformed")
        entries = [Member.from_json(m) for m in members]
        if data["format"] == MEMBERS_FORMAT_V1:
            return cls(vault_id, root_name, root_key, entries)
        version, prev = data.get("version"), data.get("prev")
        signed_by, signature = data.get("signed_by"), data.get("signature")
        if (not isinstance(version, int) or isinstance(version, bool)
                or not 1 <= version < _MAX_VERSION
                or not all(isinstance(v, str) for v in (prev, signed_by, signature))):
            raise VaultFormatError("the member registry is malformed")
        return cls(vault_id, root_name, root_key, entries, version=version, prev=str(prev),
                   signed_by=str(signed_by), signature=str(signature))

    # -- changes (return a new registry; the caller writes it under the registry lock) -------

    def changed(self, admin: Signer, *, add: Member | None = None,
                remove: str | None = None, when: str = "") -> Registry:
        """The next version: ``add`` a new member (signed by ``admin``, its period starting
        now) and/or ``remove`` one (their entry closed now, re-signed by ``admin``); the
        whole document is signed by ``admin``. Version 1 entries are carried as they are."""
        version = self.version + 1
        entries = list(self.entries)
        if remove is not None:
            current = self.member(remove)
            entries = [e for e in entries if e is not current]
            entries.append(replace(current, removed=when or now_iso(),
                                   until=version).signed(self.vault_id, admin))
        if add is not None:
            entries.append(replace(add, since=version).signed(self.vault_id, admin))
        return self.replaced(admin, entries, version=version)

    def replaced(self, admin: Signer, entries: list[Member], *, version: int) -> Registry:
        """Version ``version`` (above this one) holding ``entries`` as they are signed (a
        merge of copies), naming this version as the one before; signed by ``admin``."""
        draft = Registry(self.vault_id, self.root_name, self.root_key, entries,
                         version=version, prev=self.digest(), signed_by=admin.name)
        return _signed_document(draft, admin)


def _signed_document(registry: Registry, admin: Signer) -> Registry:
    signature = sign(admin, registry._document_message(admin.name))
    return Registry(registry.vault_id, registry.root_name, registry.root_key, registry.entries,
                    version=registry.version, prev=registry.prev, signed_by=admin.name,
                    signature=signature)


def signing_keys(registry: Registry) -> Callable[[str, int | None], str | None]:
    """``(name, registry version) -> signing key`` of whoever was that member then."""
    def key(name: str, at: int | None) -> str | None:
        entry = registry.lookup(name, at)
        return entry.signing_key if entry is not None else None
    return key


def admins(registry: Registry) -> set[str]:
    """Names of the registry's trusted admins (current or former)."""
    return {name for name, entries in registry.periods.items()
            if any(e.admin for e in entries)}


def first_registry(vault_id: str, root: Member, admin: Signer) -> Registry:
    """Version 1 of a new vault's registry: the first admin, self-signed."""
    entry = replace(root, since=1).signed(vault_id, admin)
    draft = Registry(vault_id, root.name, root.signing_key, [entry], version=1,
                     signed_by=admin.name)
    signature = sign(admin, draft._document_message(admin.name))
    return Registry(vault_id, root.name, root.signing_key, [entry], version=1,
                    signed_by=admin.name, signature=signature)


def new_member(keys_name: str, recipient: str, signing_key: str, *, admin: bool,
               added_by: str, clock: Clock | None = None) -> Member:
    check_name(keys_name)
    parse_signing_public(signing_key)  # refuse garbage at once
    return Member(keys_name, recipient, signing_key, admin, added_by, now_iso(clock))
