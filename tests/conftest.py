"""Shared fixtures: isolated config/data folders, the real keyring.

Helper functions live in tests/support.py (import them with `from support import ...`:
`from conftest import` is ambiguous once tests/gui has a conftest of its own).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own config and data folders (never the developer's own)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("VAULT_DATA_HOME", str(home / "data"))
    # keyring entries of one test never meet another's (one shared Secret Service)
    monkeypatch.setenv("VAULT_KEYRING_SERVICE", f"dataset-vault-test-{home.name}-{os.getpid()}")
    yield home


@pytest.fixture
def age_cli() -> str:
    path = shutil.which("age")
    if path is None:
        pytest.fail("the `age` command line is required (installed by .ci/run)")
    return path
