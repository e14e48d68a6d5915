"""The lock's read-back check: blocks are read back from the file and compared with what
was written while later ones are still being encrypted, and a bad write is caught before
the plaintext is removed."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import BinaryIO

import pytest
from vault_support import team

from vault_app.core import readback as readback_module
from vault_app.core.errors import Cancelled, PayloadError, VaultError
from vault_app.core.pipeline import decrypt_payload, encrypt_payload
from vault_app.core.progress import CancelToken
from vault_app.core.readback import ReadBackVerifier
from vault_app.core.stream import CHUNK

KEY = bytes(range(32))
HEADER = b"a draft header of some length\n"


def lock_into(path: Path, plain: bytes, *, handle_wrapper: type | None = None,
              cancel: CancelToken | None = None) -> int:
    """encrypt_payload through a ReadBackVerifier, as Vault.lock does; returns its size."""
    with path.open("w+b") as raw:
        handle: BinaryIO = handle_wrapper(raw) if handle_wrapper else raw
        start = handle.write(HEADER)
        verifier = ReadBackVerifier(handle, start)
        try:
            encrypt_payload(KEY, io.BytesIO(plain), verifier, cancel=cancel)  # type: ignore[arg-type]
        except BaseException:
            verifier.abort()
            raise
        return verifier.finish()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * (2 << 20) + 5])
def test_verifies_what_was_written(tmp_path: Path, size: int) -> None:
    plain = os.urandom(size)
    out = tmp_path / "out"
    assert lock_into(out, plain) == size
    got = io.BytesIO()
    with out.open("rb") as f:
        f.seek(len(HEADER))
        decrypt_payload(KEY, f, got)
    assert got.getvalue() == plain


class FlipsAByte:
    """A disk that corrupts one byte of one write: the bytes in the file differ from
    the bytes handed to write (what the read-back must catch)."""

    def __init__(self, raw: BinaryIO, at_write: int = 3) -> None:
        self.raw, self.writes, self.at_write = raw, 0, at_write

    def write(self, data: bytes | memoryview) -> int:
        self.writes += 1
        n = self.raw.write(data)
        if self.writes == self.at_write and len(data) > 100:
            self.raw.flush()
            pos = self.raw.tell() - len(data) + 77
            os.pwrite(self.raw.fileno(), bytes([os.pread(self.raw.fileno(), 1, pos)[0] ^ 1]), pos)
        return n

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)


class DropsAWrite(FlipsAByte):
    """A write that reports success but never reaches the file."""

    def write(self, data: bytes | memoryview) -> int:
        self.writes += 1
        if self.writes == self.at_write:
            return len(data)
        return int(self.raw.write(data))


def test_corruption_in_the_file_is_caught(tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match="differs from what was written"):
        lock_into(tmp_path / "out", os.urandom(5 << 20), handle_wrapper=FlipsAByte)


def test_a_lost_write_is_caught(tmp_path: Path) -> None:
    with pytest.raises(PayloadError):
        lock_into(tmp_path / "out", os.urandom(5 << 20), handle_wrapper=DropsAWrite)


def test_a_lost_last_write_is_caught(tmp_path: Path) -> None:
    # The nonce is write 1, then one 2 MiB block per write: the last is write 4.
    class DropsTheLast(DropsAWrite):
        def __init__(self, raw: BinaryIO) -> None:
            super().__init__(raw, at_write=4)

    with pytest.raises(PayloadError):
        lock_into(tmp_path / "out", os.urandom(5 << 20), handle_wrapper=DropsTheLast)


def test_a_file_cut_short_while_writing_is_caught(tmp_path: Path) -> None:
    class CutsTheEnd(FlipsAByte):
        def flush(self) -> None:  # the file system lost the tail of the file
            self.raw.flush()
            size = os.fstat(self.raw.fileno()).st_size
            if self.writes >= 4 and size > len(HEADER) + (4 << 20):
                os.ftruncate(self.raw.fileno(), size - 100)

        def write(self, data: bytes | memoryview) -> int:
            self.writes += 1
            return int(self.raw.write(data))

    with pytest.raises(PayloadError):
        lock_into(tmp_path / "out", os.urandom(5 << 20), handle_wrapper=CutsTheEnd)


def test_cancel_stops_every_thread(tmp_path: Path) -> None:
    cancel = CancelToken()

    class CancelsMidway(FlipsAByte):
        def write(self, data: bytes | memoryview) -> int:
            self.writes += 1
            if self.writes == 3:
                cancel.cancel()
            return int(self.raw.write(data))

    before = threading.active_count()
    with pytest.raises(Cancelled):
        lock_into(tmp_path / "out", os.urandom(9 << 20), handle_wrapper=CancelsMidway,
                  cancel=cancel)
    assert threading.active_count() == before, "a pipeline thread was left running"


def test_sequential_fallback_where_pread_is_missing(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no os.pread: the same check runs after the write."""
    monkeypatch.setattr(readback_module, "CAN_PREAD", False)
    plain = os.urandom(3 << 20)
    assert lock_into(tmp_path / "out", plain) == len(plain)
    with pytest.raises(PayloadError):
        lock_into(tmp_path / "bad", plain, handle_wrapper=FlipsAByte)


