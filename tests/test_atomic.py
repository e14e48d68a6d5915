"""Atomic output: temp file 0600 beside the destination, rename on success only;
after any failure the destination is untouched and no temp file is left."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from vault_app.core.atomic import TEMP_SUFFIX, atomic_output, describe_os_error
from vault_app.core.errors import ErrorKind, FileOperationError
from vault_app.core.keys import generate_identity


def temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_success_writes_private_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    old = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        with atomic_output(dest) as handle:
            names = temp_files(tmp_path)
            assert len(names) == 1 and names[0].startswith(".out.csv.")
            assert os.fstat(handle.fileno()).st_mode & 0o777 == 0o600
            assert not dest.exists()  # nothing under the real name while writing
            handle.write(b"data")
    finally:
        os.umask(old)
    assert dest.read_bytes() == b"data"
    assert dest.stat().st_mode & 0o777 == 0o600
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_failure_leaves_nothing(tmp_path: Path, error: BaseException) -> None:
    dest = tmp_path / "out.csv"
    with pytest.raises(type(error)), atomic_output(dest) as handle:
        handle.write(b"partial")
        raise error
    assert os.listdir(tmp_path) == []


def test_existing_destination_is_refused_and_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    dest.write_bytes(b"precious")
    with pytest.raises(FileOperationError, match="already exists"), atomic_output(dest):
        pytest.fail("must not get here")
    assert dest.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    dest.write_bytes(b"old")
    with atomic_output(dest, overwrite=True) as handle:
        handle.write(b"new")
    assert dest.read_bytes() == b"new"
    assert dest.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError), atomic_output(dest, overwrite=True) as handle:
        handle.write(b"half")
        raise RuntimeError
    assert dest.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_destination_appearing_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    dest = tmp_path / "out.csv"
    with pytest.raises(FileOperationError, match="already exists"), \
            atomic_output(dest) as handle:
        handle.write(b"ours")
        dest.write_bytes(b"someone else's")
    assert dest.read_bytes() == b"someone else's"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_dangling_symlink_is_not_followed(tmp_path: Path) -> None:
    dest = tmp_path / "link"
    dest.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileOperationError), atomic_output(dest):
        pytest.fail("must not get here")
    assert not (tmp_path / "elsewhere").exists()


def test_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(FileOperationError, match="no such file or folder"), \
            atomic_output(tmp_path / "missing" / "out"):
        pytest.fail("must not get here")
    with pytest.raises(FileOperationError), atomic_output(tmp_path, overwrite=True):
        pytest.fail("must not get here")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("code", "words", "kind"), [
    (errno.ENOENT, "no such file or folder", ErrorKind.NOT_FOUND),
    (errno.ENOTDIR, "not a folder", ErrorKind.NOT_FOUND),
    (errno.EISDIR, "is a folder", ErrorKind.IS_A_FOLDER),
    (errno.ELOOP, "symbolic link", ErrorKind.NOT_A_FILE),
    (errno.EEXIST, "already exists", ErrorKind.EXISTS),
    (errno.EACCES, "permission denied", ErrorKind.PERMISSION),
    (errno.EPERM, "permission denied", ErrorKind.PERMISSION),
    (errno.EROFS, "read-only", ErrorKind.READ_ONLY),
    (errno.ENOSPC, "not enough disk space", ErrorKind.NO_SPACE),
    (errno.EDQUOT, "not enough disk space", ErrorKind.NO_SPACE),
    (errno.EFBIG, "not enough disk space", ErrorKind.NO_SPACE),
    (errno.EIO, "Input/output error", ErrorKind.IO),
    (errno.ENXIO, os.strerror(errno.ENXIO), ErrorKind.IO),
])
def test_describe_os_error(code: int, words: str, kind: ErrorKind) -> None:
    """The errno decides the kind (never the wording); the path is kept for clients."""
    exc = describe_os_error(OSError(code, os.strerror(code)), Path("/data/x.csv"))
    assert isinstance(exc, FileOperationError)
    assert str(exc).startswith("/data/x.csv: ") and words in str(exc)
    assert exc.kind is kind
    assert exc.path == "/data/x.csv"
    assert exc.hint is None and exc.remedy is None  # advice is each client's wording


def test_os_error_without_errno_is_io() -> None:
    exc = describe_os_error(OSError("the output accepted no data"), "out.bin")
    assert exc.kind is ErrorKind.IO and exc.path == "out.bin"


def test_atomic_output_refusals_have_kinds(tmp_path: Path) -> None:
    taken = tmp_path / "taken.csv"
    taken.write_bytes(b"x")
    with pytest.raises(FileOperationError) as exists, atomic_output(taken):
        pytest.fail("must not get here")
    assert exists.value.kind is ErrorKind.EXISTS and exists.value.path == str(taken)
    with pytest.raises(FileOperationError) as folder, atomic_output(tmp_path, overwrite=True):
        pytest.fail("must not get here")
    assert folder.value.kind is ErrorKind.IS_A_FOLDER


def limit_file_size() -> None:  # runs in the child: files may not grow past 256 KiB
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))


@pytest.mark.parametrize("verb", ["encrypt", "decrypt"])
def test_disk_full_leaves_nothing(tmp_path: Path, verb: str) -> None:
    """A real write failure (file-size limit: EFBIG, as a full disk) in the real CLI."""
    identity = generate_identity()
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    plain = tmp_path / "big.bin"
    plain.write_bytes(os.urandom(200 << 10) * 4)  # 800 KiB
    enc = tmp_path / "big.bin.age"
    work = tmp_path / "out"
    work.mkdir()
    if verb == "encrypt":
        args = ["encrypt", "-r", str(identity.recipient()), "-o", str(work / "x.age"),
                str(plain)]
    else:
        done = subprocess.run([sys.executable, "-m", "vault_app.cli", "encrypt", "-r",
                               str(identity.recipient()), "-o", str(enc), str(plain)],
                              capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        args = ["decrypt", "-i", str(key), "-o", str(work / "x.bin"), str(enc)]
    proc = subprocess.run([sys.executable, "-m", "vault_app.cli", *args], capture_output=True,
                          preexec_fn=limit_file_size, timeout=120, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert err.startswith("error: ") and "not enough disk space" in err, err
    assert "hint: free some space" in err
    assert os.listdir(work) == []


@pytest.mark.parametrize("name", ["a" * 250 + ".csv", "é" * 120 + ".csv", "日本" * 40 + ".csv"])
def test_longest_names_work(tmp_path: Path, name: str) -> None:
    """Regression: the temp name (dot, name, random part, suffix) overflowed NAME_MAX,
    so a valid long destination name failed with 'File name too long'."""
    assert len(os.fsencode(name)) <= 255
    dest = tmp_path / name
    with atomic_output(dest) as handle:
        handle.write(b"long")
    assert dest.read_bytes() == b"long"
    assert os.listdir(tmp_path) == [name]


def test_stale_temp_of_a_dead_writer_is_removed_on_next_write(tmp_path: Path) -> None:
    """A kill -9 leaves `.NAME.<pid>.*.vault-tmp` (0600); the next write to NAME removes it."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".out.bin.{pid}.abc123.vault-tmp"
    stale.write_bytes(b"start of a plaintext")
    live = tmp_path / f".out.bin.{os.getpid()}.zzz999.vault-tmp"  # ours: alive, kept
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.bin.{pid}.abc123.vault-tmp"  # another destination: kept
    other.write_bytes(b"x")
    with atomic_output(tmp_path / "out.bin") as out:
        out.write(b"new")
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert (tmp_path / "out.bin").read_bytes() == b"new"


def test_create_exclusive_makes_a_new_owner_only_file_and_never_reuses_a_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp file of atomic_output: 0600 whatever the umask, created exclusively, and a
    name that is taken (here: planted as a link to a file of the victim's) is skipped."""
    from vault_app.core import atomic

    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep")
    taken, free = bytes(6), b"\x01" * 6
    draws = iter([taken, taken, free])
    monkeypatch.setattr(atomic.os, "urandom", lambda n: next(draws))
    (tmp_path / f".x.{taken.hex()}.t").symlink_to(victim)
    old = os.umask(0)
    try:
        fd, name = atomic.create_exclusive(tmp_path, ".x.", ".t")
    finally:
        os.umask(old)
    os.write(fd, b"new")
    os.close(fd)
    assert name == str(tmp_path / f".x.{free.hex()}.t")
    assert os.stat(name).st_mode & 0o777 == 0o600
    assert victim.read_bytes() == b"keep"
