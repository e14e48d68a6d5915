"""The shared folder is hostile ground (issue 13): each attack by someone who can write the
vault folder, refused with a clear error and nothing lost. One test (or more) per attack;
each fails without its defence. (Attacks that need a second real OS account are in
tests/team/; the single-instance socket's are in tests/gui/test_single_instance_private.py.)
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import run_vault
from vault_support import REAL_KEYRING, ask, make_keystore, team

from vault_app.core import age, file_ops
from vault_app.core.acl import Record, encode_stanza, stanzas_digest
from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.errors import (
    AccessDeniedError,
    ConflictError,
    MalformedError,
    NotAVaultError,
    VaultError,
)
from vault_app.core.file_head import read_head
from vault_app.core.keys import parse_recipient
from vault_app.core.keystore import Keystore
from vault_app.core.recipients.scrypt import MAX_WORK_FACTOR, ScryptIdentity, ScryptRecipient
from vault_app.core.vault import Role, Vault

VAULT_CLI = [sys.executable, "-m", "vault_app.cli"]


def _cli(root: Path, *args: str, user: str = "alice",
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VAULT_CLI, *args, "--vault", str(root), "--user", user],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), \
        result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def vault(tmp_path: Path) -> dict[str, Vault]:
    return team(tmp_path / "v", "alice", "bob", "carol")


def _lock(v: Vault, tmp: Path, name: str, data: bytes = b"id,x\n1,2\n") -> Path:
    src = tmp / name
    src.write_bytes(data)
    return v.lock(src).path


# -- 1. links and special files planted in the vault ------------------------------------


def test_a_symlinked_audit_log_is_refused_and_the_victims_file_kept(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    victim = tmp_path / "alice-thesis.parquet"
    victim.write_bytes(b"PAR1" * 25_000)
    log = vault["alice"].path / ".vault" / "audit.log"
    log.unlink()
    os.symlink(victim, log)
    src = tmp_path / "new.csv"
    src.write_bytes(b"a,b\n")
    with pytest.raises(VaultError, match="symbolic link"):
        vault["alice"].lock(src)
    assert victim.read_bytes() == b"PAR1" * 25_000
    assert src.exists()   # the plaintext stays: the lock was not recorded, so not done


def test_a_symlinked_lock_file_is_refused_and_its_target_kept(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_text("mine")
    locks = vault["alice"].path / ".vault" / "locks"
    (locks / "registry.lock").unlink(missing_ok=True)
    os.symlink(victim, locks / "registry.lock")
    keys = vault["alice"].keystore.create("dave")
    with pytest.raises(VaultError, match="symbolic link"):
        vault["alice"].add_member("dave", keys.recipient, keys.signing_public)
    assert victim.read_text() == "mine"


@pytest.mark.parametrize("planted", ["members.json", "audit.log",
                                     "audit-heads/alice.json"])
def test_a_fifo_in_the_metadata_fails_fast_instead_of_hanging(
        vault: dict[str, Vault], planted: str) -> None:
    root = vault["alice"].path
    target = root / ".vault" / planted
    target.unlink()
    os.mkfifo(target)
    for args in (["ls"], ["user", "list"], ["audit", "--verify"], ["verify"]):
        result = _cli(root, *args, timeout=30)   # a hang would time out the test
        assert "Traceback" not in result.stderr, result.stderr
        reads_it = planted == "members.json" or args in (["audit", "--verify"], ["verify"])
        if reads_it:
            assert result.returncode != 0 and "not a regular file" in (
                result.stdout + result.stderr), (args, result.stdout, result.stderr)


# -- 2. the publish race ------------------------------------------------------------------


def test_a_temp_file_swapped_during_a_real_lock_is_not_published(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    """A folder writer, polling the folder during a real 64 MiB lock, renames the lock's
    temp away and puts a decoy at its name. What is published is what was encrypted and
    verified: the decoy never is, and the plaintext goes only once that is so."""
    alice = vault["alice"]
    src = tmp_path / "big.bin"
    data = os.urandom(64 << 20)
    src.write_bytes(data)
    swapped = threading.Event()

    def attacker() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not swapped.is_set():
            with os.scandir(alice.path) as entries:
                for entry in entries:
                    if entry.name.endswith(TEMP_SUFFIX):
                        os.rename(entry.path, alice.path / "stolen")
                        os.mkdir(entry.path)
                        Path(entry.path, "big.bin.age").write_bytes(b"decoy")
                        swapped.set()
                        return

    thread = threading.Thread(target=attacker)
    thread.start()
    info = alice.lock(src)
    thread.join()
    assert swapped.is_set()
    assert info.signature == "valid"
    assert alice.unlock(info.path, tmp_path / "out").read_bytes() == data
    assert not src.exists()   # removed only once the verified file was published


# -- 3. the vault's identity --------------------------------------------------------------


def test_a_vault_rebuilt_under_a_new_id_at_a_known_path_is_refused(tmp_path: Path) -> None:
    keystore = make_keystore()
    root = tmp_path / "v"
    Vault.init(root, user="alice", keystore=keystore)
    Vault.open(root, user="alice", keystore=keystore)
    shutil.rmtree(root / ".vault")            # someone rebuilds .vault/ from scratch
    other = Keystore(passphrase=ask, work_factor=10, use_key_file=not REAL_KEYRING,
                     config_dir=tmp_path / "attacker", service="attacker-keys")
    Vault.init(root, user="alice", keystore=other)   # their own root key, new vault id
    with pytest.raises(ConflictError, match="not the vault you used in this folder"):
        Vault.open(root, user="alice", keystore=keystore)


def test_a_vault_planted_in_a_subfolder_is_refused(vault: dict[str, Vault],
                                                   tmp_path: Path) -> None:
    import vault_app

    alice = vault["alice"]
    sub = alice.path / "reports"
    sub.mkdir()
    locked = _lock(alice, tmp_path, "q3.csv")
    shutil.copy(locked, sub / "q3.csv.age")
    shutil.copytree(alice.path / ".vault", sub / ".vault")  # a planted vault below
    with pytest.raises(NotAVaultError, match="inside the vault"):
        vault_app.open(sub / "q3.csv.age", user="alice")
    assert sub / "q3.csv.age" not in alice.scan()          # not walked as this vault's


def test_the_first_use_of_a_handed_over_vault_shows_whose_it_is(tmp_path: Path) -> None:
    keystore = make_keystore()
    root = tmp_path / "v"
    Vault.init(root, user="alice", keystore=keystore)
    result = run_vault("ls", "--vault", str(root), "--user", "alice",
                       env={"XDG_CONFIG_HOME": str(tmp_path / "new-account")})
    assert b"first use of the vault" in result.stderr
    assert b"first admin is alice, signing key fingerprint" in result.stderr


# -- 4. signatures bound to enough --------------------------------------------------------


def test_a_removed_members_new_signature_is_refused(vault: dict[str, Vault],
                                                    tmp_path: Path) -> None:
    alice, bob = vault["alice"], vault["bob"]
    locked = _lock(alice, tmp_path, "a.csv")
    alice.share(locked, "bob", Role.EDITOR)
    bob_keys = bob.keys()
    alice.remove_member("bob")                 # not revoked: bob still has write access
    # he kept his keys, and signs a new version with his own tools (the app would refuse)
    session = Vault.open(alice.path, user="bob", keystore=alice.keystore)._session
    session.trust_keys(bob_keys)
    history = read_head(locked).history or []
    file_ops.write(session, locked, io.BytesIO(b"poisoned\n"),
                   readers=dict(history[-1].readers), acl=history[-1].acl, author="bob",
                   change="update", prev=history, file_id=history[-1].file_id,
                   overwrite=True, expect_size=None, progress=None, cancel=None)
    info = alice.info(locked)
    assert info.signature == "invalid" and "not a member at registry version" in \
        info.signature_detail


def test_two_files_swapped_into_each_others_names_are_refused(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    alice = vault["alice"]
    a, b = _lock(alice, tmp_path, "a.csv"), _lock(alice, tmp_path, "b.csv")
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    for path in (a, b):
        assert alice.info(path).signature == "invalid"
        with pytest.raises(VaultError, match="renamed or moved"):
            alice.unlock(path, tmp_path / "out")
    assert all(not r.ok for r in alice.verify([a, b]))


def test_an_editor_cannot_keep_the_authors_name_on_his_content(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    alice, bob = vault["alice"], vault["bob"]
    locked = _lock(alice, tmp_path, "a.csv")
    alice.share(locked, "bob", Role.EDITOR)
    session = bob._session
    history = read_head(locked).history or []
    readers = file_ops.recipients_for(session, history[-1].acl)
    file_ops.write(session, locked, io.BytesIO(b"bob's numbers"), readers=readers,
                   acl=history[-1].acl, author="alice", change="update", prev=history,
                   file_id=history[-1].file_id, overwrite=True, expect_size=None,
                   progress=None, cancel=None)
    info = alice.info(locked)
    assert info.signature == "invalid" and "names alice as its author" in \
        info.signature_detail


def test_a_demoted_owner_who_kept_the_old_file_cannot_regain_control(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    alice, bob = vault["alice"], vault["bob"]
    locked = _lock(alice, tmp_path, "a.csv")
    alice.share(locked, "bob", Role.OWNER)
    kept = locked.read_bytes()                       # bob keeps the file as it is
    old_key = age.unwrap_file_key(read_head(locked).header, [bob.keys().identity])
    alice.share(locked, "bob", Role.READER)          # demoted: a fresh file key
    new_head = read_head(locked)
    with pytest.raises(VaultError):
        new_head.header.verify_mac(old_key)
    locked.write_bytes(kept)                         # he puts the old version back
    assert alice.info(locked).signature == "rollback"
    with pytest.raises(ConflictError):
        alice.share(locked, "carol")


def test_revoke_gives_a_fresh_file_key(vault: dict[str, Vault], tmp_path: Path) -> None:
    alice, carol = vault["alice"], vault["carol"]
    locked = _lock(alice, tmp_path, "a.csv", os.urandom(200_000))
    alice.share(locked, "carol")
    old_key = age.unwrap_file_key(read_head(locked).header, [carol.keys().identity])
    alice.revoke(locked, "carol")
    head = read_head(locked)
    with pytest.raises(VaultError):   # her old key opens neither the header...
        head.header.verify_mac(old_key)
    with locked.open("rb") as handle, pytest.raises(VaultError):  # ...nor the content
        handle.seek(head.header_len)
        age.open_payload(old_key, handle, io.BytesIO())
    with pytest.raises(AccessDeniedError):
        carol.unlock(locked, tmp_path / "carol-out")


# -- 5. hostile input ---------------------------------------------------------------------

HOSTILE = [b"[" * 100_000 + b"]" * 100_000, b'{"format": ' + b"9" * 5000 + b"}",
           b'{"name": "\\ud800"}', b'{"a": 1, "a": 2}', b"\xff\xfe", b" " * (2 << 20)]


@pytest.mark.parametrize("planted", ["members.json", "config.json", "audit.log"])
@pytest.mark.parametrize("content", HOSTILE, ids=["deep", "long-int", "surrogate", "dup",
                                                  "not-utf8", "huge"])
def test_hostile_json_in_the_metadata_gives_a_clean_error(vault: dict[str, Vault],
                                                          planted: str,
                                                          content: bytes) -> None:
    root = vault["alice"].path
    (root / ".vault" / planted).write_bytes(content)
    for args in (["ls"], ["verify"], ["audit", "--verify"]):
        result = _cli(root, *args)
        assert "Traceback" not in result.stderr, result.stderr
        if planted != "audit.log" or args != ["ls"]:
            assert result.returncode != 0 and "error: " in result.stderr, result.stderr


def _forged_acl(v: Vault, tmp: Path, body: bytes) -> Path:
    """A file whose ACL stanza body is ``body`` (MACed with its own key: parses to there)."""
    key = age.new_file_key()
    stanzas = age.wrap_stanzas(key, [parse_recipient(v.keys().recipient)])
    from vault_app.core.header import Stanza

    header = age.seal_header(key, [*stanzas, Stanza("dataset-vault.org/acl", (), body)])
    out = io.BytesIO()
    out.write(header.encode())
    age.seal_payload(key, io.BytesIO(b"x"), out)
    path = v.path / "forged.csv.age"
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000,
                                  b'{"v": 2, "history": [' + b"9" * 5000 + b"]}",
                                  b'{"v":2,"history":[{"author":"\\ud800"}]}',
                                  b'{"v": 2, "history": []}' + b" " * (15 << 20)])
def test_a_hostile_acl_stanza_is_unreadable_not_a_crash(vault: dict[str, Vault],
                                                        tmp_path: Path, body: bytes) -> None:
    import tracemalloc

    path = _forged_acl(vault["alice"], tmp_path, body)
    tracemalloc.start()
    info = vault["alice"].info(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert info.signature == "unreadable"
    assert peak < 64 << 20, peak   # a 15 MiB stanza is refused before it costs 275 MiB
    result = _cli(vault["alice"].path, "ls")
    assert "Traceback" not in result.stderr


def test_a_header_of_many_stanzas_is_refused_quickly(vault: dict[str, Vault]) -> None:
    from vault_app.core.header import MAX_STANZAS

    line = b"-> X25519 " + b"A" * 43 + b"\n" + b"A" * 43 + b"\n"
    data = b"age-encryption.org/v1\n" + line * (MAX_STANZAS + 5000) + b"--- " + b"A" * 43 + b"\n"
    path = vault["alice"].path / "many.csv.age"
    path.write_bytes(data)
    start = time.monotonic()
    info = vault["alice"].info(path)
    assert info.signature == "unreadable" and "stanzas" in info.signature_detail
    assert time.monotonic() - start < 5


def test_a_scrypt_stanza_asking_for_4_gib_is_refused_before_any_work() -> None:
    recipient = ScryptRecipient(b"pw", work_factor=MAX_WORK_FACTOR)
    stanza = recipient.wrap(os.urandom(16))[0]
    forged = type(stanza)(stanza.type, (stanza.args[0], "22"), stanza.body)
    start = time.monotonic()
    with pytest.raises(MalformedError, match="work factor"):
        ScryptIdentity(b"pw").unwrap([forged])
    assert time.monotonic() - start < 0.5


def test_the_key_files_scrypt_work_factor_is_at_least_2_18() -> None:
    from vault_app.core.keystore import Keystore
    from vault_app.core.recipients.scrypt import DEFAULT_WORK_FACTOR

    assert DEFAULT_WORK_FACTOR >= 18
    assert Keystore().work_factor >= 18


def test_control_characters_in_a_planted_name_do_not_reach_the_terminal(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    alice = vault["alice"]
    locked = _lock(alice, tmp_path, "plain.csv")
    planted = alice.path / "\x1b[2J\x1b]0;owned\x07evil.csv.age"
    shutil.copy(locked, planted)
    for args in (["ls"], ["verify"]):
        result = _cli(alice.path, *args)
        assert "\x1b" not in result.stdout + result.stderr
        assert "\\x1b[2J" in result.stdout


def test_records_round_trip_a_non_utf8_and_a_control_name(vault: dict[str, Vault],
                                                           tmp_path: Path) -> None:
    """Names are escaped in signed records and the audit log, never a crash."""
    alice = vault["alice"]
    raw = os.fsencode(alice.path) + b"/caf\xe9\x07.csv"
    with open(raw, "wb") as handle:
        handle.write(b"x\n")
    info = alice.lock(Path(os.fsdecode(raw)))
    assert info.signature == "valid"
    record = (read_head(info.path).history or [])[-1]
    assert record.name == "caf%E9%07.csv.age"
    json.dumps(record.as_dict()).encode("ascii")


def test_a_record_signed_with_a_registry_from_the_future_is_a_rollback(
        vault: dict[str, Vault], tmp_path: Path) -> None:
    """A record naming a registry version beyond the registry: the registry was put back."""
    alice = vault["alice"]
    locked = _lock(alice, tmp_path, "a.csv")
    history = read_head(locked).history or []
    me = alice.keys()
    forged = Record(**{**history[-1].as_dict(), "registry": 999, "signature": "",
                       "change": "share", "prev": history[-1].digest(), "signer": "alice"}
                    ).sign(me)
    head = read_head(locked)
    key = age.unwrap_file_key(head.header, [me.identity])
    header = age.seal_header(key, [*head.recipients, encode_stanza([*history, forged])])
    payload = locked.read_bytes()[head.header_len:]
    locked.write_bytes(header.encode() + payload)
    assert stanzas_digest(head.recipients) == forged.stanzas_sha256
    assert alice.info(locked).signature == "rollback"
