"""ACL enforcement and tamper detection beyond the main scenario."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from vault_support import make_keystore, team

from vault_app.core import age
from vault_app.core.acl import split_header
from vault_app.core.errors import (
    AccessDeniedError,
    Cancelled,
    ConflictError,
    FileOperationError,
    KeyFormatError,
    MalformedError,
    SignatureError,
    VaultFormatError,
)
from vault_app.core.header import read_header
from vault_app.core.keys import generate_identity, parse_recipient
from vault_app.core.keystore import UserKeys
from vault_app.core.listing import with_duplicates
from vault_app.core.progress import CancelToken
from vault_app.core.signing import b64, canonical
from vault_app.core.vault import Role, Vault


def _lock(vault: Vault, tmp_path: Path, data: bytes, name: str = "d.csv") -> Path:
    src = tmp_path / name
    src.write_bytes(data)
    return vault.lock(src).path


def _split(path: Path) -> tuple[bytes, bytes]:
    raw = path.read_bytes()
    with path.open("rb") as handle:
        header = read_header(handle)
    cut = len(header.encode())
    return raw[:cut], raw[cut:]


def test_reader_rewriting_content_is_detected(tmp_path: Path) -> None:
    """Bob knows the file key, so he can forge payload and MAC, but not alice's signature."""
    v = team(tmp_path / "v", "alice", "bob", "carol")
    locked = _lock(v["alice"], tmp_path, b"true,data\n" * 1000)
    v["alice"].share(locked, "bob")
    v["alice"].share(locked, "carol")
    with v["carol"].open_reader(locked) as reader:
        assert reader.read(9) == b"true,data"
    with locked.open("rb") as handle:
        header = read_header(handle)
    file_key = age.unwrap_file_key(header, [v["bob"].keys().identity])
    forged = io.BytesIO()
    forged.write(header.encode())
    age.seal_payload(file_key, io.BytesIO(b"poisoned,data\n" * 1000), forged)
    locked.write_bytes(forged.getvalue())

    for who in ("alice", "carol"):
        with pytest.raises(SignatureError, match="not the signed content"):
            v[who].unlock(locked, tmp_path / who)
        assert not (tmp_path / who / "d.csv").exists(), "no unauthenticated plaintext"
    for verify_content in (True, False):  # segments are checked as they are read, always
        with (v["carol"].open_reader(locked, verify_content=verify_content) as reader,
              pytest.raises(SignatureError, match="not the signed content")):
            reader.read(8)
    results = v["carol"].verify()
    assert [(r.status, r.detail) for r in results] == [("invalid",
                                                "the content is not the signed content")]


