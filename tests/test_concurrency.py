"""Stress: two processes (two admins) share, revoke, lock and add members in one vault at
the same time, many rounds. Afterwards no registry or ACL update is lost (nor a revoke
undone), every file verifies and decrypts to what its writer wrote, and the audit log holds
every operation exactly once, in one valid chain.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from vault_support import make_keystore

from vault_app.core.age import unwrap_file_key
from vault_app.core.audit import AuditLog
from vault_app.core.errors import NoIdentityMatchError
from vault_app.core.header import read_header
from vault_app.core.keys import parse_identity
from vault_app.core.vault import Role, Vault

ROUNDS = 20
TESTS = Path(__file__).resolve().parent

WORKER = r"""
import json, sys
from pathlib import Path
from vault_support import make_keystore
from vault_app.core.keystore import UserKeys
from vault_app.core.vault import Role, Vault

root, user, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
vault = Vault.open(root, user=user, keystore=make_keystore())
shared, common = root / "shared.csv.age", root / "common.csv.age"
work = root.parent / f"work-{user}"
work.mkdir()
log = []
for k in range(rounds):
    member = f"{user}-m{k}"
    keys = UserKeys.generate(member)
    vault.add_member(member, keys.recipient, keys.signing_public)
    log.append(["member", member, str(keys.identity)])
    vault.share(shared, member, Role.READER)
    if k:
        vault.revoke(shared, f"{user}-m{k - 1}")
    own = work / f"{user}-{k}.csv"
    own.write_bytes(f"{user},{k}\n".encode() * 3000)
    vault.lock(own)  # a new file: vault/<name>.age
    src = work / "common.csv"
    src.write_bytes(f"common written by {user} round {k}\n".encode() * 2000)
    vault.lock(src, dest=common)
print(json.dumps(log))
"""


@pytest.mark.slow
def test_two_admins_many_rounds(tmp_path: Path) -> None:
    keystore = make_keystore()
    root = tmp_path / "vault"
    alice, _ = Vault.init(root, user="alice", keystore=keystore)
    bob_keys = keystore.create("bob")
    alice.add_member("bob", bob_keys.recipient, bob_keys.signing_public, admin=True)
    for name in ("shared.csv", "common.csv"):
        (tmp_path / name).write_bytes(b"seed\n" * 1000)
        alice.lock(tmp_path / name, dest=root / f"{name}.age")
    shared, common = root / "shared.csv.age", root / "common.csv.age"
    alice.share(shared, "bob", Role.OWNER)
    alice.share(common, "bob", Role.EDITOR)
    records_before = len(AuditLog(root).records())

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    # the workers import the code under test (this checkout), not an installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    procs = [subprocess.Popen([sys.executable, str(script), str(root), user, str(ROUNDS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for user in ("alice", "bob")]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    identities = {name: parse_identity(secret) for out, _ in outputs
                  for _kind, name, secret in json.loads(out)}

    vault = Vault.open(root, user="alice", keystore=keystore)
    # no lost registry update
    registry = vault.registry
    assert registry.problems == {}
    expected_members = {"alice", "bob"} | {f"{u}-m{k}" for u in ("alice", "bob")
                                            for k in range(ROUNDS)}
    assert set(registry.trusted) == expected_members
    # no lost share and no undone revoke on the shared file
    info = vault.info(shared)
    last = {f"alice-m{ROUNDS - 1}", f"bob-m{ROUNDS - 1}"}
    assert set(info.acl) == {"alice", "bob"} | last, info.acl
    assert set(info.readers) == {"alice", "bob"} | last
    assert info.signature == "valid"
    with shared.open("rb") as handle:
        header = read_header(handle)
    for name, identity in identities.items():
        if name in last:
            unwrap_file_key(header, [identity])
        else:  # revoked: the current file key is not wrapped for them
            with pytest.raises(NoIdentityMatchError):
                unwrap_file_key(header, [identity])
    # every file verifies and decrypts (for its writer) to what its writer wrote
    results = vault.verify()
    assert len(results) == 2 + 2 * ROUNDS
    assert [r for r in results if r.status != "valid"] == []
    out_dir = tmp_path / "check"
    for user in ("alice", "bob"):
        writer = Vault.open(root, user=user, keystore=keystore)
        for k in range(ROUNDS):
            plain = writer.unlock(root / f"{user}-{k}.csv.age", out_dir / user)
            assert plain.read_bytes() == f"{user},{k}\n".encode() * 3000
    text = vault.unlock(common, out_dir).read_bytes().decode()
    assert text.splitlines()[0].startswith("common written by ")
    assert len(set(text.splitlines())) == 1, "the common file mixes two writers' content"
    # the audit log holds every operation once, in one valid chain
    log = AuditLog(root, vault_id=vault.config["vault_id"])
    keys = {n: m.signing_key for n, m in registry.trusted.items()}
    assert log.verify(keys) == []
    records = log.records()[records_before:]
    actors = [r.actor for r in records]
    switches = sum(a != b for a, b in itertools.pairwise(actors))
    print(f"\n{len(records)} audited operations, the actor switched {switches} times")
    assert switches >= 10, "the two processes did not actually run at the same time"
    per_user = {u: [r.action for r in records if r.actor == u] for u in ("alice", "bob")}
    for actions in per_user.values():
        assert actions.count("member-add") == ROUNDS
        assert actions.count("share") == ROUNDS
        assert actions.count("revoke") == ROUNDS - 1
        assert actions.count("lock") + actions.count("update") == 2 * ROUNDS
