"""The window as a second real OS user: bob starts it and approves carol in it.

alice makes a vault in a folder she shares with bob and carol by default POSIX ACLs; bob
joins and alice makes him an admin; carol asks to join. Then, as bob (his own login, D-Bus
session and keyring): ``vault-app --self-test``, and ``member_gui.py`` with the team venv's
pytest, offscreen, which approves carol in the Members dialog by the fingerprint she read
out. alice's ``vault user list`` shows carol afterwards, with that fingerprint.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from team.asuser import TEAM, USERS, run_as, vault


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.args[-8:], result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def joined(user: str, team: Path) -> str:
    """``user`` asks to join from their own login; the fingerprint they would read out."""
    return str(json.loads(ok(vault(user, "join", str(team), "--json")))["fingerprint"])


@pytest.fixture
def keyrings_left_clean() -> Iterator[None]:
    """The keys this test makes in alice's, bob's and carol's login keyrings are removed
    afterwards: the other team tests start from keyrings with no vault keys (and check
    that nobody's keys reach another's keyring)."""
    yield
    for user in USERS:
        run_as(user, "secret-tool", "clear", "service", "dataset-vault", "username", user)


@pytest.mark.usefixtures("keyrings_left_clean")
def test_an_admin_approves_a_request_in_the_window_as_another_os_user(
        workspace: Path) -> None:
    team = workspace / "acl-team"
    ok(run_as("alice", "mkdir", "-m", "700", str(team), str(workspace / "alice")))
    ok(run_as("alice", "setfacl", "-m", "u:bob:rwx,u:carol:rwx,d:u:alice:rwx,d:u:bob:rwx,"
              "d:u:carol:rwx", str(team)))
    opts = ["--vault", str(team)]
    ok(vault("alice", "init", str(team), "--recovery-out",
             str(workspace / "alice" / "recovery.txt")))
    ok(vault("alice", "user", "approve", "bob", "--fingerprint", joined("bob", team),
             "--admin", *opts))
    carol = joined("carol", team)

    started = ok(run_as("bob", "vault-app", "--self-test"))
    assert "self-test ok" in started, started

    ran = run_as("bob", "python", "-m", "pytest", "-p", "no:cacheprovider", "-q",
                 "-W", "error", "-o", "qt_api=pyside6", "-o", "qt_log_level_fail=WARNING",
                 "-o", "qt_log_ignore=This plugin does not support "
                       "(propagateSizeHints|raise|grabbing)",
                 str(TEAM / "tests" / "member_gui.py"),
                 env={"VAULT_TEAM_VAULT": str(team), "VAULT_TEAM_FINGERPRINT": carol,
                      "QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert ran.returncode == 0, (ran.stdout[-4000:], ran.stderr[-4000:])
    assert "1 passed" in ran.stdout

    members = json.loads(ok(vault("alice", "user", "list", "--json", *opts)))["members"]
    by_name = {m["name"]: m for m in members}
    assert set(by_name) == {"alice", "bob", "carol"}
    assert by_name["carol"]["fingerprint"] == carol
    records = json.loads(ok(vault("alice", "audit", "--json", *opts)))["records"]
    assert ("bob", "member-add", "member:carol") in {
        (r["actor"], r["action"], r["target"]) for r in records}
    assert json.loads(ok(vault("alice", "user", "requests", "--json", *opts)))[
        "requests"] == []
