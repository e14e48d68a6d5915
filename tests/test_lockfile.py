"""Lock files in the shared folder: exclusive across processes, never through a link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vault_app.core.errors import VaultBusyError
from vault_app.core.lockfile import hold
from vault_app.core.safe_fs import UnsafeEntryError, open_folder


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    folder = tmp_path / "vault" / ".vault" / "locks"
    folder.mkdir(parents=True)
    return folder


def test_a_symlinked_lock_file_is_refused_and_its_target_kept(locks: Path,
                                                              tmp_path: Path) -> None:
    """CVE-2025-68146 in filelock < 3.20.1: opening the lock truncated the link's target."""
    victim = tmp_path / "thesis.docx"
    victim.write_bytes(b"years of work")
    os.symlink(victim, locks / "audit.lock")
    with (open_folder(locks.parent.parent, [".vault", "locks"]) as folder,
          pytest.raises(UnsafeEntryError, match="symbolic link"),
          hold(folder, "audit.lock", mode=0o660, timeout=1, what="the audit log")):
        pass
    assert victim.read_bytes() == b"years of work"


def test_a_fifo_at_the_lock_name_is_refused_at_once(locks: Path) -> None:
    os.mkfifo(locks / "registry.lock")
    with (open_folder(locks.parent.parent, [".vault", "locks"]) as folder,
          pytest.raises(UnsafeEntryError, match="not a regular file"),
          hold(folder, "registry.lock", mode=0o660, timeout=1, what="the registry")):
        pass


_HOLDER = """
import sys
from pathlib import Path
from vault_app.core.lockfile import hold
from vault_app.core.safe_fs import open_folder
with open_folder(Path(sys.argv[1]), [".vault", "locks"]) as f:
    with hold(f, "file-1.lock", mode=0o660, timeout=5, what="x"):
        print("held", flush=True)
        sys.stdin.readline()
"""


def test_the_lock_is_exclusive_across_processes(locks: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _HOLDER, str(locks.parent.parent)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with open_folder(locks.parent.parent, [".vault", "locks"]) as folder:
            with (pytest.raises(VaultBusyError, match="timed out waiting for the lock on x"),
                  hold(folder, "file-1.lock", mode=0o660, timeout=0.3, what="x")):
                pass
            holder.stdin.write(b"\n")
            holder.stdin.flush()
            assert holder.wait(10) == 0
            with hold(folder, "file-1.lock", mode=0o660, timeout=5, what="x"):
                pass


def test_a_new_lock_file_gets_the_given_mode_and_is_not_truncated(locks: Path) -> None:
    with open_folder(locks.parent.parent, [".vault", "locks"]) as folder:
        old = os.umask(0)
        try:
            with hold(folder, "a.lock", mode=0o660, timeout=1, what="a"):
                pass
        finally:
            os.umask(old)
    assert (locks / "a.lock").stat().st_mode & 0o777 == 0o660
