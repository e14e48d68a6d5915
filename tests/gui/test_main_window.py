"""The main window driven as a user would: toolbar clicks, shortcuts, context menu,
dialogs answered; files checked on disk afterwards."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from gui_support import VaultEnv, find_dialog
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QToolButton

from vault_app.gui.dialogs.settings import Settings
from vault_app.gui.file_model import Column
from vault_app.gui.main_window import MainWindow


def plain(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def lock_into(env: VaultEnv, name: str, data: bytes, *, user: str | None = None) -> Path:
    vault = env.as_user(user) if user else env.vault
    return vault.lock(plain(env.root / "incoming", name, data)).path


def headers_asked(w: MainWindow) -> int:
    """How many headers the window has asked to read (each file at most once)."""
    return sum(e.requested for e in w.model.entries())


def tool_button(w: MainWindow, action) -> QToolButton:
    button = w.toolbar.widgetForAction(action)
    assert isinstance(button, QToolButton)
    return button


def select(qtbot, w: MainWindow, path: Path) -> None:
    assert w.select_path(path)
    assert [e.path for e in w.selected_entries()] == [path]


def press_button(box: QMessageBox, text: str) -> None:
    for b in box.buttons():
        if b.text() == text:
            b.click()
            return
    raise AssertionError(f"no button {text!r} in {[b.text() for b in box.buttons()]}")


def test_lists_files_with_details_loaded_lazily(qtbot, vault_env: VaultEnv) -> None:
    locked = lock_into(vault_env, "patients.csv", b"id,name\n1,a\n")
    vault_env.vault.share(locked, "bob")
    plain(vault_env.vault.path, "notes.txt", b"plain text")
    w = MainWindow(vault_env.vault)
    qtbot.addWidget(w)
    w.show()
    assert w.model.rowCount() == 2
    assert w.stack.currentWidget() is w.view
    assert w.count_label.text() == "1 locked file, 1 not locked"
    row = w.model.row_of(locked)
    with qtbot.waitSignal(w.model.details_loaded, timeout=5000,
                          check_params_cb=lambda p: p == locked):
        select(qtbot, w, locked)
    idx = w.model.index(row, Column.SIGNATURE)
    assert w.model.data(idx) == "Valid"
    assert w.model.data(w.model.index(row, Column.OWNER)) == "alice"
    assert w.model.data(w.model.index(row, Column.STATE)) == "Locked"
    assert w.details.title.text() == "patients.csv"
    assert w.details.author.text() == "alice"
    assert "alice" in w.details.signature.text()
    acl = w.details.acl
    users = [acl.topLevelItem(i).text(0) for i in range(acl.topLevelItemCount())]
    assert users == ["alice", "bob"]
    history = w.details.history
    qtbot.waitUntil(lambda: history.topLevelItemCount() == 2)   # read off the UI thread
    lines = [history.topLevelItem(i).text(1) for i in range(history.topLevelItemCount())]
    assert lines == ["alice shared with bob (reader)", "alice locked"]
    w.close()


def test_empty_vault_shows_drop_hint_and_lock_button_opens_chooser(qtbot, window) -> None:
    assert window.stack.currentWidget() is window.empty
    assert window.empty.headline.text() == "Drop files here to lock them"
    qtbot.mouseClick(window.empty.lock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFiles") is not None)
    find_dialog(QFileDialog, "chooseFiles").reject()


def test_lock_from_toolbar_with_file_chooser(qtbot, window, vault_env: VaultEnv) -> None:
    src = plain(vault_env.root / "outside", "results.csv", b"a,b\n" * 5000)
    qtbot.mouseClick(tool_button(window, window.act_lock), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFiles") is not None)
    dialog = find_dialog(QFileDialog, "chooseFiles")
    dialog.setDirectory(str(src.parent))
    dialog.selectFile(str(src))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        dialog.accept()
    dest = vault_env.vault.path / "results.csv.age"
    assert dest.is_file() and not src.exists()
    out = vault_env.root / "check"
    out.mkdir()
    assert vault_env.vault.unlock(dest, out).read_bytes() == b"a,b\n" * 5000
    assert window.model.row_of(dest) is not None
    assert window.stack.currentWidget() is window.view


def test_lock_selected_plain_file_in_vault_with_shortcut(qtbot, window, vault_env) -> None:
    src = plain(vault_env.vault.path, "raw.tsv", b"x\ty\n")
    window.refresh()
    select(qtbot, window, src)
    assert window.model.data(window.model.index(window.model.row_of(src), Column.STATE)) \
        == "Not locked"
    window.view.setFocus()
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        qtbot.keyClick(window.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not src.exists()
    assert (vault_env.vault.path / "raw.tsv.age").is_file()
    assert window.model.row_of(src) is None
    assert window.count_label.text() == "1 locked file"


def test_unlock_to_chosen_folder_with_shortcut(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "data.csv", b"1,2,3\n" * 1000)
    window.refresh()
    select(qtbot, window, locked)
    target = vault_env.root / "unlocked"
    target.mkdir()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFolder") is not None)
    dialog = find_dialog(QFileDialog, "chooseFolder")
    dialog.setDirectory(str(target))
    dialog.selectFile(str(target))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        dialog.accept()
    assert (target / "data.csv").read_bytes() == b"1,2,3\n" * 1000
    assert locked.is_file()


def test_unlock_asks_before_replacing(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "data.csv", b"new")
    window.refresh()
    target = vault_env.root / "unlocked"
    existing = plain(target, "data.csv", b"old")
    window.unlock_to([window.model.entry(window.model.row_of(locked))], target)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None)
    box = find_dialog(QMessageBox, "confirm")
    assert box.windowTitle() == "Replace existing files?"
    press_button(box, "Cancel")
    assert not window.tasks.busy() and existing.read_bytes() == b"old"
    window.unlock_to([window.model.entry(window.model.row_of(locked))], target)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None)
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        press_button(find_dialog(QMessageBox, "confirm"), "Replace")
    assert existing.read_bytes() == b"new"


def test_unlock_without_access_shows_error_dialog(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "bobs.csv", b"secret", user="bob")
    window.refresh()
    with qtbot.waitSignal(window.model.details_loaded, timeout=5000):
        select(qtbot, window, locked)
    assert window.model.index(window.model.row_of(locked), Column.STATE).data() == "No access"
    assert window.details.state.text() == "Locked, and not shared with you: ask bob."
    assert not window.act_unlock.isEnabled() and not window.act_preview.isEnabled()
    target = vault_env.root / "out"   # (the window no longer offers it; the core refuses)
    target.mkdir()
    window.unlock_to(window.selected_entries(), target)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "errorBox") is not None, timeout=20000)
    box = find_dialog(QMessageBox, "errorBox")
    assert box.windowTitle() == "You don't have access to this file"
    assert "Traceback" not in box.text()
    assert list(target.iterdir()) == []
    box.accept()


def test_revoke_from_context_menu(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "shared.csv", b"r,o,w\n" * 100)
    vault_env.vault.share(locked, "bob")
    window.refresh()
    with qtbot.waitSignal(window.model.details_loaded, timeout=5000):
        select(qtbot, window, locked)
    menu = window.build_context_menu()
    revoke = next(a for a in menu.actions() if a.text() == "Revoke…")
    revoke.trigger()
    qtbot.waitUntil(lambda: find_dialog(QInputDialog, "chooseReader") is not None)
    chooser = find_dialog(QInputDialog, "chooseReader")
    assert chooser.comboBoxItems() == ["bob"]
    chooser.setTextValue("bob")
    chooser.accept()
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None)
    box = find_dialog(QMessageBox, "confirm")
    assert "re-encrypted with a fresh key" in box.informativeText()
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        press_button(box, "Revoke and re-encrypt")
    info = vault_env.vault.info(locked)
    assert "bob" not in info.readers and info.signature == "valid"
    out = vault_env.root / "as-bob"
    out.mkdir()
    from vault_app.core.errors import VaultError
    with pytest.raises(VaultError):
        vault_env.as_user("bob").unlock(locked, out)


def test_context_menu_opens_on_right_click(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "a.csv", b"a")
    window.refresh()
    select(qtbot, window, locked)
    rect = window.view.visualRect(window.proxy.mapFromSource(
        window.model.index(window.model.row_of(locked), 0)))
    window.view.customContextMenuRequested.emit(rect.center())
    qtbot.waitUntil(lambda: any(m.isVisible() and m.accessibleName() == "File actions"
                                for m in window.findChildren(type(window.build_context_menu()))))
    menu = next(m for m in window.findChildren(type(window.build_context_menu()))
                if m.isVisible())
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:3] == ["Unlock to…", "Preview", "Share…"]
    assert "Reveal in File Manager" in texts and "Verify" in texts
    menu.close()


def test_verify_reports_a_tampered_file(qtbot, window, vault_env) -> None:
    """Issue 17: the list and the details never say "Valid" for what Verify found bad."""
    good = lock_into(vault_env, "good.csv", b"fine" * 1000)
    bad = lock_into(vault_env, "bad.csv", b"evil" * 1000)
    data = bytearray(bad.read_bytes())
    data[-100] ^= 1   # the payload: the header, and so its signature, still reads fine
    bad.write_bytes(bytes(data))
    window.refresh()
    with qtbot.waitSignal(window.model.details_loaded, timeout=5000,
                          check_params_cb=lambda p: p == bad):
        select(qtbot, window, bad)
    row = window.model.row_of(bad)
    assert window.model.index(row, Column.SIGNATURE).data() == "Valid"   # header only
    qtbot.mouseClick(tool_button(window, window.act_verify), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "verifyResult") is not None,
                    timeout=20000)   # verify reads on the read lane
    box = find_dialog(QMessageBox, "verifyResult")
    assert box.windowTitle() == "Verify"
    assert box.text() == "1 of 1 file(s) need attention."
    assert "Changed after it was signed" in box.informativeText()
    assert "bad.csv" in box.detailedText() and "good.csv" not in box.detailedText()
    box.accept()
    assert window.model.index(row, Column.SIGNATURE).data() == "Invalid"
    assert window.model.index(row, Column.STATE).data() == "Not trusted"
    red = window.model.index(row, Column.NAME).data(Qt.ItemDataRole.ForegroundRole)
    assert red is not None and red.red() > 150 and red.green() < 100
    assert "Changed after it was signed" in window.details.signature.text()
    window.refresh()   # F5 reads the header again: still not "Valid"
    assert window.model.index(row, Column.SIGNATURE).data() == "Invalid"
    select(qtbot, window, good)
    window.act_verify.trigger()
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "verifyResult") is not None,
                    timeout=20000)
    assert find_dialog(QMessageBox, "verifyResult").text() == "All 1 file(s) are fine."
    good_row = window.model.row_of(good)
    assert window.model.index(good_row, Column.SIGNATURE).data() == "Valid"


def test_reveal_opens_the_folder(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "a.csv", b"a")
    window.refresh()
    opened: list[QUrl] = []
    window.url_opener = opened.append
    select(qtbot, window, locked)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert opened == [QUrl.fromLocalFile(str(locked.parent))]


def test_open_vault_action(qtbot, window, vault_env, tmp_path) -> None:
    from vault_app.core.vault import Vault

    other, _ = Vault.init(tmp_path / "second", user="alice", keystore=vault_env.keystore)
    other.lock(plain(tmp_path / "in", "x.csv", b"x"))
    window.act_open_vault.trigger()
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFolder") is not None)
    dialog = find_dialog(QFileDialog, "chooseFolder")
    dialog.setDirectory(str(other.path))
    dialog.selectFile(str(other.path))
    dialog.accept()   # the vault opens at once (its listing is a quick scan)
    assert window.vault.path == other.path
    assert window.model.rowCount() == 1
    assert window.windowTitle() == "second — Dataset Vault"


def test_open_folder_that_is_not_a_vault_shows_error(qtbot, window, tmp_path) -> None:
    (tmp_path / "nothing").mkdir()
    assert not window.open_vault_at(tmp_path / "nothing")
    box = find_dialog(QMessageBox, "errorBox")
    assert box is not None and box.windowTitle() == "Not a vault"
    box.accept()


def test_filter_box_and_sorting(qtbot, window, vault_env) -> None:
    for name, size in (("alpha.csv", 30), ("beta.csv", 10), ("gamma.txt", 20)):
        lock_into(vault_env, name, b"x" * size)
    window.refresh()
    qtbot.keyClicks(window.filter_edit, "CSV")
    assert window.proxy.rowCount() == 2
    window.filter_edit.clear()
    assert window.proxy.rowCount() == 3
    window.view.sortByColumn(Column.SIZE, Qt.SortOrder.DescendingOrder)
    names = [window.proxy.index(r, Column.NAME).data() for r in range(3)]
    assert names == ["alpha.csv", "gamma.txt", "beta.csv"]
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus()


def test_actions_follow_the_selection(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "a.csv", b"a")
    window.refresh()
    window.view.clearSelection()
    assert not window.act_unlock.isEnabled() and not window.act_share.isEnabled()
    select(qtbot, window, locked)
    assert window.act_unlock.isEnabled() and window.act_preview.isEnabled()
    assert window.act_share.isEnabled() and window.act_revoke.isEnabled()
    for act in (window.act_lock, window.act_unlock, window.act_preview, window.act_share,
                window.act_revoke, window.act_verify, window.act_members):
        assert tool_button(window, act).toolTip()
    assert window.view.accessibleName() and window.filter_edit.accessibleName()


def test_open_target_locked_file_offers_unlock_or_preview(qtbot, window, vault_env) -> None:
    locked = lock_into(vault_env, "results.parquet", b"PAR1")
    window.refresh()
    box = window.open_target(locked) or find_dialog(QMessageBox, "offerUnlock")
    box = find_dialog(QMessageBox, "offerUnlock")
    assert [b.text() for b in box.buttons() if b.text() != "Cancel"] == ["Unlock to…", "Preview"]
    assert [e.path for e in window.selected_entries()] == [locked]
    press_button(box, "Unlock to…")
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFolder") is not None)
    find_dialog(QFileDialog, "chooseFolder").reject()


def test_open_target_plain_file_offers_lock(qtbot, window, vault_env) -> None:
    src = plain(vault_env.root / "downloads", "export.csv", b"q,r\n")
    window.open_target(src)
    box = find_dialog(QMessageBox, "confirm")
    assert box.windowTitle() == "Lock this file?"
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        press_button(box, "Lock")
    assert not src.exists() and (vault_env.vault.path / "export.csv.age").is_file()


def test_ten_thousand_files_open_without_reading_every_header(qtbot, vault_env) -> None:
    seed = lock_into(vault_env, "seed.csv", b"a,b\n1,2\n")
    folder = vault_env.vault.path / "bulk"
    folder.mkdir()
    for i in range(10_000):
        os.link(seed, folder / f"part-{i:05d}.csv.age")
    start = time.perf_counter()
    w = MainWindow(vault_env.vault)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    opened = time.perf_counter() - start
    assert w.model.rowCount() == 10_001
    qtbot.waitUntil(lambda: headers_asked(w) > 0)
    qtbot.waitUntil(lambda: not w.tasks.reading_now(), timeout=10000)
    qtbot.wait(50)  # nothing more may be requested
    visible_guess = w.view.viewport().height() // w.view.verticalHeader().defaultSectionSize()
    assert 0 < headers_asked(w) <= visible_guess + 20, headers_asked(w)
    first = headers_asked(w)
    w.view.scrollToBottom()   # scrolling reads the headers of the rows that come into view
    qtbot.waitUntil(lambda: headers_asked(w) > first)
    last = w.model.entry(w.proxy.mapToSource(w.proxy.index(w.proxy.rowCount() - 1, 0)).row())
    assert last.requested
    assert headers_asked(w) <= 2 * (visible_guess + 20)
    w.view.sortByColumn(Column.NAME, Qt.SortOrder.DescendingOrder)
    qtbot.keyClicks(w.filter_edit, "part-0999")
    assert w.proxy.rowCount() == 10
    print(f"\n10,001 files: window shown in {opened * 1000:.0f} ms, "
          f"{headers_asked(w)} headers read")
    w.close()
    shutil.rmtree(folder)


def test_double_click_previews_locked_and_locks_plain(qtbot, window, vault_env) -> None:
    src = plain(vault_env.vault.path, "loose.csv", b"1\n")
    window.refresh()
    index = window.proxy.mapFromSource(window.model.index(window.model.row_of(src), 0))
    select(qtbot, window, src)
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.view.doubleClicked.emit(index)
    assert (vault_env.vault.path / "loose.csv.age").is_file()


def test_menus_hold_every_action(window) -> None:
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["&File", "&Actions", "&Vault", "&Help"]
    texts = {a.text() for m in menus.values() for a in m.actions()}
    assert {"Lock…", "Unlock to…", "Preview", "Share…", "Revoke…", "Verify",
            "Reveal in File Manager", "Open Vault…", "Members…", "Settings…"} <= texts


def test_preview_with_shortcut_shows_first_rows(qtbot, window, vault_env) -> None:
    from vault_app.gui.dialogs.preview import PreviewDialog

    rows = "".join(f"{i},name{i}\n" for i in range(500))
    locked = lock_into(vault_env, "people.csv", ("id,name\n" + rows).encode())
    window.refresh()
    select(qtbot, window, locked)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: find_dialog(PreviewDialog) is not None)
    dialog = find_dialog(PreviewDialog)
    if dialog.preview is None:
        with qtbot.waitSignal(dialog.loaded, timeout=10000):
            pass
    assert dialog.preview.columns[:2] == ["id", "name"]
    assert dialog.model.index(3, 1).data() == "name3"
    assert not (vault_env.vault.path / "people.csv").exists()   # nothing written
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)


def test_share_from_toolbar_with_share_dialog(qtbot, window, vault_env) -> None:
    from vault_app.gui.dialogs.share import ShareDialog

    locked = lock_into(vault_env, "cohort.csv", b"a,b\n1,2\n")
    window.refresh()
    select(qtbot, window, locked)
    qtbot.mouseClick(tool_button(window, window.act_share), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(ShareDialog) is not None)
    dialog = find_dialog(ShareDialog)
    combo = dialog.combos["bob"]
    combo.setCurrentIndex(combo.findData("reader"))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert vault_env.vault.info(locked).readers == ["alice", "bob"]
    row = window.model.row_of(locked)
    assert window.model.index(row, Column.READERS).data() == "alice, bob"
    out = vault_env.root / "bob-out"
    out.mkdir()
    assert vault_env.as_user("bob").unlock(locked, out).read_bytes() == b"a,b\n1,2\n"


def test_closing_while_locking_asks_and_stopping_leaves_nothing_half_written(
        qtbot, window, vault_env) -> None:
    src = plain(vault_env.root / "big", "huge.bin", b"\0" * (96 << 20))
    window.lock_files([src])
    assert window.tasks.busy()
    window.close()
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None)
    box = find_dialog(QMessageBox, "confirm")
    assert box.windowTitle() == "Stop and quit?" and "Locking huge.bin" in box.text()
    with qtbot.waitSignal(window.tasks.idle, timeout=30000):
        press_button(box, "Stop and Quit")
    assert not window.isVisible()
    assert src.is_file() and src.stat().st_size == 96 << 20
    assert [p.name for p in vault_env.vault.path.iterdir()] == [".vault"]


def test_first_launch_runs_first_run_then_opens_the_new_default_vault(
        qtbot, vault_env, monkeypatch) -> None:
    from gui_support import answer_later
    from PySide6.QtWidgets import QDialog

    from vault_app.gui import main as gui_main

    monkeypatch.setenv("VAULT_USER", "carol")
    ks = vault_env.keystore   # the test's keyring (real in CI)
    steps: list[str] = []

    def fill_in(dialog: QDialog) -> None:
        dialog.name_edit.setText("carol")
        steps.append("create")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        answer_later(QDialog, finish, name="firstRunDialog")

    def finish(dialog: QDialog) -> None:
        if dialog.stack.currentIndex() != 1:   # the key is still being made
            answer_later(QDialog, finish, name="firstRunDialog")
            return
        assert dialog.recovery_view.toPlainText().startswith("AGE-SECRET-KEY-")
        steps.append("finish")
        dialog.stored_check.setChecked(True)
        qtbot.mouseClick(dialog.finish_button, Qt.MouseButton.LeftButton)

    answer_later(QDialog, fill_in, name="firstRunDialog")
    assert not gui_main.default_vault_path().exists()
    window = gui_main.start_window(None, keystore=ks)
    assert window is not None
    qtbot.addWidget(window)
    assert steps == ["create", "finish"]
    assert window.vault is not None and window.vault.user == "carol"
    assert window.vault.path == gui_main.default_vault_path()
    assert window.stack.currentWidget() is window.empty
    assert ks.exists("carol")
    ks.delete("carol")
    window.close()


@pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                    reason="needs a D-Bus session bus (CI runs in one)")
def test_reveal_asks_the_file_manager_over_dbus_to_select_the_file(qtbot, window,
                                                                   vault_env) -> None:
    """A stand-in file manager on the session bus receives the freedesktop ShowItems call."""
    from PySide6.QtCore import ClassInfo, QObject, Signal, Slot
    from PySide6.QtDBus import QDBusConnection

    @ClassInfo({"D-Bus Interface": "org.freedesktop.FileManager1"})
    class FileManager(QObject):
        shown = Signal(list)

        @Slot("QStringList", str)
        def ShowItems(self, uris: list[str], _startup: str) -> None:
            self.shown.emit(list(uris))

    bus = QDBusConnection.sessionBus()
    fm = FileManager()
    assert bus.registerObject("/org/freedesktop/FileManager1", fm,
                              QDBusConnection.RegisterOption.ExportAllSlots)
    assert bus.registerService("org.freedesktop.FileManager1")
    try:
        locked = lock_into(vault_env, "a.csv", b"a")
        window.refresh()
        opened: list[QUrl] = []
        window.url_opener = opened.append
        select(qtbot, window, locked)
        with qtbot.waitSignal(fm.shown, timeout=5000) as got:
            window.act_reveal.trigger()
        assert got.args == [[QUrl.fromLocalFile(str(locked)).toString()]]
        assert opened == []
    finally:
        bus.unregisterService("org.freedesktop.FileManager1")
        bus.unregisterObject("/org/freedesktop/FileManager1")


def test_settings_keep_plaintext_and_theme_apply_to_the_window(qtbot, window,
                                                               vault_env) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QDialog

    from vault_app.gui import icons
    from vault_app.gui.theme import apply_theme

    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: find_dialog(QDialog, "settingsDialog") is not None)
    dialog = find_dialog(QDialog, "settingsDialog")
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("copy"))
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    before = window.act_lock.icon().pixmap(24, 24).toImage()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(
            lambda: window.palette().color(QPalette.ColorRole.Window).lightness() < 128)
        qtbot.waitUntil(   # the outline icons were redrawn in the light ink
            lambda: window.act_lock.icon().pixmap(24, 24).toImage() != before)
        assert "#e6edf3" in icons.svg_text("lock", dark=True)
        src = plain(vault_env.vault.path, "kept.csv", b"k\n")
        with qtbot.waitSignal(window.tasks.idle, timeout=20000):
            window.lock_files([src])
        assert src.exists() and (vault_env.vault.path / "kept.csv.age").is_file()
        assert window.model.row_of(src) is not None   # still listed, as "Not locked"
    finally:
        apply_theme("system")


def test_members_from_toolbar_lists_the_vault_members(qtbot, window) -> None:
    from PySide6.QtWidgets import QDialog

    qtbot.mouseClick(tool_button(window, window.act_members), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(QDialog, "membersDialog") is not None)
    dialog = find_dialog(QDialog, "membersDialog")
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert sorted(names) == ["alice (you)", "bob"]
    dialog.reject()


def test_model_scan_lists_what_vault_scan_lists(vault_env) -> None:
    """The model walks the folder itself (faster); it must agree with the core's scan."""
    from vault_app.gui.file_model import scan_entries

    root = vault_env.vault.path
    for rel in ("a.csv", "sub/b.csv", "sub/deeper/c.csv", ".hidden/d.csv"):
        lock_into(vault_env, rel.replace("/", "_"), b"x")
        src = root / (rel + ".age")
        src.parent.mkdir(parents=True, exist_ok=True)
        (root / (rel.replace("/", "_") + ".age")).rename(src)
    (root / "sub" / "link.age").symlink_to(root / "a.csv.age")
    (root / "elsewhere").symlink_to(root / "sub", target_is_directory=True)
    plain(root, "loose.txt", b"p")
    plain(root / "sub", "nested-plain.txt", b"p")
    entries = scan_entries(vault_env.vault)
    assert sorted(e.path for e in entries if e.locked) == sorted(vault_env.vault.scan())
    assert [e.name for e in entries if not e.locked] == ["loose.txt"]
    names = sorted(e.name for e in entries if e.locked)
    assert "sub/deeper/c.csv" in names and not any(".hidden" in n for n in names)


