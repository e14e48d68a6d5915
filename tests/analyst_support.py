"""A vault for the analyst tests, with the acting user's keys where an analyst keeps them.

With ``VAULT_TEST_REAL_KEYRING`` (CI, runtests.sh) the keys are in the real Secret
Service keyring, unprotected, as the first-run flow leaves them; otherwise in a
passphrase-protected key file, opened through ``VAULT_PASSPHRASE_FILE``. Either way
nothing is handed to the code under test: ``vault://`` paths and ``vault_app.open``
find the keys themselves, in this process and in dask's worker processes (which
inherit the environment set here).

After each test the vault folder is checked: every file in it is a locked ``.age``
file, and none holds the plaintext marker (no plaintext and no temp file left behind).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vault_app
from vault_app.core.keystore import Keystore
from vault_app.core.layout import META
from vault_app.core.vault import Vault

REAL_KEYRING = bool(os.environ.get("VAULT_TEST_REAL_KEYRING"))
MARKER = "zq-analyst-marker"
PASSPHRASE = "analyst test passphrase"


@dataclass
class AnalystVault:
    root: Path
    user: str
    vault: Vault

    def url(self, name: str) -> str:
        return f"vault://{self.root / name}"


def frame(rows: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),
        "group": [f"g{i % 3}" for i in range(rows)],
        "score": rng.random(rows),
        "note": [f"{MARKER}-{i}" for i in range(rows)],
    })


def vault_files(root: Path) -> list[Path]:
    """Every regular file under the vault folder, outside its metadata."""
    return sorted(p for p in root.rglob("*") if p.is_file() and META not in p.parts)


def assert_no_plaintext(root: Path) -> None:
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if META not in path.relative_to(root).parts:
            assert path.name.endswith(".age"), f"not a locked file: {path}"
        assert MARKER.encode() not in path.read_bytes(), f"plaintext found in {path}"


def _keystore(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Keystore:
    if REAL_KEYRING:
        return Keystore()
    secret = tmp / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("VAULT_PASSPHRASE_FILE", str(secret))
    return Keystore(passphrase=lambda _p, _c: PASSPHRASE.encode(), use_key_file=True,
                    work_factor=10)


@pytest.fixture
def analyst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnalystVault]:
    """A vault whose first admin is the acting user (``VAULT_USER``), keys stored."""
    user = f"an-{uuid.uuid4().hex[:8]}"
    keystore = _keystore(tmp_path, monkeypatch)
    root = tmp_path / "vault"
    vault, _recovery = Vault.init(root, user=user, keystore=keystore)
    monkeypatch.setenv("VAULT_USER", user)
    vault_app.close_session()
    try:
        yield AnalystVault(root, user, vault)
        assert_no_plaintext(root)
    finally:
        vault_app.close_session()
        if REAL_KEYRING:
            keystore.delete(user)
