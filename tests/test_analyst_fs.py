"""The ``vault://`` filesystem and the key session behind it, one behaviour at a time."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
from pathlib import Path

import fsspec
import pytest
from analyst_support import MARKER, PASSPHRASE, AnalystVault, analyst, frame, vault_files

import vault_app
from vault_app import analyst as analyst_client
from vault_app.core import keystore as keystore_module
from vault_app.core.errors import (
    AccessDeniedError,
    BadPassphraseError,
    FileOperationError,
    NotAVaultError,
    SignatureError,
)
from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault

__all__ = ["analyst"]


def write(fs: fsspec.AbstractFileSystem, path: Path, data: bytes, mode: str = "wb") -> None:
    with fs.open(str(path), mode) as out:
        out.write(data)


def test_names_are_the_plaintext_names(analyst: AnalystVault) -> None:
    fs = fsspec.filesystem("vault")
    payload = f"a,b\n1,{MARKER}\n".encode()
    fs.makedirs(str(analyst.root / "2026" / "q1"), exist_ok=True)
    write(fs, analyst.root / "2026" / "q1" / "sales.csv", payload)
    write(fs, analyst.root / "top.csv", payload)
    (analyst.root / "loose.txt.tmp").mkdir()  # a folder shows; files without .age do not
    listing = fs.ls(str(analyst.root), detail=True)
    assert [(e["name"], e["type"]) for e in listing] == [
        (str(analyst.root / "2026"), "directory"),
        (str(analyst.root / "loose.txt.tmp"), "directory"),
        (str(analyst.root / "top.csv"), "file")]  # no .vault, no .age suffix
    assert listing[2]["size"] == len(payload)  # the plaintext size, from the header
    assert fs.glob(f"{analyst.root}/**/*.csv") == [
        str(analyst.root / "2026" / "q1" / "sales.csv"), str(analyst.root / "top.csv")]
    assert fs.cat(f"vault://{analyst.root}/2026/q1/sales.csv") == payload
    assert fs.isdir(str(analyst.root / "2026")) and fs.isfile(str(analyst.root / "top.csv"))
    with pytest.raises(FileNotFoundError):
        fs.info(str(analyst.root / "top.csv.age"))  # the locked name is not a name here
    with pytest.raises(FileNotFoundError):
        fs.ls(str(analyst.root / ".vault"))
    (analyst.root / "loose.txt.tmp").rmdir()


def test_random_access_reads_and_pickled_handles(analyst: AnalystVault) -> None:
    data = bytes(range(256)) * 4_000  # about 1 MiB: 16 chunks
    fs = fsspec.filesystem("vault")
    write(fs, analyst.root / "blob.bin", data)
    with fs.open(str(analyst.root / "blob.bin")) as handle:
        handle.seek(700_000)
        assert handle.read(10) == data[700_000:700_010]
        clone = pickle.loads(pickle.dumps(handle))  # a dask task's copy: reopened there
        assert clone.tell() == 700_010 and clone.read(5) == data[700_010:700_015]
        clone.close()
    again = pickle.loads(pickle.dumps(fs))
    assert again == fs and again.user is None  # only the options travel, never keys


def test_reads_of_every_shape_are_exact(analyst: AnalystVault) -> None:
    data = os.urandom(6 << 20)
    fs = fsspec.filesystem("vault")
    write(fs, analyst.root / "big.bin", data)
    with fs.open(str(analyst.root / "big.bin")) as handle:
        for start, size in [(0, 6 << 20), (12_345, 2_300_000), (65_536, 2 << 20),
                            ((6 << 20) - 2_100_000, 3 << 20), (6 << 20, 10)]:
            handle.seek(start)
            assert bytes(handle.read_buffer(size)) == data[start : start + size]
        handle.seek(100)
        assert handle.read(10) == data[100:110]
        into = bytearray(70_000)
        assert handle.readinto(into) == 70_000 and into == data[110:70_110]
        handle.seek(len(data) - 5)
        assert handle.read() == data[-5:] and handle.read() == b""


def test_the_signed_content_is_checked_once_per_version_of_a_file(
        analyst: AnalystVault, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = fsspec.filesystem("vault")
    target = analyst.root / "v.csv"
    write(fs, target, b"v1")
    checks: list[bool] = []
    real = Vault.open_reader

    def recording(self: Vault, locked: Path, **kwargs: bool) -> object:
        checks.append(kwargs.get("verify_content", True))
        return real(self, locked, **kwargs)

    monkeypatch.setattr(Vault, "open_reader", recording)
    for _ in range(3):
        assert fs.cat(str(target)) == b"v1"
    assert checks == [True, False, False]  # hashed once; signature checked every time
    write(fs, target, b"v2")  # a new version: a new stamp, checked again
    assert fs.cat(str(target)) == b"v2" and checks[3:] == [True]
    vault_app.close_session()  # a new session checks afresh
    assert fs.cat(str(target)) == b"v2" and checks[4:] == [True]


def test_reads_check_each_segment_as_they_read_it(analyst: AnalystVault) -> None:
    """A version this session already checked is still read segment by segment against
    its signed digests: bytes changed on disk after the handle was opened are caught by
    the read of their segment, and the segments around them still read."""
    fs = fsspec.filesystem("vault")
    chunk, sealed = 64 << 10, (64 << 10) + 16
    data = os.urandom(64 * chunk + 1_000)  # 65 chunks: a segment per chunk
    target = analyst.root / "seg.bin"
    write(fs, target, data)
    assert fs.cat(str(target)) == data  # checked once: the session remembers this version
    locked = analyst.root / "seg.bin.age"
    payload = 16 + 64 * sealed + 1_000 + 16
    with fs.open(str(target)) as handle:
        assert handle.read(100) == data[:100]
        with open(locked, "r+b") as raw:  # a byte of chunk 40 (segment 40)
            raw.seek(locked.stat().st_size - payload + 16 + 40 * sealed + 100)
            byte = raw.read(1)
            raw.seek(-1, os.SEEK_CUR)
            raw.write(bytes([byte[0] ^ 1]))
        handle.seek(64 * chunk + 10)
        assert handle.read(100) == data[64 * chunk + 10 : 64 * chunk + 110]
        handle.seek(39 * chunk + 10)
        assert handle.read(100) == data[39 * chunk + 10 : 39 * chunk + 110]
        handle.seek(40 * chunk + 10)
        with pytest.raises(SignatureError, match="segment 40,"):
            handle.read(100)


def test_handles_open_at_once_on_one_version_share_a_reader(
        analyst: AnalystVault, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = fsspec.filesystem("vault")
    target = analyst.root / "s.bin"
    write(fs, target, bytes(range(256)) * 1_000)
    opened: list[object] = []
    real = Vault.open_reader

    def recording(self: Vault, locked: Path, **kwargs: bool) -> object:
        reader = real(self, locked, **kwargs)
        opened.append(reader)
        return reader

    monkeypatch.setattr(Vault, "open_reader", recording)
    first, second = fs.open(str(target)), fs.open(str(target))  # as pyarrow does
    assert len(opened) == 1
    first.seek(1_000)
    second.seek(5)
    assert (first.read(3), second.read(3)) == (bytes([232, 233, 234]), bytes([5, 6, 7]))
    first.close()
    assert not opened[0].closed and second.read(2) == bytes([8, 9])  # still in use
    second.close()
    assert opened[0].closed  # the last one out closes it
    with fs.open(str(target)) as third:  # none open: a fresh reader
        assert third.read(1) == b"\x00" and len(opened) == 2


def test_a_failed_write_publishes_nothing(analyst: AnalystVault) -> None:
    fs = fsspec.filesystem("vault")
    target = analyst.root / "half.csv"
    with pytest.raises(RuntimeError, match="stop"), fs.open(str(target), "wb") as out:
        out.write(MARKER.encode() * 1_000_000)  # past the block size: encryption started
        raise RuntimeError("stop")
    assert vault_files(analyst.root) == []
    assert [p.name for p in analyst.root.iterdir()] == [".vault"]  # no temp file either


def test_unknown_size_writes_of_any_shape(analyst: AnalystVault) -> None:
    fs = fsspec.filesystem("vault")
    pieces = [b"x" * n for n in (0, 1, 65_535, 65_537, 5 << 20, 3)]
    with fs.open(str(analyst.root / "pieces.bin"), "wb") as out:
        for piece in pieces:
            out.write(piece)
        assert out.tell() == sum(map(len, pieces))
    write(fs, analyst.root / "empty.bin", b"")
    assert fs.cat(str(analyst.root / "pieces.bin")) == b"".join(pieces)
    assert fs.cat(str(analyst.root / "empty.bin")) == b""
    assert fs.size(str(analyst.root / "pieces.bin")) == sum(map(len, pieces))


def test_writing_over_a_file_is_a_new_version_for_its_editors_only(
        analyst: AnalystVault) -> None:
    fs = fsspec.filesystem("vault")
    target = analyst.root / "shared.csv"
    write(fs, target, b"v1")
    with pytest.raises(FileOperationError) as exists:
        write(fs, target, b"v2", mode="xb")
    assert exists.value.kind == "exists"
    keys = analyst.vault.keystore.create("an-reader-" + analyst.user[3:])
    analyst.vault.add_member(keys.name, keys.recipient, keys.signing_public)
    analyst.vault.share(analyst.root / "shared.csv.age", keys.name)
    write(fs, target, b"v2")  # the owner: a new version, the ACL kept
    info = analyst.vault.info(analyst.root / "shared.csv.age")
    assert info.readers == sorted([analyst.user, keys.name]) and info.signature == "valid"
    assert fs.cat(str(target)) == b"v2"
    reader_fs = fsspec.filesystem("vault", user=keys.name)
    assert reader_fs.cat(str(target)) == b"v2"
    with pytest.raises(AccessDeniedError):
        write(reader_fs, target, b"v3")  # a reader may not replace the content
    assert fs.cat(str(target)) == b"v2"
    analyst.vault.keystore.delete(keys.name)


def test_a_rewritten_file_is_refused(analyst: AnalystVault) -> None:
    fs = fsspec.filesystem("vault")
    write(fs, analyst.root / "t.bin", b"y" * 200_000)
    locked = analyst.root / "t.bin.age"
    raw = bytearray(locked.read_bytes())
    raw[-100] ^= 1
    locked.write_bytes(bytes(raw))
    with pytest.raises(SignatureError):
        fs.open(str(analyst.root / "t.bin"))


def test_folders_outside_a_vault_and_removal_are_refused(analyst: AnalystVault,
                                                          tmp_path: Path) -> None:
    fs = fsspec.filesystem("vault")
    with pytest.raises(NotAVaultError):
        fs.makedirs(str(tmp_path / "elsewhere" / "x"))
    with pytest.raises(NotAVaultError):
        write(fs, tmp_path / "elsewhere.csv", b"a")
    write(fs, analyst.root / "keep.csv", b"a")
    with pytest.raises(PermissionError):
        fs.rm(str(analyst.root / "keep.csv"))
    assert fs.exists(str(analyst.root / "keep.csv"))


# -- the key session ---------------------------------------------------------------------


@pytest.fixture
def key_file_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A vault whose user's keys are in a passphrase-protected key file (no keyring)."""
    keystore = Keystore(passphrase=lambda _p, _c: PASSPHRASE.encode(), use_key_file=True,
                        work_factor=10)
    Vault.init(tmp_path / "v", user="an-kf", keystore=keystore)
    monkeypatch.setenv("VAULT_USER", "an-kf")
    monkeypatch.delenv("VAULT_PASSPHRASE_FILE", raising=False)
    plain = tmp_path / "v" / "rows.csv"
    plain.write_bytes(frame(50).to_csv(index=False).encode())
    Vault.open(tmp_path / "v", user="an-kf", keystore=keystore).lock(plain)
    vault_app.close_session()
    yield tmp_path / "v", tmp_path / "v" / "rows.csv.age"
    vault_app.close_session()


