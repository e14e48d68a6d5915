"""The analyst's path: pandas reads locked files via ``vault_app.open``, no plaintext on disk."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.fail
import pandas as pd
import pytest

import vault_app
from vault_app.core.age import encrypt, encrypt_file
from vault_app.core.errors import (
    AccessDeniedError,
    BadPassphraseError,
    NoIdentityMatchError,
    NotAVaultError,
)
from vault_app.core.keystore import Keystore
from vault_app.core.reader import AgeReader
from vault_app.core.recipients.scrypt import ScryptRecipient
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.vault import Vault

IDENTITY = X25519Identity.generate()
MARKER = "zq-secret-marker"


def frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "id": range(rows),
        "name": [f"{MARKER}-{i}" for i in range(rows)],
        "score": [i * 0.5 for i in range(rows)],
    })


def every_file(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def sealed_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temp folder for tempfile too, checked afterwards for any plaintext."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield tmp_path
    assert list(scratch.iterdir()) == []
    for path in every_file(tmp_path):
        assert MARKER.encode() not in path.read_bytes(), f"plaintext found in {path}"


def lock_bytes(folder: Path, name: str, data: bytes) -> Path:
    """Encrypt from memory (encrypt_file needs a plaintext file; that one is removed)."""
    staging = folder / "staging"
    staging.mkdir(exist_ok=True)
    plain = staging / name
    plain.write_bytes(data)
    locked = folder / f"{name}.age"
    encrypt_file(plain, locked, [IDENTITY.recipient()])
    plain.unlink()
    staging.rmdir()
    return locked


def test_read_csv(sealed_tmp: Path) -> None:
    df = frame(100_000)  # about 3 MB: 50 chunks
    locked = lock_bytes(sealed_tmp, "rows.csv", df.to_csv(index=False).encode())
    before = every_file(sealed_tmp)
    with vault_app.open(locked, identities=[IDENTITY]) as f:
        got = pd.read_csv(f)
    pd.testing.assert_frame_equal(got, df)
    with vault_app.open(locked, identities=[IDENTITY]) as f:
        head = pd.read_csv(f, nrows=100)
        assert isinstance(f.raw, AgeReader)
        # the first rows cost what pandas reads at once (256 KiB = 4 chunks), not a scan
        assert f.raw.chunks_decrypted <= 5
    pd.testing.assert_frame_equal(head, df.head(100))
    assert every_file(sealed_tmp) == before == {locked}


def test_read_parquet(sealed_tmp: Path) -> None:
    df = frame(50_000)
    buffer = io.BytesIO()
    df.to_parquet(buffer, engine="pyarrow", row_group_size=10_000)
    locked = lock_bytes(sealed_tmp, "rows.parquet", buffer.getvalue())
    with vault_app.open(locked, identities=[IDENTITY]) as f:
        got = pd.read_parquet(f, engine="pyarrow")
    pd.testing.assert_frame_equal(got, df)
    with vault_app.open(locked, identities=[IDENTITY]) as f:
        one = pd.read_parquet(f, engine="pyarrow", columns=["score"])
    pd.testing.assert_frame_equal(one, df[["score"]])
    assert every_file(sealed_tmp) == {locked}


def test_identity_file_plain_and_passphrase_protected(sealed_tmp: Path) -> None:
    df = frame(50)
    locked = lock_bytes(sealed_tmp, "small.csv", df.to_csv(index=False).encode())
    keys = sealed_tmp / "me.txt"
    keys.write_text(f"# my key\n{IDENTITY}\n")
    with vault_app.open(locked, identity_file=keys) as f:
        pd.testing.assert_frame_equal(pd.read_csv(f), df)
    protected = sealed_tmp / "me.age"
    with protected.open("wb") as out:
        encrypt(io.BytesIO(f"{IDENTITY}\n".encode()), out, [ScryptRecipient(b"pw", 10)],
                armor=True)
    with vault_app.open(locked, identity_file=protected, passphrase="pw") as f:
        pd.testing.assert_frame_equal(pd.read_csv(f), df)
    with pytest.raises(BadPassphraseError):
        vault_app.open(locked, identity_file=protected, passphrase="wrong")
    with vault_app.open(locked, identities=str(IDENTITY)) as f:
        assert f.readline() == b"id,name,score\n"
    with vault_app.open(locked, identities=IDENTITY) as f:
        assert f.read(3) == b"id,"
    with vault_app.open(locked, identities=[str(X25519Identity.generate()), str(IDENTITY)]) as f:
        assert f.read(3) == b"id,"


def test_wrong_identity_is_refused(sealed_tmp: Path) -> None:
    locked = lock_bytes(sealed_tmp, "x.csv", b"a,b\n1,2\n")
    with pytest.raises(NoIdentityMatchError):
        vault_app.open(locked, identities=[X25519Identity.generate()])


def _vault_with_file(root: Path, keystore: Keystore, owner: str,
                     df: pd.DataFrame) -> tuple[Vault, Path]:
    """A vault whose one file was locked by ``owner`` (the plaintext removed by lock)."""
    vault, _recovery = Vault.init(root / "vault", user=owner, keystore=keystore)
    plain = root / "vault" / "rows.csv"
    plain.write_bytes(df.to_csv(index=False).encode())
    info = vault.lock(plain)
    assert not plain.exists()
    return vault, info.path


def test_vault_path_with_passphrase_protected_key_files(sealed_tmp: Path) -> None:
    """No keyring: keys sit in passphrase-protected files; the vault resolves the rest."""
    keystore = Keystore(backend=keyring.backends.fail.Keyring(), use_key_file=True, work_factor=10,
                        passphrase=lambda _prompt, _confirm: b"pw")
    df = frame(2_000)
    vault, locked = _vault_with_file(sealed_tmp, keystore, "pd-alice", df)
    bob = keystore.create("pd-bob")
    vault.add_member("pd-bob", bob.recipient, bob.signing_public)
    with vault_app.open(locked, user="pd-alice", passphrase="pw") as f:
        pd.testing.assert_frame_equal(pd.read_csv(f), df)
    with pytest.raises(AccessDeniedError):
        vault_app.open(locked, user="pd-bob", passphrase="pw")
    vault.share(locked, "pd-bob")
    with vault_app.open(locked, vault=sealed_tmp / "vault", user="pd-bob", passphrase="pw") as f:
        pd.testing.assert_frame_equal(pd.read_csv(f, nrows=10), df.head(10))
    with pytest.raises(NotAVaultError):
        vault_app.open(lock_bytes(sealed_tmp, "outside.csv", b"a\n1\n"), user="pd-alice")


@pytest.mark.keyring
def test_vault_path_with_the_real_keyring(sealed_tmp: Path) -> None:
    if not os.environ.get("VAULT_TEST_REAL_KEYRING"):
        pytest.skip("needs a real Secret Service keyring (VAULT_TEST_REAL_KEYRING=1)")
    keystore = Keystore()
    assert keystore.keyring_available()
    df = frame(500)
    user = f"pd-{uuid.uuid4().hex[:8]}"
    try:
        _vault, locked = _vault_with_file(sealed_tmp, keystore, user, df)
        assert keystore.where(user) == "keyring"
        with vault_app.open(locked, user=user) as f:  # no key given: keyring + vault
            pd.testing.assert_frame_equal(pd.read_csv(f), df)
    finally:
        keystore.delete(user)


def test_import_vault_app_stays_cheap() -> None:
    import subprocess
    import sys
    code = ("import sys, vault_app; print(vault_app.__version__, "
            "sorted(m for m in sys.modules if m.startswith(('vault_app.core', 'cryptography'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert out[1].strip() == "[]"
    assert out[0] == vault_app.__version__
