"""Requests to join in the Members dialog: an admin approves one by typing the fingerprint
the newcomer reads out (a wrong one is refused before anything is written), or rejects
it; forged requests are set aside; the Ask to join dialog shows the fingerprint."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import Any

from gui_support import VaultEnv, find_dialog
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.core.audit import AuditLog
from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault
from vault_app.gui.dialogs.approve import ApproveDialog, normalized
from vault_app.gui.dialogs.join import JoinDialog
from vault_app.gui.dialogs.members import MembersDialog
from vault_app.gui.memory_keyring import MemoryKeyring
from vault_app.gui.tasks import Tasks


def _open(qtbot: Any, vault: Vault, tasks: Tasks) -> MembersDialog:
    dialog = MembersDialog(vault, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.requests_shown, timeout=5000):   # read on the read lane
        dialog.show()
    return dialog


def _requests(dialog: MembersDialog) -> list[list[str]]:
    table = dialog.requests_table
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def _registry(env: VaultEnv) -> bytes:
    return (env.vault.path / ".vault" / "members.json").read_bytes()


def test_normalized_fingerprints() -> None:
    assert normalized("1A2B 3C4D-5e6f 7a8b") == "1a2b:3c4d:5e6f:7a8b"
    assert normalized(" 1a2b3c4d5e6f7a8b ") == "1a2b:3c4d:5e6f:7a8b"
    assert normalized("1a2b:3c4d") == "1a2b:3c4d"   # too short: as typed, refused later


def test_admin_approves_a_request_by_the_fingerprint_read_out(
        qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    _carol_vault, request = Vault.join(vault_env.vault.path, user="carol",
                                       keystore=vault_env.keystore)
    dialog = _open(qtbot, vault_env.vault, tasks)
    ((name, login, _asked, shown),) = _requests(dialog)
    assert (name, shown) == ("carol", request.fingerprint)
    assert login == pwd.getpwuid(os.getuid()).pw_name   # the login that wrote the file
    assert dialog.requests_title.text() == "Asking to join (1)"
    assert not dialog.approve_button.isEnabled()   # nothing chosen yet
    dialog.requests_table.selectRow(0)
    assert dialog.approve_button.isEnabled() and dialog.reject_button.isEnabled()

    qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
    approve = dialog.approve_dialog
    assert isinstance(approve, ApproveDialog)
    assert not approve.approve_button.isEnabled()   # nothing typed yet
    before = _registry(vault_env)
    qtbot.keyClicks(approve.fingerprint, "0000:0000:0000:0000")
    qtbot.mouseClick(approve.approve_button, Qt.MouseButton.LeftButton)
    assert "not the fingerprint of this request" in approve.problem.text()
    assert "Do not approve it" in approve.problem.text()
    assert approve.isVisible() and not tasks.busy()   # refused here, nothing queued
    assert _registry(vault_env) == before

    approve.fingerprint.clear()   # read out in groups, upper case, spaces: all fine
    qtbot.keyClicks(approve.fingerprint, request.fingerprint.upper().replace(":", " "))
    assert approve.problem.text() == ""
    with qtbot.waitSignal(approve.accepted, timeout=10000):   # written on the change lane
        qtbot.mouseClick(approve.approve_button, Qt.MouseButton.LeftButton)
    assert approve.member is not None and not approve.member.admin
    qtbot.waitUntil(lambda: _requests(dialog) == [], timeout=5000)
    names = [dialog.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
             for r in range(dialog.table.rowCount())]
    assert names == ["alice", "bob", "carol"]
    fresh = Vault.open(vault_env.vault.path, user="alice", keystore=vault_env.keystore)
    carol = fresh.registry.member("carol")   # signed by alice, verified on reading
    assert carol.fingerprint() == request.fingerprint and carol.added_by == "alice"
    assert fresh.join_requests() == ([], [])
    added = [r for r in AuditLog(vault_env.vault.path).records() if r.action == "member-add"]
    assert added[-1].details["via"] == "join request"


def test_an_approved_newcomer_can_be_made_admin(qtbot: Any, vault_env: VaultEnv,
                                                tasks: Tasks) -> None:
    _v, request = Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    dialog = _open(qtbot, vault_env.vault, tasks)
    dialog.requests_table.selectRow(0)
    dialog.approve_button.click()
    approve = dialog.approve_dialog
    assert approve is not None
    approve.fingerprint.setText(request.fingerprint)
    approve.admin_check.setChecked(True)
    with qtbot.waitSignal(approve.accepted, timeout=10000):
        approve.approve_button.click()
    fresh = Vault.open(vault_env.vault.path, user="alice", keystore=vault_env.keystore)
    assert fresh.registry.member("carol").admin


def test_admin_rejects_a_request(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    _v, request = Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    before = _registry(vault_env)
    dialog = _open(qtbot, vault_env.vault, tasks)
    dialog.requests_table.selectRow(0)
    qtbot.mouseClick(dialog.reject_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    assert isinstance(box, QMessageBox)
    assert request.fingerprint in box.text() and "audit log" in box.text()
    reject = next(b for b in box.buttons() if b.text() == "Reject request")
    with qtbot.waitSignal(dialog.requests_shown, timeout=10000):   # rejected, then re-read
        qtbot.mouseClick(reject, Qt.MouseButton.LeftButton)
    assert _requests(dialog) == []
    assert _registry(vault_env) == before   # nobody added
    rejected = [r for r in AuditLog(vault_env.vault.path).records()
                if r.action == "join-reject"]
    assert rejected[-1].details["fingerprint"] == request.fingerprint


def test_a_member_sees_requests_but_cannot_approve(qtbot: Any, vault_env: VaultEnv,
                                                   tasks: Tasks) -> None:
    Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    dialog = _open(qtbot, vault_env.as_user("bob"), tasks)
    assert [row[0] for row in _requests(dialog)] == ["carol"]
    dialog.requests_table.selectRow(0)
    assert not dialog.approve_button.isVisibleTo(dialog)
    assert not dialog.reject_button.isVisibleTo(dialog)


def test_forged_requests_are_set_aside(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    _v, request = Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    folder = vault_env.vault.path / ".vault" / "requests"
    data = json.loads((folder / "carol.json").read_text())
    data["name"] = "dave"   # someone renames carol's signed request: the signature breaks
    (folder / "dave.json").write_text(json.dumps(data))
    dialog = _open(qtbot, vault_env.vault, tasks)
    assert [row[0] for row in _requests(dialog)] == ["carol"]
    assert dialog.requests_problems.isVisibleTo(dialog)
    assert "dave.json" in dialog.requests_problems.text()
    assert "never to be approved" in dialog.requests_problems.text()
    assert request.fingerprint in [row[3] for row in _requests(dialog)]


def test_members_dialog_says_when_nobody_asks(qtbot: Any, vault_env: VaultEnv,
                                              tasks: Tasks) -> None:
    dialog = _open(qtbot, vault_env.vault, tasks)
    assert dialog.requests_title.text() == "Asking to join: nobody"
    assert not dialog.requests_table.isVisibleTo(dialog)


def test_add_from_public_keys_shows_the_fingerprint_to_compare(
        qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    from vault_app.core.members import fingerprint
    from vault_app.gui.dialogs.members import AddMemberDialog

    erin = vault_env.keystore.create("erin")
    dialog = AddMemberDialog(vault_env.vault, tasks)
    qtbot.addWidget(dialog)
    assert dialog.fingerprint.text() == ""
    dialog.paste.setPlainText(f"name: erin\nrecipient: {erin.recipient}\n"
                              f"signing key: {erin.signing_public}\n")
    text = dialog.fingerprint.text()
    assert text.startswith(fingerprint(erin.recipient, erin.signing_public))
    assert "erin reads you the same" in text


def test_ask_to_join_dialog_writes_the_request_and_shows_the_fingerprint(
        qtbot: Any, vault_env: VaultEnv, tasks: Tasks, tmp_path: Path) -> None:
    # carol, on her own login: her own keyring (empty so far) and config folder
    carol_keys = Keystore(backend=MemoryKeyring(), config_dir=tmp_path / "carol")
    dialog = JoinDialog(vault_env.vault.path, "carol", carol_keys, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "never leave this login" in dialog.intro.text()
    assert not dialog.fingerprint.isVisible()
    with qtbot.waitSignal(dialog.requested, timeout=10000):   # on the change lane
        qtbot.mouseClick(dialog.ask_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()   # stays open to show the fingerprint
    ((request,), _problems) = vault_env.vault.join_requests()
    assert dialog.fingerprint.text() == request.fingerprint
    assert dialog.fingerprint.isVisible() and "in person or by phone" in dialog.intro.text()
    mine = carol_keys.load("carol")   # made in her keyring, not in the admin's
    assert (request.recipient, request.signing_key) == (mine.recipient, mine.signing_public)
    assert not vault_env.keystore.exists("carol")
    dialog.copy_button.click()
    from PySide6.QtGui import QGuiApplication
    assert QGuiApplication.clipboard().text() == request.fingerprint
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.ask_button.click()   # now "OK"


def test_asking_to_join_a_vault_one_belongs_to_says_so(qtbot: Any, vault_env: VaultEnv,
                                                       tasks: Tasks) -> None:
    dialog = JoinDialog(vault_env.vault.path, "bob", vault_env.keystore, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "errorBox") is not None, timeout=10000)
    box = find_dialog(QMessageBox, "errorBox")
    assert "already a member" in box.informativeText()
    box.close()
    assert dialog.ask_button.isEnabled() and dialog.request is None
