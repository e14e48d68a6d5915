"""The audit log: signed, hash-chained records; every kind of tampering is reported."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault_app.core.audit import AuditLog, AuditRecord
from vault_app.core.encoding import bech32_encode


@dataclass(frozen=True)
class Signer:
    """A member's signing key (the same shape as keystore.UserKeys)."""

    name: str
    key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    @property
    def public(self) -> str:
        return bech32_encode("vaultsig", self.key.public_key().public_bytes_raw())


ALICE = Signer("alice", Ed25519PrivateKey.generate())
BOB = Signer("bob", Ed25519PrivateKey.generate())
KEYS = {"alice": ALICE.public, "bob": BOB.public}


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    (tmp_path / ".vault").mkdir()
    return tmp_path


@pytest.fixture
def log(vault_dir: Path) -> AuditLog:
    audit = AuditLog(vault_dir, vault_id="v-1")
    for i in range(6):
        signer = ALICE if i % 2 == 0 else BOB
        audit.append(signer, "lock" if i < 3 else "share", f"data/file{i % 3}.csv.age",
                     {"round": i})
    return audit


def lines(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().splitlines()


def write_lines(log: AuditLog, new: list[bytes]) -> None:
    log.path.write_bytes(b"".join(line + b"\n" for line in new))


def test_records_round_trip_and_verify_clean(log: AuditLog) -> None:
    records = log.records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r.actor for r in records] == ["alice", "bob"] * 3
    assert records[0].prev_hash == log.genesis
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.line_hash
    assert log.verify(KEYS) == []   # file modes: test_audit_files_follow_the_umask_...


def test_history_of_one_file(log: AuditLog) -> None:
    history = log.history("data/file1.csv.age")
    assert [(r.seq, r.action) for r in history] == [(2, "lock"), (5, "share")]


def test_edited_record_detected(log: AuditLog) -> None:
    old = lines(log)
    data = json.loads(old[2])
    data["action"] = "unlock"
    old[2] = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    write_lines(log, old)
    problems = log.verify(KEYS)
    assert any("record 3" in p and "signature" in p for p in problems), problems
    assert any("record 4" in p and "chain" in p for p in problems), problems


def test_edited_last_record_detected_by_checkpoint(log: AuditLog) -> None:
    old = lines(log)
    old[-1] = old[-1].replace(b'"round":5', b'"round":7')
    write_lines(log, old)
    problems = log.verify(KEYS)
    assert any("record 6" in p and "signature" in p for p in problems), problems
    assert any("checkpoint" in p for p in problems), problems


def test_removed_record_detected(log: AuditLog) -> None:
    old = lines(log)
    write_lines(log, old[:3] + old[4:])
    problems = log.verify(KEYS)
    assert any("record 5" in p and "sequence" in p for p in problems), problems
    assert any("record 5" in p and "chain" in p for p in problems), problems


def test_reordered_records_detected(log: AuditLog) -> None:
    old = lines(log)
    old[1], old[2] = old[2], old[1]
    write_lines(log, old)
    problems = log.verify(KEYS)
    assert len(problems) >= 3, problems
    assert any("sequence" in p for p in problems)


def test_truncated_tail_detected(log: AuditLog) -> None:
    write_lines(log, lines(log)[:-2])
    problems = log.verify(KEYS)
    assert problems == ["the log ends at record 4 but alice's signed checkpoint names record "
                        "5: records were cut off the end",
                        "the log ends at record 4 but bob's signed checkpoint names record 6: "
                        "records were cut off the end"]


def test_whole_log_removed_detected(log: AuditLog) -> None:
    log.path.unlink()
    assert any("cut off" in p for p in log.verify(KEYS))


def test_missing_checkpoint_detected(log: AuditLog) -> None:
    (log.heads_path / "bob.json").unlink()
    assert any("bob's signed checkpoint is missing" in p for p in log.verify(KEYS))


def test_forged_checkpoint_detected(log: AuditLog) -> None:
    head_file = log.heads_path / "bob.json"
    head = json.loads(head_file.read_bytes())
    head["seq"] = 4
    head_file.write_text(json.dumps(head))
    assert any("bob's checkpoint" in p and "does not verify" in p for p in log.verify(KEYS))


