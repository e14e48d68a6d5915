"""Helpers for the GUI tests: vaults with two users, finding and answering dialogs."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault
from vault_app.gui.memory_keyring import MemoryKeyring

REAL_KEYRING = os.environ.get("VAULT_TEST_REAL_KEYRING") == "1"

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
            for name in ("alice", "bob", "carol", "erin"):   # the users tests make
                with contextlib.suppress(Exception):
                    ks.delete(name)
        return ks, cleanup
    return Keystore(backend=MemoryKeyring(), config_dir=config_dir), lambda: None


def build_vault(root: Path, *, real: bool) -> tuple[VaultEnv, Callable[[], None]]:
    ks, cleanup = make_keystore(root / "config", real)
    if real:  # never fall back silently: CI must exercise the Secret Service keyring
        assert ks.keyring_available(), f"no usable keyring: {ks.backend!r}"
    vault, recovery = Vault.init(root / "vault", user="alice", keystore=ks)
    bob = ks.create("bob")
    vault.add_member("bob", bob.recipient, bob.signing_public)
    return VaultEnv(vault, ks, "alice", "bob", recovery, root), cleanup


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


def find_dialog(kind: type[QWidget], name: str | None = None) -> Any:
    """The visible top-level (or window-modal child) dialog of ``kind``, or None."""
    for w in QApplication.allWidgets():
        if isinstance(w, kind) and w.isVisible() and (name is None or w.objectName() == name):
            return w
    return None


def stop_answer_timers() -> None:
    for timer in _TIMERS:
        timer.stop()
    _TIMERS.clear()


#: A Syncthing conflict copy's suffix, as the team tests plant them.
SYNCTHING = ".sync-conflict-20261130-101010-ABCDEFG"


def open_window(qtbot: Any, vault: Vault) -> Any:
    """The window on ``vault``, once its state has been read and shown."""
    from vault_app.gui.main_window import MainWindow

    w = MainWindow(vault)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.banner.shown, timeout=10000):
        w.show()
    return w
