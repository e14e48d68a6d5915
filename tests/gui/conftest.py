"""GUI fixtures: offscreen Qt, vaults with real users, and helpers to answer dialogs.

Keys: with VAULT_TEST_REAL_KEYRING=1 (CI) every vault's keys live in the real Secret
Service keyring, under a service name private to the test (removed afterwards). Without
it, widget tests use the in-memory keyring backend (allowed for widget tests by
docs/GUI contract); tests marked ``keyring`` need the real one and skip with a reason.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault
from vault_app.gui.memory_keyring import MemoryKeyring

REAL_KEYRING = os.environ.get("VAULT_TEST_REAL_KEYRING") == "1"

try:  # GUI-B's dialog fixtures, if they exist
    from tests.gui.conftest_dialogs import *  # noqa: F403
except ImportError:
    pass


@dataclass
class VaultEnv:
    """A vault, its owner (alice, the acting user) and a second member (bob)."""

    vault: Vault
    keystore: Keystore
    owner: str
    other: str
    recovery: str
    root: Path

    def as_user(self, name: str) -> Vault:
        return Vault.open(self.vault.path, user=name, keystore=self.keystore)


def make_keystore(config_dir: Path, real: bool) -> tuple[Keystore, Callable[[], None]]:
    if real:
        ks = Keystore(config_dir=config_dir, service=f"dataset-vault-test-{secrets.token_hex(6)}")

        def cleanup() -> None:
            for name in ("alice", "bob"):
                try:
                    ks.delete(name)
                except Exception:
                    pass
        return ks, cleanup
    return Keystore(backend=MemoryKeyring(), config_dir=config_dir), lambda: None


def build_vault(root: Path, *, real: bool) -> tuple[VaultEnv, Callable[[], None]]:
    ks, cleanup = make_keystore(root / "config", real)
    vault, recovery = Vault.init(root / "vault", user="alice", keystore=ks)
    bob = ks.create("bob")
    vault.add_member("bob", bob.recipient, bob.signing_public)
    return VaultEnv(vault, ks, "alice", "bob", recovery, root), cleanup


@pytest.fixture
def vault_env(tmp_path: Path) -> Iterator[VaultEnv]:
    """A vault in the real keyring when available, else in the in-memory backend."""
    env, cleanup = build_vault(tmp_path, real=REAL_KEYRING)
    yield env
    cleanup()


@pytest.fixture
def real_vault_env(tmp_path: Path) -> Iterator[VaultEnv]:
    if not REAL_KEYRING:
        pytest.skip("needs the real keyring: set VAULT_TEST_REAL_KEYRING=1 (CI does)")
    env, cleanup = build_vault(tmp_path, real=True)
    yield env
    cleanup()


_TIMERS: list[QTimer] = []


def answer_later(kind: type[QWidget], act: Callable[[Any], None], *,
                 name: str | None = None) -> list[QWidget]:
    """For code that blocks in a nested event loop: poll for a visible dialog of ``kind``
    and hand it to ``act`` once. The returned list holds the dialog once answered."""
    seen: list[QWidget] = []
    timer = QTimer()
    timer.setInterval(10)

    def poll() -> None:
        dialog = find_dialog(kind, name)
        if dialog is not None:
            timer.stop()
            seen.append(dialog)
            act(dialog)

    timer.timeout.connect(poll)
    timer.start()
    _TIMERS.append(timer)
    return seen


@pytest.fixture(autouse=True)
def _stop_answer_timers() -> Iterator[None]:
    yield
    for timer in _TIMERS:
        timer.stop()
    _TIMERS.clear()


def find_dialog(kind: type[QWidget], name: str | None = None) -> Any:
    """The visible top-level (or window-modal child) dialog of ``kind``, or None."""
    for w in QApplication.allWidgets():
        if isinstance(w, kind) and w.isVisible() and (name is None or w.objectName() == name):
            return w
    return None