def test_a_member_cannot_cut_anothers_records_and_cover_it(log: AuditLog) -> None:
    """bob cuts alice's last record (5) and his own (6), appends as himself and re-signs
    his checkpoint: alice's checkpoint still names record 5 as it was."""
    write_lines(log, lines(log)[:-2])
    (log.heads_path / "bob.json").unlink()   # and even removes his own checkpoint
    problems = log.verify(KEYS)
    assert any("alice's signed checkpoint names record 5" in p for p in problems), problems


def test_an_append_refuses_a_cut_log_so_the_alarm_stays(log: AuditLog) -> None:
    from vault_app.core.audit import AuditConflictError

    write_lines(log, lines(log)[:-2])
    with pytest.raises(AuditConflictError, match="cut off the end"):
        log.append(BOB, "unlock", "data/file0.csv.age", keys=KEYS)
    assert len(log.records()) == 4   # nothing appended, nothing re-signed
    assert any("cut off" in p for p in log.verify(KEYS))


def test_an_append_refuses_a_log_older_than_this_account_saw(log: AuditLog) -> None:
    from vault_app.core.audit import AuditConflictError

    meta = log.path.parent
    snapshot = meta.parent / "snapshot"
    shutil.copytree(meta, snapshot)   # a consistent older state: log and checkpoints
    log.append(ALICE, "revoke", "data/file0.csv.age", keys=KEYS)
    seen = log.checked
    shutil.rmtree(meta)
    shutil.copytree(snapshot, meta)   # the whole folder put back
    assert log.verify(KEYS) == []     # consistent in itself...
    with pytest.raises(AuditConflictError, match="cut or rolled back"):
        log.append(ALICE, "unlock", "x.age", keys=KEYS, seen=seen)  # ...not with what we saw


def test_an_admins_repair_record_acknowledges_lost_records(log: AuditLog) -> None:
    """Records were cut: the alarm stays red through every append until an admin records,
    in a signed repair record, exactly which checkpoints name lost records."""
    from vault_app.core.audit import REPAIR, AuditConflictError

    heads = [json.loads((log.heads_path / f"{n}.json").read_bytes()) for n in ("alice", "bob")]
    lost = [{"actor": h["actor"], "seq": h["seq"], "hash": h["hash"]} for h in heads]
    write_lines(log, lines(log)[:-2])
    with pytest.raises(AuditConflictError):   # bob is not an admin
        log.append(BOB, REPAIR, "", {"acknowledged": lost}, keys=KEYS, admins={"alice"})
    with pytest.raises(AuditConflictError):   # an admin, but not naming every lost record
        log.append(ALICE, REPAIR, "", {"acknowledged": lost[1:]}, keys=KEYS, admins={"alice"})
    log.append(ALICE, REPAIR, "", {"acknowledged": lost, "reason": "records 5-6 lost"},
               keys=KEYS, admins={"alice"})
    assert log.verify(KEYS, admins={"alice"}) == []
    assert any("cut off" in p for p in log.verify(KEYS, admins=()))  # only an admin's counts
    log.append(BOB, "unlock", "data/file0.csv.age", keys=KEYS, admins={"alice"})


def test_records_after_a_members_removal_are_reported(vault_dir: Path) -> None:
    log = AuditLog(vault_dir, vault_id="v-1")
    log.append(ALICE, "member-add", "member:bob")
    log.append(BOB, "lock", "a.age")
    log.append(ALICE, "member-remove", "member:bob")
    log.append(BOB, "lock", "b.age")  # bob still has his key and write access
    problems = log.verify(KEYS)
    assert problems == ["record 4: signed by 'bob' after their removal (record 3)"]


