"""History that cannot be rolled back or forked unnoticed (issue 14), end to end.

Two copies of a team vault are changed apart on two machines and merged the way
Syncthing and Dropbox merge (per file the newer one wins; the loser is kept beside it
under the tool's conflict name). The merge loses a revocation and a member's removal.
`vault verify` must fail and name the conflict; `vault doctor` must restore the
revocation and the removal without losing any file or record. A member who puts back an
older registry or an older version of a file is caught.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import run_vault
from vault_support import REAL_KEYRING, ask

from vault_app.core import doctor
from vault_app.core.errors import AccessDeniedError, ConflictError
from vault_app.core.keystore import Keystore
from vault_app.core.vault import Role, Vault

Namer = Callable[[Path], Path]


def syncthing(path: Path) -> Path:
    stem, dot, ext = path.name.rpartition(".")
    return path.with_name(f"{stem}.sync-conflict-20261201-101010-Q2WE3RT.{ext}" if dot else
                          f"{path.name}.sync-conflict-20261201-101010-Q2WE3RT")


def dropbox(path: Path) -> Path:
    stem, dot, ext = path.name.rpartition(".")
    return path.with_name(f"{stem} (bob's conflicted copy 2026-12-01).{ext}" if dot else
                          f"{path.name} (bob's conflicted copy 2026-12-01)")


def merge(a: Path, b: Path, into: Path, conflict_name: Namer) -> None:
    """Merge copies ``a`` and ``b`` as a sync tool does: every file of either; where both
    changed one, the newer (mtime) keeps the name and the other is kept as a conflict
    copy. Lock files are not synced."""
    shutil.copytree(a, into)
    for src in sorted(p for p in b.rglob("*") if p.is_file() and "locks" not in p.parts):
        rel = src.relative_to(b)
        dest = into / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        elif dest.read_bytes() != src.read_bytes():
            newer, older = (src, dest) if src.stat().st_mtime > dest.stat().st_mtime else (
                dest, src)
            loser = older.read_bytes()
            shutil.copy2(newer, dest)
            conflict_name(dest).write_bytes(loser)


def _versions(paths: object, *, whole: bool = False) -> set[str]:
    """Digests of the latest signed record of each file (with ``whole``, of every record
    in each file's history)."""
    from vault_app.core.file_head import read_head

    found: set[str] = set()
    for path in paths:  # type: ignore[attr-defined]
        history = read_head(path).history or []
        found |= {r.digest() for r in (history if whole else history[-1:])}
    return found


class Machine:
    """One computer of the team: its own config folder (what it saw, its pins); the same
    people and keys (the same keyring, or copies of the key files)."""

    def __init__(self, home: Path, keys_from: Keystore | None = None) -> None:
        self.store = Keystore(passphrase=ask, work_factor=10, use_key_file=not REAL_KEYRING,
                              config_dir=home)
        if keys_from is not None and not REAL_KEYRING:
            shutil.copytree(keys_from.config_dir / "keys", home / "keys")

    def open(self, root: Path, user: str) -> Vault:
        return Vault.open(root, user=user, keystore=self.store)


@pytest.fixture
def team_vault(tmp_path: Path) -> tuple[Path, Machine]:
    first = Machine(tmp_path / "machine-0")
    admin, _recovery = Vault.init(tmp_path / "vault", user="alice", keystore=first.store)
    for name in ("bob", "carol", "dave"):
        keys = first.store.create(name)
        if name != "dave":
            admin.add_member(name, keys.recipient, keys.signing_public)
    for name in ("patients", "visits"):
        src = tmp_path / f"{name}.csv"
        src.write_bytes(f"id,{name}\n".encode() * 500)
        locked = admin.lock(src).path
        admin.share(locked, "bob", Role.READER)
        admin.share(locked, "carol", Role.READER)
    return tmp_path / "vault", first


def _two_machines_change_apart(tmp_path: Path, root: Path, first: Machine,
                               namer: Namer) -> tuple[Path, Machine]:
    """Machine A revokes carol from patients and removes her from the vault; machine B,
    later, changes patients and the registry too (a new member). Merged: B's copies win."""
    copy_a, copy_b = tmp_path / "copy-a", tmp_path / "copy-b"
    shutil.copytree(root, copy_a)
    shutil.copytree(root, copy_b)
    machine_a = Machine(tmp_path / "machine-a", first.store)
    machine_b = Machine(tmp_path / "machine-b", first.store)
    alice_a = machine_a.open(copy_a, "alice")
    alice_a.revoke(copy_a / "patients.csv.age", "carol")
    alice_a.remove_member("carol")
    time.sleep(0.05)   # B's changes are newer: they keep the names
    alice_b = machine_b.open(copy_b, "alice")
    alice_b.share(copy_b / "patients.csv.age", "bob", Role.EDITOR)
    dave = machine_b.store.load("dave")
    alice_b.add_member("dave", dave.recipient, dave.signing_public)
    merged = tmp_path / "merged"
    merge(copy_a, copy_b, merged, namer)
    return merged, Machine(tmp_path / "machine-c", first.store)


@pytest.mark.parametrize("namer", [syncthing, dropbox], ids=["syncthing", "dropbox"])
def test_a_merge_that_loses_a_revocation_is_caught_and_repaired(
        tmp_path: Path, team_vault: tuple[Path, Machine], namer: Namer) -> None:
    root, first = team_vault
    merged, fresh = _two_machines_change_apart(tmp_path, root, first, namer)
    alice = fresh.open(merged, "alice")
    # the merge undid carol's revocation and removal...
    assert "carol" in alice.info(merged / "patients.csv.age").readers
    assert "carol" in [m.name for m in alice.members()]
    # ...and verify says so, naming the conflict, and fails
    results = alice.verify()
    bad = [r for r in results if not r.ok]
    assert any(r.status == "conflict" and "conflict copy" in r.detail for r in bad), bad
    assert any("members.sync" in r.detail or "members (" in r.detail for r in bad), bad
    before_versions = _versions(merged.glob("*.age"))
    before_records = {r.line_hash for r in alice._session.audit_log().records()}

    actions = doctor.plan(alice)
    assert actions and all(a.what for a in actions)
    doctor.apply(alice, actions)

    alice = fresh.open(merged, "alice")
    # the revocation and the removal hold again
    assert "carol" not in alice.info(merged / "patients.csv.age").readers
    assert "carol" not in [m.name for m in alice.members()]
    assert "dave" in [m.name for m in alice.members()]   # B's new member kept
    # nothing lost: every version there was is in a file of the vault (the other fork
    # as a file of its own), or set aside in .vault/resolved/
    after_files = sorted(p.name for p in merged.glob("*.age"))
    assert any("fork by" in name for name in after_files), after_files
    kept = _versions([*merged.glob("*.age"), *(merged / ".vault" / "resolved").rglob("*.age")],
                     whole=True)
    assert before_versions <= kept
    records = alice._session.audit_log().records()
    assert before_records <= {r.line_hash for r in records}
    merged_in = [r for r in records if r.action == "audit-merge"]
    assert merged_in and merged_in[0].details["records"]   # A's records, carried in
    # and the vault verifies again
    assert [r for r in alice.verify() if not r.ok] == []
    status = run_vault("verify", "--vault", str(merged), "--user", "alice",
                       env={"XDG_CONFIG_HOME": str(tmp_path / "cli-config")})
    assert status.returncode == 0, status.stdout.decode() + status.stderr.decode()


def test_verify_exits_non_zero_and_names_the_conflict(
        tmp_path: Path, team_vault: tuple[Path, Machine]) -> None:
    root, first = team_vault
    merged, _fresh = _two_machines_change_apart(tmp_path, root, first, syncthing)
    result = run_vault("verify", "--vault", str(merged), "--user", "alice")
    text = result.stdout.decode()
    assert result.returncode != 0
    assert "conflict" in text and "sync-conflict" in text


def test_a_member_who_puts_back_an_older_registry_is_caught(
        tmp_path: Path, team_vault: tuple[Path, Machine]) -> None:
    root, first = team_vault
    registry = root / ".vault" / "members.json"
    older = registry.read_bytes()   # carol is a member here
    alice = first.open(root, "alice")
    alice.revoke_everywhere("carol")
    alice.remove_member("carol")
    registry.write_bytes(older)     # carol (write access to the folder) puts it back
    # alice's client saw the newer registry: rollback, and nothing is built on it
    alice = first.open(root, "alice")
    assert "rollback" in alice.health()[0]
    with pytest.raises(ConflictError, match="rollback"):
        alice.share(root / "visits.csv.age", "bob", Role.EDITOR)
    assert any(r.status == "rollback" for r in alice.verify())
    # a client that never saw the newer registry is told by the audit log
    fresh = Machine(tmp_path / "fresh", first.store).open(root, "bob")
    problems = [r for r in fresh.verify() if not r.ok]
    assert any("removal of carol" in r.detail and r.status == "rollback" for r in problems)
    # the admin's doctor applies the removal again
    doctor.apply(alice, doctor.plan(alice))
    alice = first.open(root, "alice")
    assert "carol" not in [m.name for m in alice.members()]
    assert alice.health() == []


def test_an_older_version_of_a_file_put_back_is_caught_and_the_revocation_restored(
        tmp_path: Path, team_vault: tuple[Path, Machine]) -> None:
    root, first = team_vault
    locked = root / "patients.csv.age"
    older = locked.read_bytes()     # carol can read this version
    alice = first.open(root, "alice")
    alice.revoke(locked, "carol")
    locked.write_bytes(older)       # someone with write access puts the old one back
    alice = first.open(root, "alice")
    info = alice.info(locked)
    assert info.signature == "rollback" and "older copy" in info.signature_detail
    with pytest.raises(ConflictError):
        alice.share(locked, "bob", Role.EDITOR)
    # a fresh client: the audit log knows the newer version
    fresh = Machine(tmp_path / "fresh", first.store).open(root, "bob")
    assert any(r.status == "rollback" and "patients" in r.detail for r in fresh.verify())
    doctor.apply(alice, doctor.plan(alice))
    fresh = Machine(tmp_path / "fresh2", first.store).open(root, "alice")
    assert "carol" not in fresh.info(locked).readers
    with pytest.raises(AccessDeniedError):
        Machine(tmp_path / "carol", first.store).open(root, "carol").unlock(
            locked, tmp_path / "out")


def test_doctor_says_what_it_will_do_and_does_nothing_without_consent(
        tmp_path: Path, team_vault: tuple[Path, Machine]) -> None:
    root, first = team_vault
    merged, _fresh = _two_machines_change_apart(tmp_path, root, first, syncthing)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cli")}
    before = sorted(str(p.relative_to(merged)) for p in merged.rglob("*") if p.is_file()
                    and "locks" not in p.parts)
    result = run_vault("doctor", "--vault", str(merged), "--user", "alice", env=env)
    assert result.returncode == 1
    assert b"repair(s):" in result.stdout and b"nothing was changed" in result.stderr
    after = sorted(str(p.relative_to(merged)) for p in merged.rglob("*") if p.is_file()
                   and "locks" not in p.parts)
    assert after == before
    result = run_vault("doctor", "--vault", str(merged), "--user", "alice", "--yes",
                       "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["done"]
    assert os.path.isdir(merged / ".vault" / "resolved")
