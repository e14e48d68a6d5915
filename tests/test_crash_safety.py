"""kill -9 at random moments: nothing lost, nothing partial at the destination name.

A real ``vault`` subprocess works on a multi-MiB file and is killed with SIGKILL, half
of the time at a uniformly random moment of its run, half of the time while its temp
file is being written (the riskiest window). After each kill the original must be intact
and readable and the destination either absent or complete and correct. Temp files left
behind by a kill must be 0600 and never at the real name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from vault_support import REAL_KEYRING, TEST_PASSPHRASE, make_keystore

from vault_app.core import age
from vault_app.core.age import unwrap_file_key
from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.audit import AuditLog
from vault_app.core.errors import NoIdentityMatchError
from vault_app.core.folder_modes import Modes
from vault_app.core.header import read_header
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.vault import Role, Vault

SIZE = 4 << 20
KILLS = 30
VAULT = [sys.executable, "-m", "vault_app.cli"]


def sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _temps_in(found: list[Path]) -> list[Path]:
    """Temp files: beside the destination, or inside the private folder a vault's own
    files are written in (``.NAME.<pid>.<random>.vault-tmp/NAME``)."""
    files: list[Path] = []
    for path in found:
        with contextlib.suppress(OSError):
            files += sorted(path.iterdir()) if path.is_dir() else [path]
    return files


def temp_files(dest: Path) -> list[Path]:
    return _temps_in(sorted(dest.parent.glob(f".{dest.name}.*{TEMP_SUFFIX}")))


def stray_temps(dest: Path) -> list[Path]:
    """Every temp file a kill may leave: beside ``dest``, and in a vault's ``.vault/`` (the
    registry and the audit checkpoint are replaced the same way)."""
    folders = {dest.parent, dest.parent / ".vault", dest.parent / ".vault" / "audit-heads"}
    return _temps_in(sorted(p for f in folders if f.is_dir()
                            for p in f.glob(f".*{TEMP_SUFFIX}")))


def _temp_modes(dest: Path) -> set[int]:
    """A temp file is owner-only while written. A vault's own files (ciphertext, public
    metadata: never plaintext) get the vault folder's shared mode just before the rename,
    so a kill in that instant may leave one with that mode; plaintext temps, never."""
    vault = next((f for f in (dest.parent, *dest.parents) if (f / ".vault").is_dir()), None)
    if vault is None or not (dest.name.endswith(".age") or ".vault" in dest.parts):
        return {0o600}
    return {0o600, Modes.of_folder(vault.stat().st_mode).file}


@dataclass
class KillStats:
    kills: int = 0
    during_write: int = 0
    finished_first: int = 0
    leftover_temps: int = 0


def _wait_for_temp(proc: subprocess.Popen[bytes], dest: Path, limit: float,
                   min_size: int = 0) -> float | None:
    """Poll until a temp file beside ``dest`` holds ``min_size`` bytes; return when, or None."""
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        for tmp in temp_files(dest):
            with contextlib.suppress(OSError):
                if tmp.stat().st_size >= min_size:
                    return time.monotonic()
        time.sleep(0.0002)
    return None


def kill_loop(cmd: list[str], dest: Path, check: Callable[[], None], *, rounds: int = KILLS,
              seed: int = 1, env: dict[str, str] | None = None,
              cleanup: Callable[[], None] | None = None) -> KillStats:
    """SIGKILL ``cmd`` at random moments until it was killed ``rounds`` times; ``check`` after
    each. A third of the kills land at a uniformly random moment of the whole run; the rest
    while the temp file is being written, once it holds a random fraction of the final size."""
    rng = random.Random(seed)
    full_env = {**os.environ, **(env or {})}
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, env=full_env, timeout=120)
    duration = time.monotonic() - start
    final_size = dest.stat().st_size if dest.exists() else 1
    check()
    if cleanup is not None:
        cleanup()
    stats = KillStats()
    attempt = 0
    while stats.kills < rounds:
        attempt += 1
        assert attempt <= rounds * 3, f"could not land {rounds} kills: {stats}"
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=full_env)
        try:
            if attempt % 3 == 0:
                time.sleep(rng.uniform(0, duration))
            else:
                _wait_for_temp(proc, dest, duration * 3, int(rng.uniform(0, final_size)))
            writing = bool(temp_files(dest))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                stats.kills += 1
                stats.during_write += writing
            else:
                stats.finished_first += 1
        finally:
            proc.wait(timeout=60)
        assert not dest.is_symlink()
        for tmp in stray_temps(dest):
            mode = stat.S_IMODE(tmp.stat().st_mode)
            assert mode in _temp_modes(dest), f"temp file {tmp.name} has mode {oct(mode)}"
            stats.leftover_temps += 1
            tmp.unlink()
        check()
        if cleanup is not None:
            cleanup()
    print(f"\n{' '.join(cmd[3:5])}: {stats}")
    return stats


@pytest.fixture(scope="module")
def identity() -> X25519Identity:
    return X25519Identity.generate()


@pytest.fixture(scope="module")
def big_plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "dataset.csv"
    rng = random.Random(7)
    path.write_bytes(rng.randbytes(SIZE))
    return path


def decrypts_to(locked: Path, identity: Any, digest: str) -> None:
    out = hashlib.sha256()

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            out.update(data)
            return len(data)

    with locked.open("rb") as src:
        age.decrypt(src, Sink(), [identity])  # type: ignore[arg-type]
    assert out.hexdigest() == digest, f"{locked} does not decrypt to the original"


@pytest.mark.slow
def test_kill_during_encrypt(tmp_path: Path, big_plain: Path, identity: X25519Identity) -> None:
    digest = sha(big_plain)
    dest = tmp_path / "dataset.csv.age"

    def check() -> None:
        assert sha(big_plain) == digest, "the original changed"
        if dest.exists():  # the run finished before the kill: must be complete
            decrypts_to(dest, identity, digest)

    def cleanup() -> None:
        dest.unlink(missing_ok=True)

    cmd = [*VAULT, "encrypt", "-r", str(identity.recipient()), "-o", str(dest), str(big_plain)]
    stats = kill_loop(cmd, dest, check, cleanup=cleanup)
    assert stats.during_write >= KILLS // 4, "too few kills landed while writing"


@pytest.mark.slow
def test_kill_during_decrypt(tmp_path: Path, big_plain: Path, identity: X25519Identity) -> None:
    digest = sha(big_plain)
    locked = tmp_path / "dataset.csv.age"
    age.encrypt_file(big_plain, locked, [identity.recipient()])
    locked_digest = sha(locked)
    key = tmp_path / "key.txt"
    key.write_text(str(identity) + "\n")
    key.chmod(0o600)
    dest = tmp_path / "out.csv"

    def check() -> None:
        assert sha(locked) == locked_digest, "the locked original changed"
        if dest.exists():
            assert sha(dest) == digest, "a partial plaintext sits at the destination name"

    def cleanup() -> None:
        dest.unlink(missing_ok=True)

    cmd = [*VAULT, "decrypt", "-i", str(key), "-o", str(dest), str(locked)]
    stats = kill_loop(cmd, dest, check, cleanup=cleanup, seed=2)
    decrypts_to(locked, identity, digest)
    assert stats.during_write >= KILLS // 4, "too few kills landed while writing"


# -- the vault operations: lock, unlock, share, revoke ------------------------------------------

VAULT_SIZE = 4 << 20


@dataclass
class Team:
    root: Path
    alice: Vault
    bob_identity: object
    plain: Path
    data_digest: str
    env: dict[str, str]

    @property
    def locked(self) -> Path:
        return self.root / "data.csv.age"

    def consistent(self) -> None:
        """`vault verify` (the same core call) and the audit log both pass."""
        results = self.alice.verify()
        assert all(r.status == "valid" for r in results), results
        keys = {n: m.signing_key for n, m in self.alice.registry.trusted.items()}
        audit = AuditLog(self.root, vault_id=self.alice.config["vault_id"])
        assert audit.verify(keys) == []

    def cli_verify(self) -> None:
        result = subprocess.run([*VAULT, "verify", "--vault", str(self.root)], env=self.env,
                                capture_output=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr.decode()


@pytest.fixture
def team(tmp_path: Path) -> Team:
    keystore = make_keystore()
    root = tmp_path / "vault"
    alice, _ = Vault.init(root, user="alice", keystore=keystore)
    bob = keystore.create("bob")
    alice.add_member("bob", bob.recipient, bob.signing_public)
    plain = tmp_path / "data.csv"
    plain.write_bytes(random.Random(11).randbytes(VAULT_SIZE))
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_bytes(TEST_PASSPHRASE + b"\n")
    env = {"VAULT_USER": "alice", "VAULT_PASSPHRASE_FILE": str(passphrase)}
    if not REAL_KEYRING:
        env["VAULT_KEY_FILE"] = "1"
    return Team(root, alice, bob.identity, plain, sha(plain), env)


@pytest.mark.slow
def test_kill_during_vault_lock(team: Team) -> None:
    data = team.plain.read_bytes()

    def check() -> None:
        have_plain, have_locked = team.plain.exists(), team.locked.exists()
        assert have_plain or have_locked, "the file was lost: no plaintext and no locked copy"
        if have_plain:
            assert sha(team.plain) == team.data_digest, "the plaintext changed"
        if have_locked:
            decrypts_to(team.locked, team.alice.keys().identity, team.data_digest)
        team.consistent()

    def cleanup() -> None:
        team.locked.unlink(missing_ok=True)
        if not team.plain.exists():
            team.plain.write_bytes(data)

    cmd = [*VAULT, "lock", "--vault", str(team.root), str(team.plain)]
    stats = kill_loop(cmd, team.locked, check, cleanup=cleanup, env=team.env, seed=3)
    team.cli_verify()
    assert stats.during_write >= KILLS // 4


@pytest.mark.slow
def test_kill_during_vault_unlock(team: Team, tmp_path: Path) -> None:
    team.alice.lock(team.plain, keep=True)
    locked_digest = sha(team.locked)
    out_dir = tmp_path / "out"
    out = out_dir / "data.csv"

    def check() -> None:
        assert sha(team.locked) == locked_digest, "the locked file changed"
        if out.exists():
            assert sha(out) == team.data_digest, "a partial plaintext at the destination"
        team.consistent()

    def cleanup() -> None:
        out.unlink(missing_ok=True)

    cmd = [*VAULT, "unlock", "--vault", str(team.root), "-o", str(out_dir), str(team.locked)]
    stats = kill_loop(cmd, out, check, cleanup=cleanup, env=team.env, seed=4)
    team.cli_verify()
    assert stats.during_write >= KILLS // 4


@pytest.mark.slow
def test_kill_during_vault_share(team: Team) -> None:
    team.alice.lock(team.plain, keep=True)
    team.alice.share(team.locked, "bob", Role.READER)

    def check() -> None:
        info = team.alice.info(team.locked)
        assert info.acl.get("bob") in (Role.READER, Role.EDITOR), info.acl
        assert info.readers == ["alice", "bob"]
        decrypts_to(team.locked, team.alice.keys().identity, team.data_digest)
        decrypts_to(team.locked, team.bob_identity, team.data_digest)
        team.consistent()

    def cleanup() -> None:  # back to reader, so the next run has a change to make
        team.alice.share(team.locked, "bob", Role.READER)

    cmd = [*VAULT, "share", "--vault", str(team.root), str(team.locked), "--with", "bob",
           "--role", "editor"]
    stats = kill_loop(cmd, team.locked, check, cleanup=cleanup, env=team.env, seed=5)
    team.cli_verify()
    assert stats.during_write >= KILLS // 4


@pytest.mark.slow
def test_kill_during_vault_revoke(team: Team) -> None:
    team.alice.lock(team.plain, keep=True)
    team.alice.share(team.locked, "bob", Role.READER)
    revoked = 0

    def check() -> None:
        nonlocal revoked
        info = team.alice.info(team.locked)
        decrypts_to(team.locked, team.alice.keys().identity, team.data_digest)
        if "bob" in info.acl:
            decrypts_to(team.locked, team.bob_identity, team.data_digest)
        else:
            revoked += 1
            with team.locked.open("rb") as handle, pytest.raises(NoIdentityMatchError):
                unwrap_file_key(read_header(handle), [team.bob_identity])  # type: ignore[list-item]
        team.consistent()

    def cleanup() -> None:
        if "bob" not in team.alice.info(team.locked).acl:
            team.alice.share(team.locked, "bob", Role.READER)

    cmd = [*VAULT, "revoke", "--vault", str(team.root), str(team.locked), "--from", "bob"]
    stats = kill_loop(cmd, team.locked, check, cleanup=cleanup, env=team.env, seed=6)
    team.cli_verify()
    assert stats.during_write >= KILLS // 4
    assert revoked >= 1


@pytest.mark.slow
def test_kill_during_member_add(team: Team) -> None:
    """The registry is replaced atomically too: after any kill it parses, every entry is
    trusted, and carol is either fully added or not there."""
    carol = X25519Identity.generate()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from vault_app.core.signing import encode_signing_public

    signing = encode_signing_public(Ed25519PrivateKey.generate().public_key())
    registry_file = team.root / ".vault" / "members.json"

    def check() -> None:
        registry = team.alice.registry
        assert registry.problems == {}, registry.problems
        entry = registry.lookup("carol")
        assert entry is None or (entry.recipient, entry.signing_key) == (
            str(carol.recipient()), signing)
        team.consistent()

    def cleanup() -> None:
        entry = team.alice.registry.lookup("carol")
        if entry is not None and entry.active:
            team.alice.remove_member("carol")

    cmd = [*VAULT, "user", "add", "--vault", str(team.root), "carol", "--recipient",
           str(carol.recipient()), "--signing-key", signing]
    stats = kill_loop(cmd, registry_file, check, cleanup=cleanup, env=team.env, seed=7)
    team.cli_verify()
    assert stats.kills >= KILLS