def test_enter_on_a_locked_row_previews_it(qtbot, window, vault_env) -> None:
    from vault_app.gui.dialogs.preview import PreviewDialog

    locked = lock_into(vault_env, "t.csv", b"a\n1\n")
    window.refresh()
    select(qtbot, window, locked)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: find_dialog(PreviewDialog) is not None)
    find_dialog(PreviewDialog).reject()


def test_files_changed_outside_appear_without_losing_the_selection(qtbot, window,
                                                                   vault_env) -> None:
    """Another process (the CLI, a sync client) locks and deletes files in the vault."""
    keep = lock_into(vault_env, "keep.csv", b"k")
    gone = lock_into(vault_env, "gone.csv", b"g")
    window.refresh()
    select(qtbot, window, keep)
    other = vault_env.as_user("alice")   # a second Vault object, like another process
    sub = vault_env.vault.path / "sub"
    sub.mkdir()
    qtbot.waitUntil(lambda: str(sub) in window.disk.watcher.directories())
    other.lock(plain(vault_env.root / "in2", "new.csv", b"n"), dest=sub / "new.csv.age")
    gone.unlink()
    qtbot.waitUntil(lambda: window.model.row_of(sub / "new.csv.age") is not None
                    and window.model.row_of(gone) is None, timeout=10000)
    assert [e.path for e in window.selected_entries()] == [keep]
    assert window.model.entry(window.model.row_of(sub / "new.csv.age")).name == "sub/new.csv"


