"""A locked file outside every open vault (issue 17, item 3): a partner's age file or a
vault file copied out. The window offers what can be done with it, not a status line."""

from __future__ import annotations

from pathlib import Path

from gui_support import find_dialog
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from vault_app.core import age
from vault_app.core.keys import generate_identity, parse_recipient
from vault_app.gui.dialogs.preview import PreviewDialog

CSV = b"id,amount\n1,10.5\n2,7\n"


def partner_file(folder: Path, recipient: str, name: str = "from-partner.csv.age") -> Path:
    """A plain age file someone outside the vault encrypted to ``recipient``."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / name.removesuffix(".age")
    plain.write_bytes(CSV)
    out = folder / name
    age.encrypt_file(plain, out, [parse_recipient(recipient)])
    plain.unlink()
    return out


def offered(qtbot, window, path: Path) -> QMessageBox:
    window.open_target(path)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "outsideFile") is not None,
                    timeout=10000)   # the header is read on the read lane first
    return find_dialog(QMessageBox, "outsideFile")


def press(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text() == text).click()


def test_a_partner_file_locked_for_me_can_be_previewed(qtbot, window, vault_env) -> None:
    me = vault_env.keystore.load("alice").recipient
    path = partner_file(vault_env.root / "Downloads", me)
    box = offered(qtbot, window, path)
    assert box.text() == "from-partner.csv.age is a locked file outside your vault."
    assert "It is locked for you" in box.informativeText()
    press(box, "Preview")
    qtbot.waitUntil(lambda: find_dialog(PreviewDialog) is not None)
    dialog = find_dialog(PreviewDialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        pass
    assert dialog.model.rowCount() == 2 and dialog.model.columnCount() == 2
    dialog.reject()


def test_a_partner_file_can_be_unlocked_to_a_folder(qtbot, window, vault_env) -> None:
    me = vault_env.keystore.load("alice").recipient
    path = partner_file(vault_env.root / "Downloads", me)
    out = vault_env.root / "out"
    out.mkdir()
    press(offered(qtbot, window, path), "Unlock to…")
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFolder") is not None)
    dialog = find_dialog(QFileDialog, "chooseFolder")
    dialog.setDirectory(str(out))
    dialog.selectFile(str(out))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        dialog.accept()
    assert (out / "from-partner.csv").read_bytes() == CSV
    assert "Unlocked a copy of from-partner.csv" in window.notice.label.text()


def test_import_locks_a_copy_into_the_vault_and_keeps_the_original(qtbot, window,
                                                                   vault_env) -> None:
    me = vault_env.keystore.load("alice").recipient
    path = partner_file(vault_env.root / "Downloads", me)
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        press(offered(qtbot, window, path), "Import into vault")
    imported = vault_env.vault.path / "from-partner.csv.age"
    assert imported.is_file() and path.is_file()
    assert [e.path for e in window.selected_entries()] == [imported]
    assert vault_env.vault.info(imported).signature == "valid"   # locked the vault's way
    out = vault_env.root / "check"
    out.mkdir()
    assert vault_env.vault.unlock(imported, out).read_bytes() == CSV
    assert not any(window.staging.folder.iterdir())   # no plaintext left in staging


def test_a_file_not_locked_for_me_says_so_and_offers_my_key(qtbot, window,
                                                            vault_env) -> None:
    stranger = generate_identity().recipient()
    path = partner_file(vault_env.root / "Downloads", str(stranger), "theirs.csv.age")
    box = offered(qtbot, window, path)
    me = vault_env.keystore.load("alice").recipient
    assert "It is not locked for you (alice)" in box.informativeText()
    assert me in box.informativeText()
    assert [b.text() for b in box.buttons() if b.text() != "Cancel"] == [
        "Copy my public key"]
    press(box, "Copy my public key")
    assert QApplication.clipboard().text() == me


def test_a_vault_file_copied_out_offers_its_vault(qtbot, vault_env, tmp_path) -> None:
    """The copy's signed record names its vault's recovery key; a vault opened before
    with that key is offered."""
    from vault_app.core.vault import Vault
    from vault_app.gui.main_window import MainWindow

    src = tmp_path / "in" / "r.csv"
    src.parent.mkdir()
    src.write_bytes(CSV)
    copy = tmp_path / "Desktop" / "r.csv.age"
    copy.parent.mkdir()
    copy.write_bytes(vault_env.vault.lock(src).path.read_bytes())
    other, _ = Vault.init(tmp_path / "second", user="alice", keystore=vault_env.keystore)
    window = MainWindow(vault_env.vault)   # this vault is now "opened before"
    qtbot.addWidget(window)
    window.set_vault(other)                # and another one is open now
    box = offered(qtbot, window, copy)
    assert "It comes from the vault vault" in box.informativeText()
    press(box, "Open its vault")
    assert window.vault is not None and window.vault.path == vault_env.vault.path
    window.close()