def test_vault_lock_keeps_the_plaintext_when_the_read_back_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = team(tmp_path / "vault", "alice")["alice"]
    src = tmp_path / "data.csv"
    src.write_bytes(os.urandom(5 << 20))
    before = src.read_bytes()

    class CorruptingVerifier(ReadBackVerifier):
        def __init__(self, handle: BinaryIO, *args: object) -> None:
            super().__init__(FlipsAByte(handle), *args)  # type: ignore[arg-type]

    monkeypatch.setattr("vault_app.core.file_ops.ReadBackVerifier", CorruptingVerifier)
    with pytest.raises(VaultError, match="verification of the written file failed"):
        alice.lock(src)
    assert src.read_bytes() == before, "the plaintext must stay when the check fails"
    assert not (alice.path / "data.csv.age").exists()
    assert list(alice.path.glob(".data.csv.age.*")) == [], "a temp file was left behind"


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_returns_after_each_lock_and_unlock(tmp_path: Path) -> None:
    """A long-lived process (the window) locks file after file: its memory must come back.

    The stream's 2 MiB buffers are mapped from the OS and unmapped after each operation.
    (From malloc, glibc kept them after the first free raised its mmap threshold: RSS
    stayed ~14 MiB up, and crept by ~8 MiB per lock while the read-back ran on a thread.)
    """
    alice = team(tmp_path / "vault", "alice")["alice"]
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(24 << 20))
    out = tmp_path / "out"
    out.mkdir()
    warm = alice.path / "warm.age"  # imports, keys and caches loaded before the baseline
    alice.lock(src, keep=True, dest=warm)
    warm.unlink()
    before = _rss_mib()
    after = []
    for n in range(4):
        locked = alice.lock(src, keep=True, dest=alice.path / f"d{n}.age").path
        alice.unlock(locked, out).unlink()
        locked.unlink()
        after.append(_rss_mib())
    assert max(after) - before < 4, f"RSS {before:.1f} MiB, then after each lock+unlock: {after}"


def test_vault_lock_when_reading_back_fails_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error reading the new file back (a failing disk) is the same clear error."""
    alice = team(tmp_path / "vault", "alice")["alice"]
    src = tmp_path / "data.csv"
    src.write_bytes(os.urandom(3 << 20))

    def failing_read(self: ReadBackVerifier, view: memoryview, offset: int) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ReadBackVerifier, "_read_at", failing_read)
    with pytest.raises(VaultError, match="verification of the written file failed"):
        alice.lock(src)
    assert src.exists() and not (alice.path / "data.csv.age").exists()