def test_share_rewrites_only_the_header(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice", "bob")
    locked = _lock(v["alice"], tmp_path, os.urandom(300_000))
    head_before, payload_before = _split(locked)
    assert [f.readers for f in v["alice"].files()] == [["alice"]]
    v["alice"].share(locked, "bob", Role.EDITOR)
    assert [f.readers for f in v["alice"].files()] == [["alice", "bob"]], "listing refreshed"
    head_after, payload_after = _split(locked)
    assert payload_after == payload_before
    assert head_after != head_before
    assert v["bob"].info(locked).acl == {"alice": Role.OWNER, "bob": Role.EDITOR}
    # role change only: no new stanza, still one per reader + recovery
    v["alice"].share(locked, "bob", Role.READER)
    with locked.open("rb") as handle:
        stanzas, listed, history = split_header(read_header(handle).stanzas)
    assert len(stanzas) == 3 and history is not None
    assert listed is not None, "the segment digests are kept"
    assert [r.change for r in history] == ["lock", "share", "share"]


def test_roles(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice", "bob", "carol")
    locked = _lock(v["alice"], tmp_path, b"v1\n")
    v["alice"].share(locked, "bob", Role.EDITOR)
    v["alice"].share(locked, "carol", Role.READER)
    # an editor may write a new version; it keeps the ACL and names him author
    (tmp_path / "d.csv").write_bytes(b"v2\n")
    with pytest.raises(FileOperationError, match="already exists"):
        v["alice"].lock(tmp_path / "d.csv", keep=True)  # never silently replaced
    info = v["bob"].lock(tmp_path / "d.csv", replace=True)
    assert info.author == "bob" and info.owner == "alice" and info.signature == "valid"
    assert v["carol"].unlock(locked, tmp_path / "c").read_bytes() == b"v2\n"
    # an editor may not share or export; a reader may not write
    with pytest.raises(AccessDeniedError):
        v["bob"].share(locked, "carol", Role.OWNER)
    outsider = str(generate_identity().recipient())
    with pytest.raises(AccessDeniedError):
        v["bob"].export(locked, outsider, tmp_path / "copy.age")
    assert not (tmp_path / "copy.age").exists()
    (tmp_path / "d.csv").write_bytes(b"v3\n")
    with pytest.raises(AccessDeniedError):
        v["carol"].lock(tmp_path / "d.csv", dest=locked)
    assert (tmp_path / "d.csv").exists(), "a refused lock keeps the plaintext"
    # the last owner cannot be removed
    with pytest.raises(AccessDeniedError):
        v["alice"].share(locked, "alice", Role.READER)
    with pytest.raises(AccessDeniedError):
        v["alice"].revoke(locked, "alice")
    # a second owner may revoke the first
    v["alice"].share(locked, "carol", Role.OWNER)
    info = v["carol"].revoke(locked, "alice")
    assert info.acl == {"bob": Role.EDITOR, "carol": Role.OWNER}
    assert info.signature == "valid"


def test_plain_age_file_is_unsigned_and_refused(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")
    plain = tmp_path / "v" / "outside.csv.age"
    with plain.open("wb") as out:
        age.encrypt(io.BytesIO(b"x"), out, [parse_recipient(v["alice"].keys().recipient)])
    info = v["alice"].info(plain)
    assert info.signature == "unsigned" and info.acl == {}
    with pytest.raises(SignatureError):
        v["alice"].unlock(plain, tmp_path / "o")
    garbage = tmp_path / "v" / "junk.age"
    garbage.write_bytes(b"not age at all")
    assert v["alice"].info(garbage).signature == "unreadable"
    assert {f.name: f.signature for f in v["alice"].files()} == {
        "junk": "unreadable", "outside.csv": "unsigned"}


def test_header_bit_flip_is_detected(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")
    locked = _lock(v["alice"], tmp_path, b"abc")
    head, payload = _split(locked)
    marker = head.index(b"dataset-vault.org/acl\n") + 40
    flipped = bytearray(head)
    flipped[marker] = ord("A") if flipped[marker] != ord("A") else ord("B")
    locked.write_bytes(bytes(flipped) + payload)
    status = v["alice"].info(locked).signature
    assert status in ("invalid", "unreadable")
    with pytest.raises((SignatureError, MalformedError)):
        v["alice"].unlock(locked, tmp_path / "o")


def test_swapped_recovery_recipient_is_refused(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")
    config_path = tmp_path / "v" / ".vault" / "config.json"
    config = json.loads(config_path.read_text())
    config["recovery_recipient"] = str(generate_identity().recipient())
    config_path.write_text(json.dumps(config))
    with pytest.raises(VaultFormatError, match="signature"):
        Vault.open(tmp_path / "v", user="alice", keystore=v["alice"].keystore)


def test_replaced_vault_metadata_is_refused_by_pin(tmp_path: Path) -> None:
    """An attacker re-creates .vault/ (same id, own root key, own recovery): clients notice."""
    keystore = make_keystore()
    root = tmp_path / "v"
    alice, _ = Vault.init(root, user="alice", keystore=keystore)
    mallory = UserKeys.generate("mallory")
    evil_config = dict(alice.config)
    evil_config["root_admin"] = "mallory"
    evil_config["root_signing_key"] = mallory.signing_public
    evil_config["recovery_recipient"] = str(generate_identity().recipient())
    body = {k: val for k, val in evil_config.items() if k != "signature"}
    evil_config["signature"] = b64(mallory.sign(b"dataset-vault.org/v1/config\n" +
                                                canonical(body)))
    (root / ".vault" / "config.json").write_text(json.dumps(evil_config))
    with pytest.raises(ConflictError, match="changed since you last used it"):
        Vault.open(root, user="alice", keystore=keystore)


def test_cancelled_lock_leaves_nothing(tmp_path: Path) -> None:
    v = team(tmp_path / "v", "alice")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(6 << 20))
    token = CancelToken()

    def progress(done: int) -> None:
        if done >= 2 << 20:
            token.cancel()

    with pytest.raises(Cancelled):
        v["alice"].lock(src, progress=progress, cancel=token)
    assert src.exists() and src.stat().st_size == 6 << 20
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == [".vault"]


def test_post_quantum_vault(tmp_path: Path) -> None:
    keystore = make_keystore()
    alice, recovery = Vault.init(tmp_path / "v", user="alice", keystore=keystore,
                                 post_quantum=True)
    assert recovery.startswith("AGE-SECRET-KEY-PQ-1")
    bob_keys = keystore.create("bob", post_quantum=True)
    alice.add_member("bob", bob_keys.recipient, bob_keys.signing_public)
    classic = keystore.create("carol")
    with pytest.raises(KeyFormatError):
        alice.add_member("carol", classic.recipient, classic.signing_public)
    locked = _lock(alice, tmp_path, b"quantum,safe\n")
    alice.share(locked, "bob")
    with locked.open("rb") as handle:
        types = [s.type for s in read_header(handle).stanzas]
    assert types == ["mlkem768x25519"] * 3 + ["dataset-vault.org/segments",
                                              "dataset-vault.org/acl"]
    bob = Vault.open(tmp_path / "v", user="bob", keystore=keystore)
    assert bob.unlock(locked, tmp_path / "b").read_bytes() == b"quantum,safe\n"


def test_scan_is_fast_and_header_free(tmp_path: Path) -> None:
    """10,000 files listed well under a second (scan reads no headers)."""
    import time

    v = team(tmp_path / "v", "alice")
    for i in range(100):
        folder = tmp_path / "v" / f"d{i:02d}"
        folder.mkdir()
        for j in range(100):
            (folder / f"f{j:03d}.csv.age").write_bytes(b"")
    (tmp_path / "v" / "d00" / ".hidden.age").write_bytes(b"")
    (tmp_path / "v" / "d00" / "notes.txt").write_bytes(b"")
    start = time.perf_counter()
    found = v["alice"].scan()
    elapsed = time.perf_counter() - start
    assert len(found) == 10_000
    assert elapsed < 1.0, f"scan took {elapsed:.2f} s"


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"v":2,"history":[]}', b'{"v":1,"history":[]}',
    b'{"v":1,"history":[1]}', b'{"v":1,"history":[{"signer":{}}]}',
])
def test_hostile_acl_stanza_is_unreadable_not_a_crash(tmp_path: Path, body: bytes) -> None:
    from vault_app.core.header import Stanza, build_header

    v = team(tmp_path / "v", "alice")
    key = age.new_file_key()
    stanzas = age.wrap_stanzas(key, [parse_recipient(v["alice"].keys().recipient)])
    header = build_header(key, [*stanzas, Stanza("dataset-vault.org/acl", (), body)])
    payload = io.BytesIO()
    age.seal_payload(key, io.BytesIO(b"x"), payload)
    path = tmp_path / "v" / "hostile.age"
    path.write_bytes(header.encode() + payload.getvalue())
    assert v["alice"].info(path).signature == "unreadable"
    with pytest.raises(MalformedError):
        v["alice"].unlock(path, tmp_path / "o")
    assert v["alice"].verify([path])[0].status == "unreadable"


def test_init_twice_and_unwritable(tmp_path: Path) -> None:
    from vault_app.core.errors import NotAVaultError, VaultError

    keystore = make_keystore()
    Vault.init(tmp_path / "v", user="alice", keystore=keystore)
    with pytest.raises(VaultError, match="already a vault"):
        Vault.init(tmp_path / "v", user="alice", keystore=keystore)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileOperationError):
        Vault.init(tmp_path / "file" / "v", user="alice", keystore=keystore)
    with pytest.raises(NotAVaultError):
        Vault.open(tmp_path, user="alice", keystore=keystore)
    assert Vault.find(tmp_path / "v" / "a" / "b") == (tmp_path / "v").absolute()