def test_every_icon_renders_on_the_24px_grid(qapp) -> None:
    from vault_app.gui import icons

    for name in icons.NAMES:
        svg = icons.svg_text(name)
        assert 'viewBox="0 0 24 24"' in svg, name
        image = icons.icon(name).pixmap(24, 24).toImage()
        opaque = sum(1 for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha())
        assert 20 < opaque < 24 * 24, f"{name}: {opaque} painted pixels"


def test_many_outside_changes_reload_the_list_and_keep_known_details(qtbot, window,
                                                                      vault_env) -> None:
    seed = lock_into(vault_env, "seed.csv", b"s")
    window.refresh()
    with qtbot.waitSignal(window.model.details_loaded, timeout=5000):
        select(qtbot, window, seed)
    for i in range(window.model.PATCH_LIMIT + 50):
        os.link(seed, vault_env.vault.path / f"copy-{i:03d}.csv.age")
    window.act_refresh.trigger()
    assert window.model.rowCount() == window.model.PATCH_LIMIT + 51
    row = window.model.row_of(seed)
    assert window.model.entry(row).info is not None   # not read again


def test_window_layout_is_remembered(qtbot, vault_env) -> None:
    first = MainWindow(vault_env.vault)
    qtbot.addWidget(first)
    first.resize(700, 450)   # within the offscreen screen (800x600): Qt clamps to it
    first.show()
    first.view.setColumnWidth(Column.STATE, 140)   # (Owner may hide at this width)
    size = (first.width(), first.height())
    first.close()
    second = MainWindow(vault_env.vault)
    qtbot.addWidget(second)
    assert second.view.columnWidth(Column.STATE) == 140
    assert (second.width(), second.height()) == size
    second.close()


