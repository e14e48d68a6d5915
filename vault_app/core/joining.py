"""Joining a vault from one's own login: private keys never leave their owner's account.

A newcomer runs ``vault join`` in their own login: their keys are made in (or reused from)
their own keyring, and a join request holding only public keys, self-signed, is written
into ``.vault/requests/<name>.json``. They read a short fingerprint of their keys to an
admin (in person, by phone). The admin lists the requests, compares the fingerprint, and
approves: the keys are signed into the registry like any member's. A request can be
written by anyone who can write the folder, so nothing in it is trusted but the keys it
names, and only after the fingerprint matched: that comparison is the authentication.
On a shared workstation the request file's OS owner is shown too, as a second check.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from vault_app.core import safe_json, signing
from vault_app.core.errors import (
    AccessDeniedError,
    ErrorKind,
    UnknownUserError,
    VaultError,
)
from vault_app.core.keystore import Keystore
from vault_app.core.layout import META, check_name
from vault_app.core.members import fingerprint
from vault_app.core.value_class import value_class
from vault_app.core.vault_folder import VaultFolder

REQUESTS = "requests"
_FORMAT = "dataset-vault.org/join-request/v1"
_DOMAIN = b"dataset-vault.org/v2/join-request\n"


@value_class
class JoinRequest:
    """A request to join: public keys, self-signed; ``file_owner`` is the OS login that
    wrote the file (None where the system has no such notion)."""

    name: str
    recipient: str
    signing_key: str
    requested: str
    vault_id: str
    signature: str
    file_owner: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.recipient, self.signing_key)

    def body(self) -> dict[str, Any]:
        return {"format": _FORMAT, "name": self.name, "recipient": self.recipient,
                "signing_key": self.signing_key, "requested": self.requested,
                "vault": self.vault_id}

    def self_signed(self) -> bool:
        """Signed by the key it names (so nobody offers keys they do not hold)."""
        return signing.verify(self.signing_key, self.signature,
                              _DOMAIN + signing.canonical(self.body()))

    @classmethod
    def from_json(cls, data: Any, file_owner: str | None) -> JoinRequest:
        keys = ("name", "recipient", "signing_key", "requested", "vault", "signature")
        if (not isinstance(data, dict) or data.get("format") != _FORMAT
                or not all(isinstance(data.get(k), str) for k in keys)):
            raise VaultError("a join request is malformed", kind=ErrorKind.MALFORMED)
        return cls(check_name(data["name"]), data["recipient"], data["signing_key"],
                   data["requested"], data["vault"], data["signature"], file_owner)


def _owner_name(uid: int) -> str | None:
    try:
        import pwd
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def request(root: Path, config: dict[str, Any], keystore: Keystore, name: str, *,
            post_quantum: bool, clock: signing.Clock | None = None) -> JoinRequest:
    """Write (or replace) ``name``'s join request into the vault at ``root``, with keys
    from this account's keystore (made there if missing)."""
    check_name(name)
    keys = (keystore.load(name) if keystore.exists(name)
            else keystore.create(name, post_quantum=post_quantum))
    vault_id = str(config["vault_id"])
    draft = JoinRequest(name, keys.recipient, keys.signing_public, signing.now_iso(clock),
                        vault_id, "")
    signed = JoinRequest(**{**draft.__dict__, "signature": signing.sign(
        keys, _DOMAIN + signing.canonical(draft.body()))})
    folder = VaultFolder(root)
    with folder.folder([META, REQUESTS], create=True) as requests, requests.replace(
            f"{name}.json", folder.modes.file) as out:
        out.write(json.dumps({**signed.body(), "signature": signed.signature},
                             indent=2, sort_keys=True).encode() + b"\n")
    return signed


def pending(folder: VaultFolder, vault_id: str) -> tuple[list[JoinRequest], list[str]]:
    """The join requests waiting, and why others were set aside (malformed, forged)."""
    found: list[JoinRequest] = []
    problems: list[str] = []
    try:
        with folder.folder([META, REQUESTS]) as requests:
            names = sorted(n for n in requests.names() if n.endswith(".json"))
            for file in names:
                try:
                    data = requests.read(file, safe_json.MAX_BYTES)
                    info = requests.lstat(file)
                    owner = _owner_name(info.st_uid) if info is not None else None
                    item = JoinRequest.from_json(safe_json.loads(
                        data or b"", what=f"the join request {file}"), owner)
                except (VaultError, OSError) as exc:
                    problems.append(f"{file}: {exc}")
                    continue
                if item.vault_id != vault_id or f"{item.name}.json" != file:
                    problems.append(f"{file}: made for another vault or another name")
                elif not item.self_signed():
                    problems.append(f"{file}: its signature is not by the keys it names")
                else:
                    found.append(item)
    except VaultError:
        return [], []  # no requests folder: nobody asked yet
    return found, problems


def find(folder: VaultFolder, vault_id: str, name: str) -> JoinRequest:
    requests, _problems = pending(folder, vault_id)
    for item in requests:
        if item.name == name:
            return item
    raise UnknownUserError(f"there is no (valid) join request from {name}",
                           hint="they ask from their own login, in this vault's folder")


def check_fingerprint(item: JoinRequest, given: str) -> None:
    """Refuse unless ``given`` is the fingerprint of the requested keys."""
    if given.strip().lower().replace(" ", "") != item.fingerprint:
        raise AccessDeniedError(
            f"the fingerprint given is not the one of {item.name}'s request "
            f"({item.fingerprint}): do not approve it",
            kind=ErrorKind.KEY_MISMATCH,
            hint="someone else may have written the request; ask them to join again and "
                 "read the fingerprint to you in person")


def remove(folder: VaultFolder, name: str) -> None:
    with contextlib.suppress(VaultError), folder.folder([META, REQUESTS]) as requests:
        requests.unlink(f"{check_name(name)}.json")
        requests.fsync()