def test_vault_files_readable_by_other_logins_keys_and_plaintext_private(
        tmp_path: Path) -> None:
    """Members on other OS logins read ciphertext and registry (umask); plaintext is 0600."""
    import stat

    old = os.umask(0o022)
    try:
        v = team(tmp_path / "v", "alice", "bob")
        locked = _lock(v["alice"], tmp_path, b"secret,data\n")
        v["alice"].share(locked, "bob")
        out = v["bob"].unlock(locked, tmp_path / "out")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    meta = tmp_path / "v" / ".vault"
    assert mode(locked) == 0o644
    assert mode(meta) == 0o755 and mode(meta / "locks") == 0o755
    assert mode(meta / "config.json") == 0o644 and mode(meta / "members.json") == 0o644
    assert mode(out) == 0o600, "plaintext stays private"


def test_rage_reads_vault_files_ignoring_the_acl_stanza(tmp_path: Path) -> None:
    """A second, independent age implementation (rage, via pyrage) skips our stanza too."""
    import pyrage

    keystore = make_keystore()
    alice, recovery = Vault.init(tmp_path / "v", user="alice", keystore=keystore)
    locked = _lock(alice, tmp_path, b"hello,rage\n")
    raw = locked.read_bytes()
    mine = pyrage.x25519.Identity.from_str(str(keystore.load("alice").identity))
    assert pyrage.decrypt(raw, [mine]) == b"hello,rage\n"
    assert pyrage.decrypt(raw, [pyrage.x25519.Identity.from_str(recovery)]) == b"hello,rage\n"
    stranger = pyrage.x25519.Identity.generate()
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(raw, [stranger])


