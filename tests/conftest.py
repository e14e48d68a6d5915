"""Shared fixtures: isolated config/data folders, the real keyring, small helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    yield home


@pytest.fixture
def age_cli() -> str:
    path = shutil.which("age")
    if path is None:
        pytest.fail("the `age` command line is required (installed by .ci/run)")
    return path


def run_vault(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real ``vault`` command line in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vault_app.cli", *args], input=input,
                          capture_output=True, env=full_env, cwd=cwd, timeout=300, check=False)
