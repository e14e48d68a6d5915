"""Disk full: a clear error, a non-zero exit, nothing lost, nothing partial left behind.

Two ways to run out of space, both real: RLIMIT_FSIZE on the ``vault`` subprocess (the
kernel refuses writes past the limit with EFBIG), and a 2 MiB tmpfs mounted by the test
(ENOSPC; needs root, which CI has).
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from vault_support import REAL_KEYRING, TEST_PASSPHRASE

from vault_app.cli import exit_codes
from vault_app.core import age
from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.errors import ErrorKind
from vault_app.core.recipients.x25519 import X25519Identity

VAULT = [sys.executable, "-m", "vault_app.cli"]
LIMIT = 1 << 20


def _limit_file_size() -> None:  # runs in the child between fork and exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def run_limited(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*VAULT, *args], capture_output=True, timeout=120, check=False,
                          preexec_fn=_limit_file_size)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_clean_failure(result: subprocess.CompletedProcess[bytes], dest: Path) -> None:
    stderr = result.stderr.decode()
    # 1 for the age verbs (as age), the no-space status for the vault's
    assert result.returncode in (1, exit_codes.BY_KIND[ErrorKind.NO_SPACE]), stderr
    assert (result.returncode == 1) == (result.args[3] in exit_codes.AGE_VERBS), stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("error: "), stderr
    assert "not enough disk space" in stderr, stderr
    assert "hint: free some space" in stderr
    assert not dest.exists(), "a partial file was left at the destination name"
    leftovers = list(dest.parent.glob(f".{dest.name}.*{TEMP_SUFFIX}"))
    assert leftovers == [], f"temp files left behind: {leftovers}"


@pytest.fixture
def identity(tmp_path: Path) -> tuple[X25519Identity, Path]:
    ident = X25519Identity.generate()
    key = tmp_path / "key.txt"
    key.write_text(str(ident) + "\n")
    return ident, key


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "big.csv"
    path.write_bytes(os.urandom(3 * LIMIT))
    return path


def test_encrypt_past_file_size_limit(tmp_path: Path, plain: Path,
                                      identity: tuple[X25519Identity, Path]) -> None:
    before = digest(plain)
    dest = tmp_path / "big.csv.age"
    result = run_limited("encrypt", "-r", str(identity[0].recipient()), "-o", str(dest),
                         str(plain))
    assert_clean_failure(result, dest)
    assert digest(plain) == before


def test_decrypt_past_file_size_limit(tmp_path: Path, plain: Path,
                                      identity: tuple[X25519Identity, Path]) -> None:
    locked = tmp_path / "big.csv.age"
    age.encrypt_file(plain, locked, [identity[0].recipient()])
    before = digest(locked)
    dest = tmp_path / "out.csv"
    result = run_limited("decrypt", "-i", str(identity[1]), "-o", str(dest), str(locked))
    assert_clean_failure(result, dest)
    assert digest(locked) == before


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB tmpfs, mounted for this test only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / f"small-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                             str(mount)], capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_encrypt_onto_full_tmpfs(small_fs: Path, plain: Path,
                                 identity: tuple[X25519Identity, Path]) -> None:
    before = digest(plain)
    dest = small_fs / "big.csv.age"
    result = subprocess.run([*VAULT, "encrypt", "-r", str(identity[0].recipient()), "-o",
                             str(dest), str(plain)], capture_output=True, timeout=120,
                            check=False)
    assert_clean_failure(result, dest)
    assert digest(plain) == before
    assert os.statvfs(small_fs).f_bfree == os.statvfs(small_fs).f_blocks, "space not freed"


def test_decrypt_onto_full_tmpfs(tmp_path: Path, small_fs: Path, plain: Path,
                                 identity: tuple[X25519Identity, Path]) -> None:
    locked = tmp_path / "big.csv.age"
    age.encrypt_file(plain, locked, [identity[0].recipient()])
    before = digest(locked)
    dest = small_fs / "out.csv"
    result = subprocess.run([*VAULT, "decrypt", "-i", str(identity[1]), "-o", str(dest),
                             str(locked)], capture_output=True, timeout=120, check=False)
    assert_clean_failure(result, dest)
    assert digest(locked) == before


def test_filesystem_already_full_keeps_existing_files(small_fs: Path, tmp_path: Path,
                                                      identity: tuple[X25519Identity, Path],
                                                      ) -> None:
    """With the disk already full, even a small lock fails cleanly; what was there stays."""
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n" * 1000)
    existing = small_fs / "existing.csv.age"
    age.encrypt_file(small, existing, [identity[0].recipient()])
    keep = digest(existing)
    filler = small_fs / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    dest = small_fs / "small.csv.age"
    result = subprocess.run([*VAULT, "encrypt", "-r", str(identity[0].recipient()), "-o",
                             str(dest), str(small)], capture_output=True, timeout=120,
                            check=False)
    assert_clean_failure(result, dest)
    assert digest(existing) == keep


def test_vault_lock_past_file_size_limit_keeps_the_plaintext(tmp_path: Path,
                                                             plain: Path) -> None:
    """`vault lock` runs out of space mid-file: the plaintext stays, nothing is published,
    no temp is left, and the error says what to do (the read-back thread stops too)."""
    secret = tmp_path / "passphrase"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    env = {**os.environ, "VAULT_PASSPHRASE_FILE": str(secret)}
    if not REAL_KEYRING:
        env["VAULT_KEY_FILE"] = "1"
    root = tmp_path / "vault"
    init = subprocess.run([*VAULT, "init", str(root), "--user", "alice", "--recovery-out",
                           str(tmp_path / "recovery.txt")], capture_output=True, env=env,
                          timeout=120, check=False)
    assert init.returncode == 0, init.stderr.decode()
    before = digest(plain)
    result = subprocess.run([*VAULT, "lock", str(plain), "--vault", str(root), "--user",
                             "alice"], capture_output=True, timeout=120, check=False, env=env,
                            preexec_fn=_limit_file_size)
    dest = root / "big.csv.age"
    assert_clean_failure(result, dest)
    assert digest(plain) == before
