"""MembersDialog: list members; an admin adds one from pasted public keys and removes one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gui_support import VaultEnv
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.core.errors import KeyFormatError
from vault_app.core.vault import Vault
from vault_app.gui.dialogs.members import AddMemberDialog, MembersDialog, parse_public_keys
from vault_app.gui.tasks import Tasks


def _names(dialog: MembersDialog) -> list[str]:
    return [dialog.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            for r in range(dialog.table.rowCount())]


def test_parse_public_keys_formats() -> None:
    shown = "name: bob\nrecipient: age1abc\nsigning key: vaultsig1xyz\n"
    assert parse_public_keys(shown) == {"name": "bob", "recipient": "age1abc",
                                        "signing_key": "vaultsig1xyz"}
    as_json = json.dumps({"name": "c", "recipient": "age1q", "signing_key": "vaultsig1q"})
    assert parse_public_keys(as_json)["signing_key"] == "vaultsig1q"
    assert parse_public_keys("age1r vaultsig1s") == {"recipient": "age1r",
                                                     "signing_key": "vaultsig1s"}
    with pytest.raises(KeyFormatError, match="secret key"):
        parse_public_keys("recipient: age1x\nAGE-SECRET-KEY-1QQQ")


def test_admin_adds_from_pasted_keys_and_removes(qtbot: Any, vault_env: VaultEnv,
                                                 tasks: Tasks) -> None:
    carol = vault_env.keystore.create("carol")
    dialog = MembersDialog(vault_env.vault, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    assert _names(dialog) == ["alice", "bob"]
    assert dialog.add_button.isEnabled()
    assert not dialog.note.isVisibleTo(dialog)

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    add = dialog.add_dialog
    assert isinstance(add, AddMemberDialog)
    assert not add.add_button.isEnabled()
    add.paste.setPlainText(f"name: carol\nrecipient: {carol.recipient}\n"
                           f"signing key: {carol.signing_public}\n")
    assert add.name_edit.text() == "carol"
    assert add.add_button.isEnabled(), add.problem.text()
    with qtbot.waitSignal(add.accepted, timeout=5000):   # written off the UI thread
        qtbot.mouseClick(add.add_button, Qt.MouseButton.LeftButton)
    assert _names(dialog) == ["alice", "bob", "carol"]
    fresh = Vault.open(vault_env.vault.path, user="alice", keystore=vault_env.keystore)
    added = fresh.registry.member("carol")  # signed by alice, verified on reading
    assert (added.recipient, added.signing_key, added.added_by) == (
        carol.recipient, carol.signing_public, "alice")

    dialog.table.selectRow(_names(dialog).index("bob"))
    assert dialog.remove_button.isEnabled()
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    assert isinstance(box, QMessageBox)
    assert "stay readable to them" in box.informativeText()
    remove = next(b for b in box.buttons() if b.text() == "Remove member")
    with qtbot.waitSignal(tasks.idle, timeout=5000):   # written off the UI thread
        qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert "bob" not in _names(dialog)
    fresh = Vault.open(vault_env.vault.path, user="alice", keystore=vault_env.keystore)
    assert [m.name for m in fresh.members()] == ["alice", "carol"]


def test_wrong_keys_are_refused_before_anything_is_written(qtbot: Any, vault_env: VaultEnv,
                                                           tasks: Tasks) -> None:
    registry = (vault_env.vault.path / ".vault" / "members.json").read_bytes()
    dialog = AddMemberDialog(vault_env.vault, tasks)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.name_edit, "dave")
    qtbot.keyClicks(dialog.recipient_edit, "age1notakey")
    assert "public age key" in dialog.problem.text()
    assert not dialog.add_button.isEnabled()
    dialog.accept()
    assert not tasks.busy()   # nothing was even queued
    assert (vault_env.vault.path / ".vault" / "members.json").read_bytes() == registry


def test_a_member_who_is_not_admin_cannot_change_members(qtbot: Any, vault_env: VaultEnv,
                                                         tasks: Tasks) -> None:
    dialog = MembersDialog(vault_env.as_user(vault_env.other), tasks)
    qtbot.addWidget(dialog)
    assert not dialog.add_button.isEnabled()
    dialog.table.selectRow(0)
    assert not dialog.remove_button.isEnabled()
    assert dialog.note.text() == "Only vault admins can approve, add or remove members."
    text = dialog.copy_my_keys()
    assert json.loads(text)["name"] == "bob"
    assert "SECRET" not in text.upper()


def test_import_public_keys_from_a_file(qtbot: Any, vault_env: VaultEnv, tmp_path: Any,
                                       tasks: Tasks) -> None:
    erin = vault_env.keystore.create("erin")
    exported = tmp_path / "erin.json"
    exported.write_text(json.dumps({"name": "erin", "recipient": erin.recipient,
                                    "signing_key": erin.signing_public}))
    dialog = AddMemberDialog(vault_env.vault, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    picker = dialog.import_dialog
    assert picker is not None
    picker.selectFile(str(exported))
    picker.accept()
    assert (dialog.name_edit.text(), dialog.recipient_edit.text()) == ("erin", erin.recipient)
    dialog.admin_check.setChecked(True)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.member is not None and dialog.member.admin
    fresh = Vault.open(vault_env.vault.path, user="alice", keystore=vault_env.keystore)
    assert fresh.registry.member("erin").admin
