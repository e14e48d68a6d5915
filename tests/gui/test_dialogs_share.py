"""ShareDialog driven as a user: pick a role, read what will happen, Apply; check the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gui_support import VaultEnv
from PySide6.QtCore import Qt

from vault_app.core.errors import AccessDeniedError, NoIdentityMatchError
from vault_app.core.vault import Role, Vault
from vault_app.gui.dialogs.share import NO_ACCESS, ShareDialog
from vault_app.gui.tasks import Tasks

DATA = b"id,diagnosis\n1,flu\n2,cold\n" * 2000


def _locked(env: VaultEnv) -> Path:
    src = env.root / "patients.csv"
    src.write_bytes(DATA)
    return env.vault.lock(src).path


def _dialog_as(vault: Vault, locked: Path, tasks: Tasks) -> ShareDialog:
    """What the window does: read the header, then open the dialog on it."""
    return ShareDialog(vault, vault.info(locked), tasks)


def _choose(dialog: ShareDialog, user: str, value: str) -> None:
    combo = dialog.combos[user]
    combo.setCurrentIndex(combo.findData(value))


def _read_as(env: VaultEnv, user: str, locked: Path) -> bytes:
    with env.as_user(user).open_reader(locked) as reader:
        return bytes(reader.read())


def test_share_then_remove(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    locked = _locked(vault_env)
    bob = vault_env.other
    dialog = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.windowTitle() == "Share patients.csv"
    assert dialog.combos["alice"].currentData() == Role.OWNER.value
    assert dialog.combos[bob].currentData() == NO_ACCESS
    assert not dialog.apply_button.isEnabled()

    _choose(dialog, bob, Role.READER.value)
    assert "bob will get access to patients.csv as a reader." in dialog.summary.text()
    assert "header only" in dialog.summary.text()
    assert dialog.apply_button.isEnabled()
    with qtbot.waitSignal(dialog.applied, timeout=20000) as applied:
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert applied.args[0].acl[bob] == Role.READER
    assert dialog.result() == ShareDialog.DialogCode.Accepted
    assert vault_env.vault.info(locked).acl == {"alice": Role.OWNER, bob: Role.READER}
    assert _read_as(vault_env, bob, locked) == DATA

    header_before = locked.read_bytes()[:200]
    again = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(again)
    again.show()
    assert again.combos[bob].currentData() == Role.READER.value
    row = next(r for r in range(again.table.rowCount())
               if again.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == bob)
    again.table.selectRow(row)
    assert again.remove_button.isEnabled()
    qtbot.mouseClick(again.remove_button, Qt.MouseButton.LeftButton)
    summary = again.summary.text()
    assert "bob will lose access" in summary
    assert "re-encrypted with a fresh key" in summary
    assert "no tool can reach those" in summary
    with qtbot.waitSignal(again.applied, timeout=20000):
        qtbot.mouseClick(again.apply_button, Qt.MouseButton.LeftButton)
    info = vault_env.vault.info(locked)
    assert bob not in info.acl and bob not in info.readers
    assert locked.read_bytes()[:200] != header_before
    assert _read_as(vault_env, "alice", locked) == DATA
    with pytest.raises((NoIdentityMatchError, AccessDeniedError)):
        _read_as(vault_env, bob, locked)


def test_the_last_owner_cannot_be_removed(qtbot: Any, vault_env: VaultEnv,
                                          tasks: Tasks) -> None:
    locked = _locked(vault_env)
    dialog = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    _choose(dialog, "alice", Role.READER.value)
    assert "at least one owner" in dialog.summary.text()
    assert not dialog.apply_button.isEnabled()
    _choose(dialog, vault_env.other, Role.OWNER.value)
    assert dialog.apply_button.isEnabled()


def test_a_reader_sees_but_cannot_change(qtbot: Any, vault_env: VaultEnv,
                                         tasks: Tasks) -> None:
    locked = _locked(vault_env)
    vault_env.vault.share(locked, vault_env.other, Role.READER)
    dialog = _dialog_as(vault_env.as_user(vault_env.other), locked, tasks)
    qtbot.addWidget(dialog)
    assert "Only the owners of patients.csv can change who reads it." in dialog.intro.text()
    assert "You are a reader." in dialog.intro.text()
    assert not any(c.isEnabled() for c in dialog.combos.values())
    assert not dialog.apply_button.isEnabled()


def test_cancel_while_queued_changes_nothing(qtbot: Any, vault_env: VaultEnv,
                                             tasks: Tasks) -> None:
    import threading

    locked = _locked(vault_env)
    gate = threading.Event()
    tasks.change(lambda progress, cancel: gate.wait(10), label="an earlier lock")
    dialog = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    _choose(dialog, vault_env.other, Role.EDITOR.value)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert not dialog.cancel_button.isEnabled()  # no closing while it is queued
    with qtbot.waitSignal(tasks.idle, timeout=10000):
        tasks.cancel_all()
        gate.set()
    qtbot.waitUntil(dialog.cancel_button.isEnabled)   # the file is read again meanwhile
    assert vault_env.other not in vault_env.vault.info(locked).acl
    assert dialog.combos[vault_env.other].currentData() == NO_ACCESS
    assert dialog.cancel_button.isEnabled()
    assert dialog.isVisible() or dialog.result() == 0


def test_failure_is_shown_and_the_dialog_stays(qtbot: Any, vault_env: VaultEnv,
                                               tasks: Tasks) -> None:
    from PySide6.QtWidgets import QMessageBox

    locked = _locked(vault_env)
    dialog = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    _choose(dialog, vault_env.other, Role.READER.value)
    moved = locked.with_name("elsewhere.bin")
    locked.rename(moved)  # someone moved the file meanwhile
    try:
        with qtbot.waitSignal(tasks.task_failed, timeout=10000):
            qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
        boxes = [b for b in dialog.findChildren(QMessageBox) if b.objectName() == "errorBox"]
        assert boxes and boxes[0].isVisible()
        assert "Traceback" not in boxes[0].text()
        assert dialog.isVisible()
        boxes[0].close()
    finally:
        moved.rename(locked)


def test_handing_ownership_over(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    """alice makes bob the owner and herself a reader: her own change must come last."""
    locked = _locked(vault_env)
    dialog = _dialog_as(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    _choose(dialog, "alice", Role.READER.value)  # chosen first on purpose
    _choose(dialog, vault_env.other, Role.OWNER.value)
    assert "alice will become a reader (now owner)." in dialog.summary.text()
    with qtbot.waitSignal(dialog.applied, timeout=20000):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert vault_env.vault.info(locked).acl == {"alice": Role.READER,
                                                vault_env.other: Role.OWNER}
    assert _read_as(vault_env, vault_env.other, locked) == DATA