def test_merged_records_are_checked(vault_dir: Path) -> None:
    """Two copies of the log changed apart (a sync conflict): the other copy's records
    are carried in a merge record, still individually verifiable."""
    main = AuditLog(vault_dir, vault_id="v-1")
    main.append(ALICE, "lock", "a.age")
    other_dir = vault_dir.parent / "other"
    shutil.copytree(vault_dir / ".vault", other_dir / ".vault")
    other = AuditLog(other_dir, vault_id="v-1")
    other.append(BOB, "share", "a.age")
    main.append(ALICE, "unlock", "a.age")
    branch = [line.decode() for line in
              (other_dir / ".vault" / "audit.log").read_bytes().splitlines()[1:]]
    main.append(ALICE, "audit-merge", "", {"source": "audit.sync-conflict.log",
                                           "records": branch})
    assert main.verify(KEYS) == []
    forged = json.loads(branch[0])
    forged["action"] = "revoke"
    main.append(ALICE, "audit-merge", "", {"source": "x", "records": [json.dumps(forged)]})
    assert any("merged record 1" in p and "does not verify" in p for p in main.verify(KEYS))


def test_unknown_actor_and_impersonation_detected(log: AuditLog, vault_dir: Path) -> None:
    mallory = Signer("mallory", Ed25519PrivateKey.generate())
    log.append(mallory, "revoke", "data/file0.csv.age")
    assert any("'mallory', who is not a known member" in p for p in log.verify(KEYS))
    impostor = Signer("alice", mallory.key)  # signs as alice with another key
    log.append(impostor, "unlock", "data/file0.csv.age")
    problems = log.verify(KEYS)
    assert any("record 8" in p and "'alice' does not verify" in p for p in problems), problems


def test_garbage_line_detected(log: AuditLog) -> None:
    old = lines(log)
    write_lines(log, [*old[:2], b"{not json", *old[2:]])
    problems = log.verify(KEYS)
    assert any("line 3" in p for p in problems), problems


def test_interrupted_append_is_not_a_record_and_is_cut_on_next_append(log: AuditLog) -> None:
    with log.path.open("ab") as handle:
        handle.write(b'{"v":1,"seq":7,"time":"2026-')  # a crash mid-write
    assert log.verify(KEYS) == []
    assert len(log.records()) == 6
    log.append(ALICE, "unlock", "data/file0.csv.age")
    assert [r.seq for r in log.records()] == [1, 2, 3, 4, 5, 6, 7]
    assert log.verify(KEYS) == []


def test_other_vault_id_breaks_the_chain(log: AuditLog, vault_dir: Path) -> None:
    """A log copied from another vault does not verify here (the genesis differs)."""
    other = AuditLog(vault_dir, vault_id="v-2")
    assert any("record 1" in p and "chain" in p for p in other.verify(KEYS))


def test_record_parse_rejects_wrong_types() -> None:
    from vault_app.core.audit import AuditError

    good = {"v": 1, "seq": 1, "time": "t", "actor": "a", "action": "x", "target": "",
            "details": {}, "prev_hash": "0", "sig": ""}
    AuditRecord.parse(json.dumps(good).encode())
    for key, bad in (("seq", "1"), ("seq", True), ("details", []), ("v", 2)):
        with pytest.raises(AuditError):
            AuditRecord.parse(json.dumps({**good, key: bad}).encode())
    with pytest.raises(AuditError):
        AuditRecord.parse(json.dumps({**good, "extra": 1}).encode())


_APPENDER = """
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from vault_app.core.audit import AuditLog
class S:
    def __init__(self, name, raw):
        self.name, self.k = name, Ed25519PrivateKey.from_private_bytes(raw)
    def sign(self, m): return self.k.sign(m)
signer = S(sys.argv[2], bytes.fromhex(sys.argv[3]))
log = AuditLog(sys.argv[1], vault_id="v-1")
for i in range(int(sys.argv[4])):
    log.append(signer, "lock", f"{sys.argv[2]}-{i}.age", {"i": i})
"""


def test_concurrent_appends_lose_nothing(vault_dir: Path) -> None:
    """Four processes append at once: every record is there once, and the chain verifies."""
    per_process = 40
    signers = [ALICE, BOB, ALICE, BOB]
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(vault_dir),
                               s.name + str(n), s.key.private_bytes_raw().hex(),
                               str(per_process)])
             for n, s in enumerate(signers)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    log = AuditLog(vault_dir, vault_id="v-1")
    records = log.records()
    assert [r.seq for r in records] == list(range(1, 4 * per_process + 1))
    assert len({r.target for r in records}) == 4 * per_process
    keys = {s.name + str(n): s.public for n, s in enumerate(signers)}
    assert log.verify(keys) == []


