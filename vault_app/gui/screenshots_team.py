"""The team screens for ``screenshots.py``: a newcomer asking to join, an admin approving
them, and a vault whose records a sync tool left in conflict.

dave opens alice's vault from his own (throwaway) keyring: the banner says he is not a
member and, since he never opened it before, names its first admin with their key
fingerprint; he asks to join and gets his fingerprint to read out. alice sees the
request in Members and is refused when she types a wrong fingerprint. Then a sync tool's
conflict copies (of the member registry and of a file) turn the banner and the row red,
and Resolve… shows alice what it would repair.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from vault_app.core.keystore import Keystore
    from vault_app.core.vault import Vault
    from vault_app.gui.main_window import MainWindow

SYNCTHING = ".sync-conflict-20261130-101010-ABCDEFG"


def render_team(app: QApplication, tmp: Path, out: Path, vault: Vault, keystore: Keystore,
                patients: Path, size: tuple[int, int]) -> list[Path]:
    from vault_app.core.vault import Vault
    from vault_app.gui.dialogs.join import JoinDialog
    from vault_app.gui.dialogs.members import MembersDialog
    from vault_app.gui.main_window import MainWindow
    from vault_app.gui.memory_keyring import memory_keystore
    from vault_app.gui.screenshots import over_window, wait, wait_for, write

    written: list[Path] = []

    def window_on(opened: Vault) -> MainWindow:
        window = MainWindow(opened)
        window.resize(*size)
        shown: list[bool] = []
        window.banner.shown.connect(lambda: shown.append(True))
        window.show()
        wait_for(app, lambda: bool(shown))
        window.model.request_rows(range(window.model.rowCount()))
        wait_for(app, lambda: not window.tasks.reading_now())
        wait(app, 100)
        return window

    # 8. dave, not a member, opens the vault for the first time
    dave = memory_keystore(tmp / "dave-config")
    window = window_on(Vault.open(vault.path, user="dave", keystore=dave))
    written.append(write(window.grab(), out / "08-not-a-member.png"))

    # 9. she asks to join: the fingerprint to read out
    dialog = JoinDialog(vault.path, "dave", dave, window.tasks, window)
    dialog.show()
    dialog.accept()
    wait_for(app, lambda: dialog.request is not None)
    wait(app, 150)
    written.append(write(over_window(window, dialog), out / "09-ask-to-join.png"))
    said = dialog.fingerprint.text()
    dialog.accept()
    window.close()
    window.tasks.shutdown()

    # 10. alice sees the request; 11. a wrong fingerprint is refused
    window = window_on(vault)
    members = MembersDialog(vault, window.tasks, window)
    members.resize(760, 520)
    members.show()
    wait_for(app, lambda: members.requests_table.rowCount() == 1)
    members.requests_table.selectRow(0)
    wait(app, 150)
    written.append(write(over_window(window, members), out / "10-members-requests.png"))
    members.approve_button.click()
    approve = members.approve_dialog
    assert approve is not None
    approve.fingerprint.setText(said[:-4] + ("0000" if not said.endswith("0000") else "1111"))
    approve.approve_button.click()
    wait(app, 150)
    written.append(write(over_window(window, approve), out / "11-approve-refused.png"))
    approve.reject()
    members.reject()
    window.close()
    window.tasks.shutdown()

    # 12. a sync tool's conflict copies: the registry's (banner) and a file's (red row)
    meta = vault.path / ".vault"
    shutil.copy(meta / "members.json", meta / f"members{SYNCTHING}.json")
    copy = patients.with_name(f"patients_2026.csv{SYNCTHING}.age")
    shutil.copy(patients, copy)
    window = window_on(vault)
    window.select_path(copy)
    wait_for(app, lambda: window.details.signature.text().startswith("Sync conflict"))
    wait(app, 100)
    written.append(write(window.grab(), out / "12-sync-conflict.png"))

    # 13. alice resolves it: the plan, before anything changes
    from vault_app.gui.dialogs.resolve import ResolveDialog

    resolve = ResolveDialog(vault, window.tasks, window)
    resolve.show()
    wait_for(app, lambda: resolve.repairs is not None)
    wait(app, 150)
    written.append(write(over_window(window, resolve), out / "13-resolve-plan.png"))
    resolve.reject()
    window.close()
    window.tasks.shutdown()
    return written
