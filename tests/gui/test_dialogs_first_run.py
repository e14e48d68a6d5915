"""FirstRunDialog: keys in the keyring (or a passphrase key file), vault, recovery key once."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import keyring.backends.fail
import keyring.errors
import pytest
from gui_support import REAL_KEYRING
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from vault_app.core.keys import parse_identity
from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault
from vault_app.gui.dialogs.first_run import FirstRunDialog
from vault_app.gui.memory_keyring import MemoryKeyring


def _type_name(qtbot: Any, dialog: FirstRunDialog, name: str) -> None:
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, name)


def _create(qtbot: Any, dialog: FirstRunDialog) -> Vault:
    assert dialog.create_button.isEnabled(), dialog.form_problem.text()
    with qtbot.waitSignal(dialog.tasks.idle, timeout=30000):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    vault = dialog.vault
    assert isinstance(vault, Vault)
    assert dialog.stack.currentIndex() == 1
    return vault


def _save_and_finish(qtbot: Any, dialog: FirstRunDialog, vault: Vault, out: Path) -> None:
    recovery = dialog.recovery_view.toPlainText().strip()
    assert recovery.startswith("AGE-SECRET-KEY-1")
    assert not dialog.finish_button.isEnabled()
    assert dialog.print_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # skipping the key is not possible
    assert dialog.isVisible()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    picker = dialog.save_dialog
    assert isinstance(picker, QFileDialog)
    picker.selectFile(str(out))
    picker.accept()
    assert out.is_file()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
    assert str(parse_identity(lines[0]).recipient()) == vault.recovery_recipient
    assert "readable by you only" in dialog.saved_note.text()
    dialog.stored_check.setChecked(True)
    assert dialog.finish_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.finish_button, Qt.MouseButton.LeftButton)
    assert dialog.recovery_view.toPlainText() == ""
    assert dialog.vault is vault


@pytest.mark.keyring
def test_first_run_with_the_real_keyring(qtbot: Any, tmp_path: Path) -> None:
    if not REAL_KEYRING:
        pytest.skip("needs the real keyring: set VAULT_TEST_REAL_KEYRING=1 (CI does)")
    store = Keystore(config_dir=tmp_path / "config",
                     service=f"dataset-vault-test-{secrets.token_hex(6)}")
    assert store.keyring_available()
    dialog = FirstRunDialog(tmp_path / "data" / "Vault", keystore=store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.pass_edit.isVisibleTo(dialog)
    assert "system keyring" in dialog.keys_note.text()
    _type_name(qtbot, dialog, "carol")
    try:
        vault = _create(qtbot, dialog)
        assert store.where("carol") == "keyring"
        assert not (tmp_path / "config" / "keys").exists()
        (tmp_path / "usb").mkdir()
        _save_and_finish(qtbot, dialog, vault, tmp_path / "usb" / "recovery.txt")
        reopened = Vault.open(tmp_path / "data" / "Vault", user="carol", keystore=store)
        assert [m.name for m in reopened.members()] == ["carol"]
    finally:
        with contextlib.suppress(Exception):
            store.delete("carol")


def test_first_run_in_memory_keyring_name_defaults_to_login(qtbot: Any, tmp_path: Path,
                                                             monkeypatch: Any) -> None:
    monkeypatch.setenv("VAULT_USER", "dana")
    store = Keystore(backend=MemoryKeyring(), config_dir=tmp_path / "config")
    dialog = FirstRunDialog(tmp_path / "Vault", keystore=store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name_edit.text() == "dana"
    _type_name(qtbot, dialog, "bad name!")
    assert dialog.name_edit.text() == "badname"  # the validator refuses spaces and "!"
    _type_name(qtbot, dialog, "dana")
    vault = _create(qtbot, dialog)
    assert not dialog.save_to(tmp_path / "Vault" / "recovery.txt")  # never inside the vault
    assert not (tmp_path / "Vault" / "recovery.txt").exists()
    for box in dialog.findChildren(QFileDialog):
        box.close()
    _save_and_finish(qtbot, dialog, vault, tmp_path / "recovery.txt")


def test_no_keyring_offers_a_passphrase_key_file(qtbot: Any, tmp_path: Path) -> None:
    store = Keystore(backend=keyring.backends.fail.Keyring(), config_dir=tmp_path / "config",
                     work_factor=10)
    dialog = FirstRunDialog(tmp_path / "Vault", keystore=store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "No system keyring is available" in dialog.keys_note.text()
    assert dialog.pass_edit.isVisibleTo(dialog)
    _type_name(qtbot, dialog, "erin")
    assert not dialog.create_button.isEnabled()
    qtbot.keyClicks(dialog.pass_edit, "correct horse battery")
    qtbot.keyClicks(dialog.pass_again, "correct horse batterx")
    assert dialog.form_problem.text() == "The two passphrases differ."
    assert not dialog.create_button.isEnabled()
    dialog.pass_again.clear()
    qtbot.keyClicks(dialog.pass_again, "correct horse battery")
    vault = _create(qtbot, dialog)
    key_file = tmp_path / "config" / "keys" / "erin.age"
    data = key_file.read_text()
    assert data.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert "AGE-SECRET-KEY" not in data and "SIGN-SECRET" not in data.upper()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert dialog.pass_edit.text() == ""
    _save_and_finish(qtbot, dialog, vault, tmp_path / "recovery.txt")


class _LockedKeyring(MemoryKeyring):
    """A keyring backend that is there but locked (as when the user dismissed the unlock
    prompt): every call raises the keyring library's own KeyringLocked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


def test_a_locked_keyring_switches_to_a_key_file(qtbot: Any, tmp_path: Path) -> None:
    store = Keystore(backend=_LockedKeyring(), config_dir=tmp_path / "config", work_factor=10)
    dialog = FirstRunDialog(tmp_path / "Vault", keystore=store)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.pass_edit.isVisibleTo(dialog)
    _type_name(qtbot, dialog, "fay")
    with qtbot.waitSignal(dialog.tasks.idle, timeout=10000):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.stack.currentIndex() == 0
    assert "could not be used" in dialog.keys_note.text()
    assert dialog.pass_edit.isVisibleTo(dialog)
    assert not dialog.create_button.isEnabled()
    assert not (tmp_path / "Vault" / ".vault").exists()
    qtbot.keyClicks(dialog.pass_edit, "a long passphrase")
    qtbot.keyClicks(dialog.pass_again, "a long passphrase")
    vault = _create(qtbot, dialog)
    assert (tmp_path / "config" / "keys" / "fay.age").read_text().startswith(
        "-----BEGIN AGE ENCRYPTED FILE-----")
    _save_and_finish(qtbot, dialog, vault, tmp_path / "recovery.txt")