# -- through the vault and the CLI ------------------------------------------------------------

def _team_history(tmp_path: Path) -> tuple[Path, AuditLog]:
    from vault_support import team

    from vault_app.core.vault import Role

    root = tmp_path / "vault"
    vaults = team(root, "alice", "bob", "carol")
    alice, bob = vaults["alice"], vaults["bob"]
    src = root / "patients.csv"
    src.write_bytes(b"id,diagnosis\n" * 1000)
    locked = alice.lock(src).path
    alice.share(locked, "bob", Role.READER)
    bob.unlock(locked, tmp_path / "out")
    alice.revoke(locked, "bob")
    alice.remove_member("carol")
    return root, AuditLog(root, vault_id=alice.config["vault_id"])


def test_vault_operations_are_audited(tmp_path: Path) -> None:
    _root, log = _team_history(tmp_path)
    records = log.records()
    assert [(r.actor, r.action, r.target) for r in records] == [
        ("alice", "init", ""),
        ("alice", "member-add", "member:bob"),
        ("alice", "member-add", "member:carol"),
        ("alice", "lock", "patients.csv.age"),
        ("alice", "share", "patients.csv.age"),
        ("bob", "unlock", "patients.csv.age"),
        ("alice", "revoke", "patients.csv.age"),
        ("alice", "member-remove", "member:carol"),
    ]
    assert {k: records[4].details[k] for k in ("user", "role", "version")} == {
        "user": "bob", "role": "reader", "version": 2}
    assert records[4].details["file"] == records[3].details["file"]
    assert [r.action for r in log.history("patients.csv.age")] == [
        "lock", "share", "unlock", "revoke"]


def test_audit_cli_verifies_and_detects_tampering(tmp_path: Path) -> None:
    from support import run_vault

    root, log = _team_history(tmp_path)
    result = run_vault("audit", "--verify", "--json", "--vault", str(root))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["problems"] == []
    assert len(data["records"]) == 8

    result = run_vault("audit", "--vault", str(root), str(root / "patients.csv.age"))
    assert result.returncode == 0, result.stderr
    assert [line.split()[3] for line in result.stdout.decode().splitlines()] == [
        "lock", "share", "unlock", "revoke"]

    # bob's unlock is edited out of the history: the chain breaks
    kept = [line for line in lines(log) if b'"action":"unlock"' not in line]
    write_lines(log, kept)
    result = run_vault("audit", "--verify", "--vault", str(root))
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "error: the audit log failed verification" in stderr
    assert "record 7" in stderr and "hint:" in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
@pytest.mark.parametrize(("folder_mode", "want"), [(0o2770, 0o660), (0o755, 0o644),
                                                   (0o700, 0o600)])
def test_audit_files_follow_the_vault_folder_not_the_umask(vault_dir: Path, umask: int,
                                                          folder_mode: int,
                                                          want: int) -> None:
    """Other members' logins must read the log and the checkpoints and take the lock, as
    they read the registry: the files get what the vault folder gives, whatever the
    writer's umask."""
    vault_dir.chmod(folder_mode)
    old = os.umask(umask)
    try:
        audit = AuditLog(vault_dir, vault_id="v-1")
        audit.append(ALICE, "lock", "data/a.csv.age")
        audit.append(BOB, "lock", "data/b.csv.age")
        audit.append(BOB, "lock", "data/c.csv.age")   # checkpoint replaced: mode kept
    finally:
        os.umask(old)
    meta = vault_dir / ".vault"
    for path in (audit.path, audit.heads_path / "alice.json", audit.heads_path / "bob.json",
                 meta / "locks" / "audit.lock"):
        assert stat.S_IMODE(path.stat().st_mode) == want, path.name
    assert audit.verify(KEYS) == []