def test_keys_unlock_once_per_process_until_the_session_closes(
        key_file_vault: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, locked = key_file_vault
    unlocks: list[bytes] = []
    real_unwrap = keystore_module.unwrap_text

    def counting(data: str | bytes, passphrase: bytes) -> str:
        unlocks.append(passphrase)
        return real_unwrap(data, passphrase)

    monkeypatch.setattr(keystore_module, "unwrap_text", counting)
    vault_app.session(passphrase=PASSPHRASE)
    for _ in range(3):
        with vault_app.open(locked) as handle:
            assert handle.readline() == b"id,group,score,note\n"
    assert fsspec.filesystem("vault").cat(str(root / "rows.csv")).startswith(b"id,")
    assert unlocks == [PASSPHRASE.encode()]  # one scrypt for four opens
    vault_app.close_session()
    with pytest.raises(BadPassphraseError):  # closed: the session's passphrase is gone too
        vault_app.open(locked)
    with vault_app.open(locked, passphrase=PASSPHRASE) as handle:
        assert handle.read(3) == b"id,"
    assert len(unlocks) == 2


def test_a_notebook_without_a_terminal_is_told_how_to_give_the_passphrase(
        key_file_vault: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _root, locked = key_file_vault
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # no terminal
    with pytest.raises(BadPassphraseError) as plain_python:
        vault_app.open(locked)
    # a Jupyter frontend without stdin support: IPython's StdinNotImplementedError
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))

    def no_stdin(_prompt: str = "") -> str:
        raise NotImplementedError("raw_input was called, but this frontend does not support "
                                  "input requests")

    monkeypatch.setattr(analyst_client.getpass, "getpass", no_stdin)
    with pytest.raises(BadPassphraseError) as notebook:
        fsspec.filesystem("vault").open(str(locked)[: -len(".age")])
    for error in (plain_python.value, notebook.value):
        assert "vault_app.session(passphrase=" in str(error)
        assert "VAULT_PASSPHRASE_FILE" in str(error)
        assert error.kind == "usage"
    secret = locked.parent.parent / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("VAULT_PASSPHRASE_FILE", str(secret))
    with vault_app.open(locked) as handle:
        assert handle.read(3) == b"id,"


def test_tab_completion_lists_the_lazy_names() -> None:
    assert {"open", "session", "close_session", "__version__"} <= set(dir(vault_app))
    assert vault_app.open is analyst_client.open
