"""The window as a vault admin in their own OS login: approve a request to join.

Not collected by the project's test run: ``tests/team/test_team_gui.py`` runs it as the
OS user bob (an admin of the vault), with the team venv's pytest, offscreen, in bob's own
D-Bus session and keyring (``.ci/team-setup`` copies it to the team folder). carol, another
OS user, has asked to join; she read her fingerprint out (``VAULT_TEAM_FINGERPRINT``).
bob opens the vault (``VAULT_TEAM_VAULT``) in the main window, is told someone is asking
to join, opens Members from the banner, sees carol's request (written by the login
carol, with her fingerprint), and approves it by typing the fingerprint.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from vault_app.core.vault import Vault
from vault_app.gui.dialogs.members import MembersDialog
from vault_app.gui.main_window import MainWindow


def _requests(dialog: MembersDialog) -> list[tuple[str, str, str]]:
    table = dialog.requests_table
    return [(table.item(r, 0).text(), table.item(r, 1).text(), table.item(r, 3).text())
            for r in range(table.rowCount())]


def test_an_admin_approves_a_request_in_the_window(qtbot: Any) -> None:
    root = Path(os.environ["VAULT_TEAM_VAULT"])
    said = os.environ["VAULT_TEAM_FINGERPRINT"]   # what carol read out
    vault = Vault.open(root, user="bob")          # bob's keys: his own login's keyring
    window = MainWindow(vault)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.banner.shown, timeout=30000):
        window.show()
    strip = window.banner.membership
    assert "1 person is asking to join" in strip.label.text()
    assert not window.banner.health.isVisible()
    members = strip.button("Members…")
    assert members is not None
    qtbot.mouseClick(members, Qt.MouseButton.LeftButton)
    dialog = window.findChild(MembersDialog)
    assert isinstance(dialog, MembersDialog)
    qtbot.waitUntil(lambda: dialog.requests_table.rowCount() == 1, timeout=30000)
    assert _requests(dialog) == [("carol", "carol", said)]

    dialog.requests_table.selectRow(0)
    qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
    approve = dialog.approve_dialog
    assert approve is not None and approve.isVisible()
    assert "written by the login carol" in approve.about.text()
    qtbot.keyClicks(approve.fingerprint, said)
    with qtbot.waitSignal(approve.accepted, timeout=60000):   # the change lane writes it
        qtbot.mouseClick(approve.approve_button, Qt.MouseButton.LeftButton)
    assert approve.member is not None and approve.member.name == "carol"
    qtbot.waitUntil(lambda: _requests(dialog) == [], timeout=30000)
    names = {dialog.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
             for r in range(dialog.table.rowCount())}
    assert names == {"alice", "bob", "carol"}
    qtbot.waitUntil(lambda: not strip.isVisible(), timeout=30000)   # nobody waits now
    dialog.close()
    window.tasks.shutdown()