def test_listing_a_large_vault_on_threads_keeps_order_and_verdicts(tmp_path: Path) -> None:
    """Past a few hundred files the first listing reads headers on threads: the result is
    what ``info`` says of each file, one by one, in scan order (damaged, unreadable and
    unsigned files among valid ones)."""
    v = team(tmp_path / "v", "alice", "bob")
    good = _lock(v["alice"], tmp_path, b"a,b\n1,2\n")
    v["alice"].share(good, "bob")
    raw = good.read_bytes()
    head, payload = _split(good)
    flipped = bytearray(head)
    flipped[head.index(b"dataset-vault.org/acl\n") + 40] ^= 1
    plain_age = io.BytesIO()
    age.encrypt(io.BytesIO(b"x"), plain_age, [parse_recipient(v["bob"].keys().recipient)])
    for i in range(700):
        path = good.parent / f"f{i:04d}.csv.age"
        path.write_bytes(bytes(flipped) + payload if i % 97 == 5 else
                         b"not age at all" if i % 101 == 7 else
                         plain_age.getvalue() if i % 103 == 11 else raw)
    listed = v["bob"].files()
    one_by_one = with_duplicates([v["bob"].info(p) for p in v["bob"].scan()],
                                 v["bob"].path)  # ids shared across files: a listing's view
    assert listed == one_by_one
    statuses = [f.signature for f in listed]
    # copies of a signed file under other names are not valid files of the vault: they
    # share its file id (and the record names its file)
    assert statuses.count("valid") == 0
    assert statuses.count("conflict") == 701 - 8 - 7 - 7
    assert {"unreadable", "unsigned"} <= set(statuses)