def test_too_large_to_drag_out_says_to_use_unlock_to(qtbot, window, vault_env,
                                                     monkeypatch) -> None:
    from vault_app.gui import dnd

    locked = lock_into(vault_env, "big.csv", b"x" * 1000)
    window.refresh()
    select(qtbot, window, locked)
    monkeypatch.setattr(dnd, "DRAG_OUT_LIMIT", 999)
    window.view.startDrag(Qt.DropAction.CopyAction)
    assert find_dialog(QMessageBox, "confirm") is None
    assert window.notice.isVisible() and "Unlock to…" in window.notice.label.text()
    assert [b.text() for b in window.notice.buttons] == ["Unlock to…"]   # no staged copy


def test_keys_in_a_passphrase_key_file_are_opened_by_asking(qtbot, tmp_path,
                                                             monkeypatch) -> None:
    """No keyring entry, a passphrase-protected key file: the window asks, then unlocks."""
    from gui_support import answer_later
    from PySide6.QtWidgets import QInputDialog

    from vault_app.core.keystore import Keystore, default_config_dir
    from vault_app.core.vault import Vault

    setup = Keystore(config_dir=default_config_dir(), use_key_file=True, work_factor=10,
                     passphrase=lambda _p, _c: b"correct horse")
    setup.create("dana", protect=True)
    vault, _ = Vault.init(tmp_path / "v", user="dana", keystore=setup)
    locked = vault.lock(plain(tmp_path / "in", "d.csv", b"d,1\n")).path
    monkeypatch.setenv("VAULT_USER", "dana")
    window = MainWindow(None)   # the window's own keystore, as `vault-app` makes it
    qtbot.addWidget(window)
    window.show()
    assert window.open_vault_at(vault.path)
    select(qtbot, window, locked)
    out = tmp_path / "out"
    out.mkdir()
    asked: list[str] = []

    def answer(dialog: QInputDialog) -> None:   # the prompt runs its own modal loop
        asked.append(dialog.labelText())
        dialog.setTextValue("correct horse")
        dialog.accept()

    answer_later(QInputDialog, answer, name="passphraseDialog")
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.unlock_to(window.selected_entries(), out)
    assert asked and "dana" in asked[0]
    assert (out / "d.csv").read_bytes() == b"d,1\n"
    window.close()


