"""The issue's scenario: alice, bob and carol in one vault, end to end through the core."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from vault_support import make_keystore

from vault_app.core import age
from vault_app.core.errors import (
    AccessDeniedError,
    ConflictError,
    MemberKeyMismatchError,
    NoIdentityMatchError,
    SignatureError,
)
from vault_app.core.keys import parse_identity
from vault_app.core.keystore import UserKeys
from vault_app.core.vault import Role, Vault


def test_alice_bob_carol(tmp_path: Path) -> None:
    keystore = make_keystore()
    root = tmp_path / "vault"
    alice, recovery_text = Vault.init(root, user="alice", keystore=keystore)
    recovery = parse_identity(recovery_text)
    for name in ("bob", "carol"):
        keys = keystore.create(name)
        alice.add_member(name, keys.recipient, keys.signing_public)
    bob = Vault.open(root, user="bob", keystore=keystore)
    carol = Vault.open(root, user="carol", keystore=keystore)

    data = os.urandom(200_000) + b"patient,diagnosis\n" * 1000
    src = tmp_path / "patients_2026.csv"
    src.write_bytes(data)
    info = alice.lock(src)
    locked = root / "patients_2026.csv.age"
    assert not src.exists(), "the plaintext is removed once the locked copy is verified"
    assert info.path == locked and info.size == len(data)
    assert info.acl == {"alice": Role.OWNER} and info.signature == "valid"

    shared = alice.share(locked, "bob")
    assert shared.readers == ["alice", "bob"] and shared.signature == "valid"
    assert bob.info(locked).signature == "valid"
    out = bob.unlock(locked, tmp_path / "bob")
    assert out.read_bytes() == data

    # carol is refused by the cryptography itself: no stanza unwraps for her identity
    with pytest.raises(AccessDeniedError):
        carol.unlock(locked, tmp_path / "carol")
    with locked.open("rb") as handle, pytest.raises(NoIdentityMatchError):
        age.decrypt(handle, io.BytesIO(), [keystore.load("carol").identity])
    assert not (tmp_path / "carol" / "patients_2026.csv").exists()

    bob_version = locked.read_bytes()
    alice.revoke(locked, "bob")
    assert alice.info(locked).readers == ["alice"]
    with pytest.raises(AccessDeniedError):
        bob.unlock(locked, tmp_path / "bob2")
    assert locked.read_bytes()[-1000:] != bob_version[-1000:], "the payload was re-encrypted"
    assert alice.unlock(locked, tmp_path / "alice").read_bytes() == data

    # the recovery key reads everything, this file and another one
    other = tmp_path / "other.parquet"
    other.write_bytes(b"PAR1" + os.urandom(5000))
    other_bytes = other.read_bytes()
    alice.lock(other, keep=True)
    for name, expected in (("patients_2026.csv", data), ("other.parquet", other_bytes)):
        out, verdict = carol.recover(root / f"{name}.age", recovery, tmp_path / "recovered")
        assert out.read_bytes() == expected and verdict.ok


def test_tampered_acl_is_detected(tmp_path: Path) -> None:
    """Bob, a reader, adds carol to the ACL (signing it himself): everyone sees it fail."""
    from vault_support import team

    from vault_app.core.acl import Record, encode_stanza, split_header, stanzas_digest
    from vault_app.core.header import build_header, read_header
    from vault_app.core.keys import parse_recipient

    vaults = team(tmp_path / "v", "alice", "bob", "carol")
    src = tmp_path / "d.csv"
    src.write_bytes(b"a,b\n1,2\n")
    locked = vaults["alice"].lock(src).path
    vaults["alice"].share(locked, "bob")

    bob_keys: UserKeys = vaults["bob"].keys()
    raw = locked.read_bytes()
    with locked.open("rb") as handle:
        header = read_header(handle)
        payload = handle.read()
    stanzas, listed, history = split_header(header.stanzas)
    assert history is not None and listed is not None
    file_key = age.unwrap_file_key(header, [bob_keys.identity])
    carol_recipient = vaults["carol"].keys().recipient
    stanzas = stanzas + age.wrap_stanzas(file_key, [parse_recipient(carol_recipient)])
    cur = history[-1]
    forged = Record(**{**cur.__dict__, "acl": {**cur.acl, "carol": "reader"},
                       "readers": {**cur.readers, "carol": carol_recipient},
                       "stanzas_sha256": stanzas_digest(stanzas), "signer": "bob",
                       "change": "share", "prev": cur.digest()}).sign(bob_keys)
    new = build_header(file_key, [*stanzas, listed, encode_stanza([*history, forged])])
    locked.write_bytes(new.encode() + payload)
    assert locked.read_bytes() != raw

    for who in ("alice", "bob", "carol"):
        info = vaults[who].info(locked)
        assert info.signature == "invalid", who
        assert "without being an owner" in info.signature_detail
    with pytest.raises(SignatureError):
        vaults["carol"].unlock(locked, tmp_path / "carol")

    # bob just edits the ACL bytes, keeping alice's signature: signature fails
    tampered = Record(**{**cur.__dict__, "acl": {**cur.acl, "bob": "owner"}})
    new = build_header(file_key, [*split_header(header.stanzas)[0],
                                  encode_stanza([*history[:-1], tampered])])
    locked.write_bytes(new.encode() + payload)
    assert vaults["alice"].info(locked).signature == "invalid"
    assert "does not verify" in vaults["alice"].info(locked).signature_detail


def test_swapped_member_key_is_detected(tmp_path: Path) -> None:
    """Someone replaces bob's public key in the registry with their own: refused."""
    from vault_support import team

    vaults = team(tmp_path / "v", "alice", "bob")
    src = tmp_path / "d.csv"
    src.write_bytes(b"x")
    locked = vaults["alice"].lock(src, keep=True).path
    registry = tmp_path / "v" / ".vault" / "members.json"
    data = json.loads(registry.read_text())
    mallory = UserKeys.generate("mallory")
    for entry in data["members"]:
        if entry["name"] == "bob":
            entry["recipient"] = mallory.recipient
    registry.write_text(json.dumps(data))

    alice = Vault.open(tmp_path / "v", user="alice", keystore=vaults["alice"].keystore)
    with pytest.raises(ConflictError, match="registry"):  # nothing is built on it
        alice.lock(src)
    with pytest.raises((MemberKeyMismatchError, ConflictError)):
        alice.share(locked, "bob")
    assert alice.info(locked).readers == ["alice"], "mallory's key was not used"
    problems = [r for r in alice.verify() if r.status != "valid"]
    assert problems and "bob" in problems[0].detail
    bob = Vault.open(tmp_path / "v", user="bob", keystore=vaults["alice"].keystore)
    with pytest.raises(MemberKeyMismatchError):
        bob.keys()


def test_swapped_signing_key_marks_signed_files_invalid(tmp_path: Path) -> None:
    """Swap the author's signing key in the registry: their files turn invalid."""
    from vault_support import team

    vaults = team(tmp_path / "v", "alice", "bob")
    src = tmp_path / "d.csv"
    src.write_bytes(b"by bob")
    locked = vaults["bob"].lock(src).path
    assert vaults["alice"].info(locked).signature == "valid"
    registry = tmp_path / "v" / ".vault" / "members.json"
    data = json.loads(registry.read_text())
    mallory = UserKeys.generate("bob")
    for entry in data["members"]:
        if entry["name"] == "bob":
            entry["signing_key"] = mallory.signing_public
    registry.write_text(json.dumps(data))
    info = vaults["alice"].info(locked)
    assert info.signature == "invalid" and "bob" in info.signature_detail
    with pytest.raises(SignatureError):
        vaults["alice"].unlock(locked, tmp_path / "o")
