"""Several processes changing one vault at once lose no update (file locks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from vault_support import team

from vault_app.core.vault import Role

TESTS = Path(__file__).resolve().parent

WORKER = """
import sys, time
from pathlib import Path
from vault_support import make_keystore
from vault_app.core.vault import Vault
root, go, action, *rest = sys.argv[1:]
vault = Vault.open(root, user="alice", keystore=make_keystore())
vault.keys()  # keys loaded before the start signal, so the calls really overlap
while not Path(go).exists():
    time.sleep(0.001)
if action == "share":
    vault.share(Path(rest[0]), rest[1])
elif action == "add":
    keys = make_keystore().load(rest[0])
    vault.add_member(rest[0], keys.recipient, keys.signing_public)
elif action == "lock":
    vault.lock(Path(rest[0]))
"""


def _run_together(root: Path, jobs: list[list[str]], go: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS),
                                                        os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(root), str(go), *job],
                              env=env, stderr=subprocess.PIPE) for job in jobs]
    time.sleep(0.5)  # let every worker reach the start line
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


def test_concurrent_shares_and_member_adds_lose_nothing(tmp_path: Path) -> None:
    names = ["bob", "carol", "dave", "erin", "frank"]
    vaults = team(tmp_path / "v", "alice", *names)
    alice = vaults["alice"]
    src = tmp_path / "shared.csv"
    src.write_bytes(os.urandom(3 << 20))
    locked = alice.lock(src).path

    # five processes share the same file with five users, plus two more lock new files
    others = []
    for i in range(2):
        other = tmp_path / f"new{i}.csv"
        other.write_bytes(os.urandom(1 << 20))
        others.append(other)
    jobs = [["share", str(locked), n] for n in names]
    jobs += [["lock", str(o)] for o in others]
    _run_together(tmp_path / "v", jobs, tmp_path / "go1")
    info = alice.info(locked)
    assert info.signature == "valid"
    assert info.acl == {"alice": Role.OWNER, **{n: Role.READER for n in names}}
    for name in names:
        assert vaults[name].unlock(locked, tmp_path / name).stat().st_size == 3 << 20
    assert sorted(f.name for f in alice.files()) == ["new0.csv", "new1.csv", "shared.csv"]

    # registry: three admins-side adds at once, all kept and all trusted
    keystore = alice.keystore
    for name in ("gina", "hal", "ivy"):
        keystore.create(name)
    _run_together(tmp_path / "v", [["add", n] for n in ("gina", "hal", "ivy")],
                  tmp_path / "go2")
    members = {m.name for m in alice.members()}
    assert members == {"alice", *names, "gina", "hal", "ivy"}
    assert alice.registry.problems == {}