def test_an_original_kept_outside_the_vault_is_not_listed(qtbot, window, vault_env) -> None:
    """The lock names both files it touched; the list shows only what a scan shows."""
    src = plain(vault_env.root / "outside", "kept.csv", b"k\n")
    Settings().lock_mode = "copy"
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.lock_files([src])
    assert src.exists()
    assert window.model.row_of(src) is None
    assert window.model.row_of(vault_env.vault.path / "kept.csv.age") is not None


def test_names_come_first_at_960_px(qtbot, vault_env) -> None:
    """Issue 17: at 960 px three "cli_b…" rows could not be told apart while Readers had
    room. The name column now gets its room first; optional columns hide."""
    from vault_app.gui.columns import NAME_MIN

    names = [f"cli_batch_000{i}_patients_measurements.csv" for i in range(3)]
    for name in names:
        lock_into(vault_env, name, b"a,b\n1,2\n")
    w = MainWindow(vault_env.vault)
    qtbot.addWidget(w)
    w.resize(960, 600)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.view.columnWidth(Column.NAME) >= NAME_MIN)
    assert w.view.isColumnHidden(Column.OWNER)
    shown = {w.view.model().index(r, Column.NAME).data() for r in range(3)}
    assert shown == set(names)
    # what is painted differs in the middle, where the names differ
    metrics = w.view.fontMetrics()
    elided = {metrics.elidedText(n, Qt.TextElideMode.ElideMiddle,
                                 w.view.columnWidth(Column.NAME) - 44) for n in names}
    assert len(elided) == 3
    w.resize(1400, 700)
    qtbot.waitUntil(lambda: not w.view.isColumnHidden(Column.OWNER))
    w.close()


def test_a_long_history_entry_wraps_in_a_narrow_pane(qtbot, vault_env) -> None:
    """Issue 17: "analyst unlocked a c…" at 960 px."""
    locked = lock_into(vault_env, "h.csv", b"h\n")
    out = vault_env.root / "out"
    out.mkdir()
    vault_env.vault.unlock(locked, out)
    w = MainWindow(vault_env.vault)
    qtbot.addWidget(w)
    w.resize(960, 600)
    w.show()
    qtbot.waitExposed(w)
    select(qtbot, w, locked)
    history = w.details.history
    qtbot.waitUntil(lambda: history.topLevelItemCount() == 2)
    item = history.topLevelItem(0)
    assert item.text(1) == "alice unlocked a copy"
    history.setColumnWidth(0, history.width() - 90)   # a narrow "What" column
    needed = history.fontMetrics().horizontalAdvance(item.text(1))
    assert needed > history.columnWidth(1) - 8        # too long for one line...
    qtbot.waitUntil(lambda: history.visualItemRect(item).height()   # ...so two, not "…"
                    > 1.6 * history.fontMetrics().height())
    w.close()
