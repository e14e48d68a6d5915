"""The member registry: trust from the pinned first admin, admin-only changes, removal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vault_support import team

from vault_app.core.errors import (
    AccessDeniedError,
    ConflictError,
    MemberKeyMismatchError,
    UnknownUserError,
)
from vault_app.core.keystore import UserKeys
from vault_app.core.members import new_member
from vault_app.core.value_class import asdict
from vault_app.core.vault import Role, Vault


def _append_entry(root: Path, entry: dict[str, object]) -> None:
    path = root / ".vault" / "members.json"
    data = json.loads(path.read_text())
    data["members"].append(entry)
    path.write_text(json.dumps(data))


def test_entry_signed_by_a_non_admin_is_refused(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice", "bob")
    bob = v["bob"].keys()
    mallory = UserKeys.generate("mallory")
    forged = new_member("mallory", mallory.recipient, mallory.signing_public, admin=True,
                        added_by="bob").signed(v["alice"].config["vault_id"], bob)
    src = tmp_path / "a.csv"
    src.write_bytes(b"a")
    locked = v["alice"].lock(src).path
    _append_entry(tmp_path / "v", asdict(forged))
    alice = Vault.open(tmp_path / "v", user="alice", keystore=v["alice"].keystore)
    assert "not signed by a vault admin" in alice.registry.problems["mallory"]
    assert [m.name for m in alice.members()] == ["alice", "bob"]
    # the edited registry is not the one an admin signed: nothing is built on it
    with pytest.raises((MemberKeyMismatchError, ConflictError)):
        alice.share(locked, "mallory")
    (tmp_path / "b.csv").write_bytes(b"b")
    with pytest.raises(ConflictError, match="registry"):
        alice.lock(tmp_path / "b.csv")
    problems = alice.verify()
    assert any("mallory" in r.detail for r in problems)
    assert any(r.status == "conflict" and "edited" in r.detail for r in problems)
    # and bob cannot add members through the API either
    with pytest.raises(AccessDeniedError):
        v["bob"].add_member("eve", mallory.recipient, mallory.signing_public)


def test_entry_replayed_from_another_vault_is_refused(tmp_path: Path) -> None:
    first = team(tmp_path / "one", "alice", "bob")
    second = team(tmp_path / "two", "alice")
    registry = json.loads((tmp_path / "one" / ".vault" / "members.json").read_text())
    bob_entry = next(e for e in registry["members"] if e["name"] == "bob")
    _append_entry(tmp_path / "two", bob_entry)  # signed by alice, but for vault one
    alice2 = Vault.open(tmp_path / "two", user="alice", keystore=second["alice"].keystore)
    assert "does not verify" in alice2.registry.problems["bob"]
    assert first["alice"].registry.problems == {}


def test_removed_member_keeps_old_signatures_but_cannot_act(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice", "bob", "carol")
    src = tmp_path / "a.csv"
    src.write_bytes(b"by bob")
    locked = v["bob"].lock(src).path  # bob's file; he shares it with alice as owner
    v["bob"].share(locked, "alice", Role.OWNER)
    v["alice"].remove_member("bob")
    assert [m.name for m in v["alice"].members()] == ["alice", "carol"]
    info = v["alice"].info(locked)
    assert info.signature == "valid" and info.author == "bob"
    bob = Vault.open(tmp_path / "v", user="bob", keystore=v["alice"].keystore)
    with pytest.raises(UnknownUserError):
        bob.keys()
    with pytest.raises(UnknownUserError):
        v["alice"].share(locked, "bob")
    # a revoke drops him; the file stays valid and readable by alice
    after = v["alice"].revoke(locked, "bob")
    assert after.acl == {"alice": Role.OWNER} and after.signature == "valid"
    assert v["alice"].unlock(locked, tmp_path / "o").read_bytes() == b"by bob"
    with pytest.raises(AccessDeniedError):
        v["alice"].remove_member("alice")  # the first admin stays
    # re-adding bob with new keys works, and is a fresh entry
    fresh = UserKeys.generate("bob")
    v["alice"].add_member("bob", fresh.recipient, fresh.signing_public)
    assert v["alice"].registry.member("bob").recipient == fresh.recipient


def test_own_keys_must_match_registry(tmp_path: Path) -> None:
    """If this account's keys for a user are not the registered ones, nothing is signed."""
    v = team(tmp_path / "v", "alice", "bob")
    store = v["alice"].keystore
    store.delete("bob")
    store.create("bob")  # a different key pair under the same name
    bob = Vault.open(tmp_path / "v", user="bob", keystore=store)
    with pytest.raises(MemberKeyMismatchError):
        bob.keys()
