"""The window for a team: Ask to join, a request waiting, approval noticed by itself,
a forged request under one's name, the first use of a vault, and the vault's health
(sync conflicts, rollbacks) in the banner and in the rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gui_support import SYNCTHING, VaultEnv, find_dialog, open_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault
from vault_app.core.vault_identity import key_fingerprint
from vault_app.gui.dialogs.join import JoinDialog
from vault_app.gui.dialogs.members import MembersDialog
from vault_app.gui.file_model import Column
from vault_app.gui.main_window import MainWindow
from vault_app.gui.memory_keyring import MemoryKeyring


def lock_into(env: VaultEnv, name: str, data: bytes) -> Path:
    src = env.root / "incoming" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    return env.vault.lock(src).path


def cell(w: MainWindow, path: Path, column: Column) -> str:
    return str(w.model.index(w.model.row_of(path), column).data())


def red(w: MainWindow, path: Path) -> bool:
    color = w.model.index(w.model.row_of(path), Column.NAME).data(
        Qt.ItemDataRole.ForegroundRole)
    return color is not None and color.red() > 150


def test_a_non_member_asks_to_join_and_sees_the_approval(qtbot, vault_env: VaultEnv,
                                                         tmp_path: Path) -> None:
    carol_keys = Keystore(backend=MemoryKeyring(), config_dir=tmp_path / "carol")
    w = open_window(qtbot, Vault.open(vault_env.vault.path, user="carol",
                                      keystore=carol_keys))
    strip = w.banner.membership
    assert strip.isVisible() and "not a member" in strip.label.text()
    assert w.act_join.isEnabled()
    assert not w.banner.health.isVisible()
    ask = strip.button("Ask to join…")
    assert ask is not None
    qtbot.mouseClick(ask, Qt.MouseButton.LeftButton)
    dialog = find_dialog(JoinDialog)
    assert dialog is not None
    with qtbot.waitSignal(w.banner.shown, timeout=10000), \
            qtbot.waitSignal(dialog.requested, timeout=10000):   # then the banner reads again
        qtbot.mouseClick(dialog.ask_button, Qt.MouseButton.LeftButton)
    ((request,), _problems) = vault_env.vault.join_requests()
    assert dialog.fingerprint.text() == request.fingerprint
    dialog.accept()
    assert "waiting for a vault admin" in strip.label.text()
    assert request.fingerprint in strip.label.text()   # checked against her own keys
    assert strip.button("Ask to join…") is None

    # alice approves (elsewhere); carol's window notices by itself, no F5
    vault_env.vault.approve("carol", request.fingerprint)
    qtbot.waitUntil(lambda: not strip.isVisible(), timeout=10000)
    assert "now a member" in w.notice.label.text()
    assert not w.act_join.isEnabled()
    w.tasks.shutdown()


def test_a_request_under_my_name_with_other_keys_is_called_out(
        qtbot, vault_env: VaultEnv, tmp_path: Path) -> None:
    carol_keys = Keystore(backend=MemoryKeyring(), config_dir=tmp_path / "carol")
    carol_keys.create("carol")
    mallory = Keystore(backend=MemoryKeyring(), config_dir=tmp_path / "mallory")
    _v, forged = Vault.join(vault_env.vault.path, user="carol", keystore=mallory)
    w = open_window(qtbot, Vault.open(vault_env.vault.path, user="carol",
                                      keystore=carol_keys))
    text = w.banner.membership.label.text()
    assert "does not hold your keys" in text and "someone else wrote it" in text
    assert forged.fingerprint not in text   # never offered to be read out
    assert w.banner.membership.button("Ask to join…") is not None
    w.tasks.shutdown()


def test_admins_are_told_someone_asks_to_join(qtbot, vault_env: VaultEnv) -> None:
    Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    w = open_window(qtbot, vault_env.vault)
    strip = w.banner.membership
    assert strip.isVisible() and "1 person is asking to join" in strip.label.text()
    members = strip.button("Members…")
    assert members is not None
    members.click()
    dialog = find_dialog(MembersDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.requests_table.rowCount() == 1, timeout=5000)
    dialog.close()
    w.tasks.shutdown()


def test_a_member_sees_no_membership_banner(qtbot, vault_env: VaultEnv) -> None:
    w = open_window(qtbot, vault_env.as_user("bob"))
    assert not w.banner.membership.isVisible() and not w.banner.health.isVisible()
    assert not w.act_join.isEnabled()
    w.tasks.shutdown()


def test_first_use_of_a_vault_names_its_first_admin_once(qtbot, vault_env: VaultEnv,
                                                         tmp_path: Path) -> None:
    # bob on another account: the same vault, never opened from this config folder
    other = Keystore(backend=vault_env.keystore.backend, config_dir=tmp_path / "elsewhere",
                     service=vault_env.keystore.service)
    vault = Vault.open(vault_env.vault.path, user="bob", keystore=other)
    assert vault.first_use is not None
    w = open_window(qtbot, vault)
    strip = w.banner.first_use
    expected = key_fingerprint(vault.config["root_signing_key"])
    assert strip.isVisible()
    assert "first time" in strip.label.text() and "alice" in strip.label.text()
    assert expected in strip.label.text() and "Compare it with alice" in strip.label.text()
    got_it = strip.button("Got it")
    assert got_it is not None
    qtbot.mouseClick(got_it, Qt.MouseButton.LeftButton)
    assert not strip.isVisible()
    w.tasks.shutdown()
    again = open_window(qtbot, Vault.open(vault_env.vault.path, user="bob", keystore=other))
    assert not again.banner.first_use.isVisible()   # shown once
    again.tasks.shutdown()


def test_a_conflict_copy_of_the_registry_shows_a_banner_with_verify(
        qtbot, vault_env: VaultEnv) -> None:
    meta = vault_env.vault.path / ".vault"
    w = open_window(qtbot, vault_env.as_user("bob"))
    assert not w.banner.health.isVisible()
    with qtbot.waitSignal(w.banner.shown, timeout=10000):   # noticed without F5
        shutil.copy(meta / "members.json", meta / f"members{SYNCTHING}.json")
    strip = w.banner.health
    assert strip.isVisible()
    assert "conflict copies of this vault's records" in strip.label.text()
    assert "members.json" in strip.label.text()
    assert strip.button("Resolve…") is None   # bob is no admin
    verify = strip.button("Verify")
    assert verify is not None
    qtbot.mouseClick(verify, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "verifyResult") is not None,
                    timeout=20000)
    box = find_dialog(QMessageBox, "verifyResult")
    assert box.text() == "The vault's own records need attention."
    assert "Syncthing conflict copy" in box.informativeText()
    box.close()
    with qtbot.waitSignal(w.banner.shown, timeout=10000):   # removed: the banner goes
        (meta / f"members{SYNCTHING}.json").unlink()
    assert not strip.isVisible()
    w.tasks.shutdown()


def test_a_sync_conflict_copy_of_a_file_is_red_and_never_valid(
        qtbot, vault_env: VaultEnv) -> None:
    locked = lock_into(vault_env, "data.csv", b"id\n1\n")
    copy = locked.with_name(f"data.csv{SYNCTHING}.age")
    shutil.copy(locked, copy)
    w = open_window(qtbot, vault_env.vault)
    assert w.select_path(copy)
    qtbot.waitUntil(lambda: cell(w, copy, Column.SIGNATURE) == "Sync conflict",
                    timeout=10000)   # its header is read on the read lane
    assert cell(w, copy, Column.STATE) == "Sync conflict"
    assert red(w, copy)
    text = w.details.signature.text()
    assert text.startswith("Sync conflict. A Syncthing conflict copy of data.csv.age"), text
    assert "Valid" not in text
    assert "Do not rely on it" in w.details.signature.toolTip()
    w.tasks.shutdown()


def test_an_older_copy_put_back_is_red_and_named(qtbot, vault_env: VaultEnv) -> None:
    locked = lock_into(vault_env, "trial.csv", b"id\n1\n")
    older = locked.read_bytes()
    vault_env.vault.share(locked, "bob")   # version 2, seen by this account
    w = open_window(qtbot, vault_env.vault)
    w.select_path(locked)
    qtbot.waitUntil(lambda: str(locked) in w.disk.watcher.files(), timeout=5000)
    locked.write_bytes(older)   # someone with write access puts version 1 back
    # the header read again, then the full check (the row says "Checking…" meanwhile)
    qtbot.waitUntil(lambda: cell(w, locked, Column.STATE) == "Older copy put back",
                    timeout=15000)
    assert cell(w, locked, Column.SIGNATURE) == "Older copy put back"
    assert red(w, locked)
    qtbot.waitUntil(lambda: w.details.signature.text().startswith("Older copy put back. "),
                    timeout=5000)
    assert "this account saw version 2" in w.details.signature.text()
    w.tasks.shutdown()


def test_an_open_members_dialog_shows_a_request_as_it_arrives(qtbot, vault_env: VaultEnv
                                                               ) -> None:
    w = open_window(qtbot, vault_env.vault)
    w.act_members.trigger()
    dialog = find_dialog(MembersDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.requests_title.text() == "Asking to join: nobody",
                    timeout=5000)
    Vault.join(vault_env.vault.path, user="carol", keystore=vault_env.keystore)
    qtbot.waitUntil(lambda: dialog.requests_table.rowCount() == 1, timeout=10000)   # no F5
    # the banner learns of it from its own read of the folder: it may come a moment later
    qtbot.waitUntil(lambda: "1 person is asking to join" in w.banner.membership.label.text(),
                    timeout=5000)
    dialog.close()
    w.tasks.shutdown()


def test_my_own_registry_entry_edited_is_a_warning_not_an_invitation(
        qtbot, vault_env: VaultEnv) -> None:
    registry = vault_env.vault.path / ".vault" / "members.json"
    data = json.loads(registry.read_text())
    eve = vault_env.keystore.create("erin")
    for entry in data["members"]:
        if entry["name"] == "bob":
            entry["recipient"] = eve.recipient   # someone swaps bob's key in the registry
    registry.write_text(json.dumps(data))
    w = open_window(qtbot, vault_env.as_user("bob"))
    strip = w.banner.membership
    assert "Your entry (bob) in this vault's member registry does not verify" in \
        strip.label.text()
    assert "signature does not verify" in strip.label.toolTip()
    assert strip.button("Ask to join…") is None and strip.button("Verify") is not None
    assert not w.act_join.isEnabled()
    w.tasks.shutdown()
