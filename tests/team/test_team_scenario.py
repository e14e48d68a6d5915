"""The team scenario with real OS accounts, end to end through the command line.

alice and bob are in the OS group ``analysts``; carol is not. alice makes a team vault
for the group, bob joins from his own login and alice approves him after comparing the
fingerprint, they share and unlock each other's files across accounts at different umasks,
a co-owner revokes, carol is refused cleanly, the audit log shows every member's actions,
and no one's keys ever reach another's keyring.
"""

from __future__ import annotations

import grp
import json
import os
import re
import stat
from pathlib import Path

import pytest

from team.asuser import GROUP, run_as, vault

FINGERPRINT = re.compile(r"\b[0-9a-f]{4}(?::[0-9a-f]{4}){3}\b")


def ok(result: object) -> str:
    """stdout of a command that must succeed (its stderr shown if it did not)."""
    assert result.returncode == 0, (result.args[-6:], result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def refused(result: object, *words: str) -> str:
    """stderr of a command that must fail cleanly: error:/hint:, no traceback."""
    err = str(result.stderr)  # type: ignore[attr-defined]
    assert result.returncode != 0, (result.stdout, err)  # type: ignore[attr-defined]
    assert "Traceback" not in err and err.startswith("error: "), err
    for word in words:
        assert word in err, err
    return err


def keyring_users(user: str) -> set[str]:
    """Whose keys are in ``user``'s keyring (secret-tool prints the attributes on stderr)."""
    found = run_as(user, "secret-tool", "search", "--all", "service", "dataset-vault")
    text = found.stdout + found.stderr
    return set(re.findall(r"^attribute\.username = (\S+)$", text, re.MULTILINE))


def write_as(user: str, path: Path, text: str, umask: str) -> None:
    ok(run_as(user, "sh", "-c", f"mkdir -p {path.parent} && printf '%s' \"$0\" > {path}",
              text, umask=umask))


def group_shared(path: Path) -> None:
    """An entry the app made in the team vault: the team's group, readable by it."""
    info = path.lstat()
    assert not stat.S_ISLNK(info.st_mode), path
    assert grp.getgrgid(info.st_gid).gr_name == GROUP, path
    if stat.S_ISDIR(info.st_mode):
        assert info.st_mode & 0o7777 == 0o2770, (path, oct(info.st_mode))
    else:
        assert info.st_mode & 0o777 == 0o660, (path, oct(info.st_mode))


@pytest.mark.parametrize(("alice_umask", "bob_umask"), [("002", "022"), ("077", "002"),
                                                         ("022", "077")])
def test_team_vault_on_a_shared_workstation(workspace: Path, alice_umask: str,
                                            bob_umask: str) -> None:
    team = workspace / "team"
    alice_home, bob_home = workspace / "alice", workspace / "bob"
    ok(run_as("alice", "mkdir", "-m", "700", str(alice_home)))
    ok(run_as("bob", "mkdir", "-m", "700", str(bob_home)))
    recovery = alice_home / "recovery.txt"
    opts = ["--vault", str(team)]

    # alice makes the team vault for the group
    ok(vault("alice", "init", str(team), "--group", GROUP, "--recovery-out", str(recovery),
             umask=alice_umask))
    group_shared(team)

    # bob asks to join from his own login; his keys are made in HIS keyring
    out = ok(vault("bob", "join", str(team), umask=bob_umask))
    (bob_fp,) = set(FINGERPRINT.findall(out))
    assert keyring_users("bob") == {"bob"}

    # carol (not in the group) cannot even ask, and gets a clean error
    refused(vault("carol", "join", str(team)), "permission denied")

    # alice sees the request with the same fingerprint, and approves it
    listing = ok(vault("alice", "user", "requests", *opts, umask=alice_umask))
    assert "bob" in listing and bob_fp in listing
    refused(vault("alice", "user", "approve", "bob", "--fingerprint", "0000:0000:0000:0000",
                  *opts, umask=alice_umask), "fingerprint")
    ok(vault("alice", "user", "approve", "bob", "--fingerprint", bob_fp, *opts,
             umask=alice_umask))
    members = json.loads(ok(vault("bob", "user", "list", "--json", *opts, umask=bob_umask)))
    assert {m["name"] for m in members["members"]} == {"alice", "bob"}

    # alice locks a file and makes bob a co-owner; bob unlocks it in his account
    write_as("alice", alice_home / "patients.csv", "id,age\n1,42\n", alice_umask)
    ok(vault("alice", "lock", str(alice_home / "patients.csv"), *opts, umask=alice_umask))
    ok(vault("alice", "share", str(team / "patients.csv.age"), "--with", "bob", "--role",
             "owner", *opts, umask=alice_umask))
    ok(vault("bob", "unlock", str(team / "patients.csv.age"), "-o", str(bob_home / "out"),
             *opts, umask=bob_umask))
    assert (bob_home / "out" / "patients.csv").read_text() == "id,age\n1,42\n"
    assert (bob_home / "out" / "patients.csv").stat().st_mode & 0o077 == 0  # plaintext: owner only

    # bob locks his own file at his umask; alice can read and change it as the team may
    write_as("bob", bob_home / "visits.csv", "id,visits\n1,3\n", bob_umask)
    ok(vault("bob", "lock", str(bob_home / "visits.csv"), *opts, umask=bob_umask))
    ok(vault("bob", "share", str(team / "visits.csv.age"), "--with", "alice", "--role",
             "owner", *opts, umask=bob_umask))
    # a co-owner revokes on a file another member created
    ok(vault("alice", "revoke", str(team / "patients.csv.age"), "--from", "bob", *opts,
             umask=alice_umask))
    refused(vault("bob", "unlock", str(team / "patients.csv.age"), "-o",
                  str(bob_home / "again"), *opts, umask=bob_umask), "not shared with bob")
    ok(vault("alice", "unlock", str(team / "visits.csv.age"), "-o", str(alice_home / "out"),
             *opts, umask=alice_umask))

    # everything the app made in the vault stays the group's, whatever each umask was
    for path in [team / ".vault", *(team / ".vault").rglob("*"), *team.glob("*.age")]:
        group_shared(path)

    # carol: refused cleanly, naming the real cause
    for args in (["ls"], ["verify"], ["audit"], ["unlock", str(team / "visits.csv.age"),
                                                 "-o", "/tmp"]):
        refused(vault("carol", *args, *opts), "permission denied")

    # the audit log has every member's actions, and it verifies
    records = json.loads(ok(vault("bob", "audit", "--json", *opts, umask=bob_umask)))["records"]
    done = [(r["actor"], r["action"]) for r in records]
    for step in [("alice", "init"), ("alice", "member-add"), ("alice", "lock"),
                 ("alice", "share"), ("bob", "unlock"), ("bob", "lock"), ("bob", "share"),
                 ("alice", "revoke"), ("alice", "unlock")]:
        assert step in done, (step, done)
    ok(vault("alice", "audit", "--verify", *opts, umask=alice_umask))
    ok(vault("bob", "verify", *opts, umask=bob_umask))

    # no key of one person in another's keyring
    assert keyring_users("alice") == {"alice"}
    assert keyring_users("bob") == {"bob"}
    assert keyring_users("carol") == set()


def test_a_vault_shared_with_default_acls(workspace: Path) -> None:
    """No group: alice grants bob with default POSIX ACLs; bob works at umask 077."""
    team = workspace / "acl-team"
    ok(run_as("alice", "mkdir", "-m", "700", str(team)))
    ok(run_as("alice", "setfacl", "-m", "u:bob:rwx,d:u:bob:rwx,d:u:alice:rwx", str(team)))
    ok(run_as("alice", "mkdir", "-m", "700", str(workspace / "alice")))
    ok(vault("alice", "init", str(team), "--recovery-out",
             str(workspace / "alice" / "recovery.txt"), umask="077"))
    out = ok(vault("bob", "join", str(team), umask="077"))
    (bob_fp,) = set(FINGERPRINT.findall(out))
    ok(vault("alice", "user", "approve", "bob", "--fingerprint", bob_fp, "--vault", str(team),
             umask="077"))
    ok(run_as("bob", "mkdir", "-m", "700", str(workspace / "bob")))
    write_as("bob", workspace / "bob" / "b.csv", "x\n1\n", "077")
    ok(vault("bob", "lock", str(workspace / "bob" / "b.csv"), "--vault", str(team),
             umask="077"))
    ok(vault("bob", "share", str(team / "b.csv.age"), "--with", "alice", "--vault", str(team),
             umask="077"))
    ok(vault("alice", "unlock", str(team / "b.csv.age"), "-o", str(workspace / "alice"),
             "--vault", str(team), umask="077"))
    assert (workspace / "alice" / "b.csv").read_text() == "x\n1\n"
    ok(vault("bob", "audit", "--verify", "--vault", str(team), umask="077"))
    acl = run_as("alice", "getfacl", "-p", str(team / "b.csv.age")).stdout
    # the default ACL's named users kept; the mask (the group class bits) allows rw
    assert "user:alice:rwx" in acl and "user:bob:rwx" in acl and "mask::rw-" in acl, acl


def test_an_unlock_whose_audit_record_cannot_be_written_releases_nothing(
        workspace: Path) -> None:
    """bob may read the file but cannot write the audit log: no plaintext, a clear error."""
    team = workspace / "team"
    ok(run_as("alice", "mkdir", "-m", "700", str(workspace / "alice")))
    ok(vault("alice", "init", str(team), "--group", GROUP, "--recovery-out",
             str(workspace / "alice" / "recovery.txt")))
    out = ok(vault("bob", "join", str(team)))
    (bob_fp,) = set(FINGERPRINT.findall(out))
    ok(vault("alice", "user", "approve", "bob", "--fingerprint", bob_fp, "--vault", str(team)))
    write_as("alice", workspace / "alice" / "d.csv", "secret\n", "002")
    ok(vault("alice", "lock", str(workspace / "alice" / "d.csv"), "--vault", str(team)))
    ok(vault("alice", "share", str(team / "d.csv.age"), "--with", "bob", "--vault", str(team)))
    ok(run_as("alice", "chmod", "g-w", str(team / ".vault" / "audit.log")))
    ok(run_as("bob", "mkdir", "-m", "700", str(workspace / "bob")))
    refused(vault("bob", "unlock", str(team / "d.csv.age"), "-o", str(workspace / "bob"),
                  "--vault", str(team)), "audit")
    assert not (workspace / "bob" / "d.csv").exists()
    assert [p.name for p in (workspace / "bob").iterdir()] == []


def test_no_command_gives_a_traceback_to_an_outsider(workspace: Path) -> None:
    team = workspace / "team"
    ok(run_as("alice", "mkdir", "-m", "700", str(workspace / "alice")))
    ok(vault("alice", "init", str(team), "--group", GROUP, "--recovery-out",
             str(workspace / "alice" / "recovery.txt")))
    opts = ["--vault", str(team)]
    for args in (["ls"], ["verify"], ["audit"], ["audit", "--verify"], ["user", "list"],
                 ["user", "requests"], ["lock", "/etc/hostname"], ["join"]):
        refused(vault("carol", *args, *opts), "permission denied")
    # and init checks its arguments before it creates anything
    ok(run_as("carol", "mkdir", "-m", "700", str(workspace / "carol")))
    existing = workspace / "carol" / "recovery.txt"
    ok(run_as("carol", "touch", str(existing)))
    refused(vault("carol", "init", str(workspace / "carol" / "v"), "--recovery-out",
                  str(existing)), "already exists")
    assert not (workspace / "carol" / "v").exists()
    refused(vault("carol", "init", str(workspace / "carol" / "v2"), "--group", GROUP,
                  "--recovery-out", str(workspace / "carol" / "r2.txt")), GROUP)
    assert not (workspace / "carol" / "v2").exists()
    assert os.listdir(workspace / "carol") == ["recovery.txt"]
