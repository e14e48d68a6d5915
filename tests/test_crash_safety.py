"""kill -9 at random moments: nothing lost, nothing partial at the destination name.

A real ``vault`` subprocess works on a multi-MiB file and is killed with SIGKILL, half
of the time at a uniformly random moment of its run, half of the time while its temp
file is being written (the riskiest window). After each kill the original must be intact
and readable and the destination either absent or complete and correct. Temp files left
behind by a kill must be 0600 and never at the real name.
"""

from __future__ import annotations

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

import pytest

from vault_app.core import age
from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.recipients.x25519 import X25519Identity

SIZE = 24 << 20
KILLS = 30
VAULT = [sys.executable, "-m", "vault_app.cli"]


def sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def temp_files(dest: Path) -> list[Path]:
    return sorted(dest.parent.glob(f".{dest.name}.*{TEMP_SUFFIX}"))


@dataclass
class KillStats:
    kills: int = 0
    during_write: int = 0
    finished_first: int = 0
    leftover_temps: int = 0


def kill_loop(cmd: list[str], dest: Path, check: Callable[[], None], *, rounds: int = KILLS,
              seed: int = 1, env: dict[str, str] | None = None,
              cleanup: Callable[[], None] | None = None) -> KillStats:
    """Run ``cmd`` ``rounds`` times, SIGKILL it at a random moment, call ``check`` after each."""
    rng = random.Random(seed)
    full_env = {**os.environ, **(env or {})}
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, env=full_env, timeout=120)
    duration = time.monotonic() - start
    check()
    if cleanup is not None:
        cleanup()
    stats = KillStats()
    for round_ in range(rounds):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=full_env)
        try:
            if round_ % 2 == 0:
                time.sleep(rng.uniform(0, duration * 1.1))
            else:  # wait for the temp file, then kill inside the write window
                deadline = time.monotonic() + duration * 3
                while not temp_files(dest) and proc.poll() is None \
                        and time.monotonic() < deadline:
                    time.sleep(0.0005)
                time.sleep(rng.uniform(0, duration * 0.25))
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
        for tmp in temp_files(dest):
            mode = stat.S_IMODE(tmp.stat().st_mode)
            assert mode == 0o600, f"temp file {tmp.name} has mode {oct(mode)}"
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


def decrypts_to(locked: Path, identity: X25519Identity, digest: str) -> None:
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
    assert stats.kills >= KILLS * 0.8
    assert stats.during_write >= KILLS // 3, "too few kills landed while writing"


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
    assert stats.kills >= KILLS * 0.8
    assert stats.during_write >= KILLS // 3, "too few kills landed while writing"
