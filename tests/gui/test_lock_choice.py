"""Locking a file from outside the vault asks Move or Copy (issue 17, item 4), the answer
can be remembered, and the window says where the files went; a Cancel says what it
stopped."""

from __future__ import annotations

from pathlib import Path

from gui_support import find_dialog
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.gui.dialogs.settings import Settings


def make(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def choice(qtbot) -> QMessageBox:
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "lockChoice") is not None)
    return find_dialog(QMessageBox, "lockChoice")


def click(box: QMessageBox, name: str) -> None:
    next(b for b in box.buttons() if b.objectName() == name).click()


def test_first_lock_asks_move_or_copy_and_move_moves(qtbot, window, vault_env) -> None:
    Settings().store.remove("lock/mode")   # a person who has not chosen yet
    src = make(vault_env.root / "Data", "patients.csv", b"id\n1\n")
    window.lock_files([src])
    box = choice(qtbot)
    assert box.text() == "Lock patients.csv into vault?"
    assert "Move:" in box.informativeText() and "Copy:" in box.informativeText()
    assert box.defaultButton().objectName() == "lockMove"
    assert not window.tasks.busy()   # nothing happens before the answer
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        click(box, "lockMove")
    locked = vault_env.vault.path / "patients.csv.age"
    assert locked.is_file() and not src.exists()
    assert Settings().lock_mode == "ask"   # not remembered: asked again next time
    text = window.notice.label.text()
    assert text.startswith("Locked patients.csv into vault: ") and "moved out of" in text
    assert [b.text() for b in window.notice.buttons] == ["Show in file manager"]
    assert [e.path for e in window.selected_entries()] == [locked]   # where it went
    opened = []
    window.url_opener = opened.append
    window.notice.buttons[0].click()   # (no file manager on D-Bus here: the folder opens)
    assert opened and opened[0].toLocalFile() == str(locked.parent)


def test_copy_keeps_the_original_and_remember_sticks(qtbot, window, vault_env) -> None:
    Settings().store.remove("lock/mode")
    first = make(vault_env.root / "Data", "a.csv", b"a\n")
    window.lock_files([first])
    box = choice(qtbot)
    box.checkBox().setChecked(True)   # "Remember my choice"
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        click(box, "lockCopy")
    assert first.exists() and (vault_env.vault.path / "a.csv.age").is_file()
    assert "stays in" in window.notice.label.text()
    assert Settings().lock_mode == "copy"
    second = make(vault_env.root / "Data", "b.csv", b"b\n")
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.lock_files([second])   # remembered: no question this time
    assert find_dialog(QMessageBox, "lockChoice") is None
    assert second.exists() and (vault_env.vault.path / "b.csv.age").is_file()


def test_cancel_in_the_question_locks_nothing(qtbot, window, vault_env) -> None:
    Settings().store.remove("lock/mode")
    src = make(vault_env.root / "Data", "c.csv", b"c\n")
    window.lock_files([src])
    choice(qtbot).reject()
    assert src.exists() and not window.tasks.busy()
    assert not (vault_env.vault.path / "c.csv.age").exists()


def test_a_cancelled_batch_says_what_was_stopped(qtbot, window, vault_env) -> None:
    """Issue 17: no message after Cancel. The notice says what was locked and that the
    others were left as they were."""
    files = [make(vault_env.root / "Data", f"part{i}.csv", b"x" * (4 << 20))
             for i in range(3)]
    with qtbot.waitSignal(window.tasks.idle, timeout=60000):
        window.lock_files(files)
        qtbot.waitUntil(lambda: window.tasks.busy())
        qtbot.mouseClick(window.progress_panel.cancel_button, Qt.MouseButton.LeftButton)
    text = window.notice.label.text()
    assert "Stopped" in text, text
    assert all(f.exists() for f in files[1:])   # the ones not done are as they were


def test_a_cancelled_unlock_says_nothing_half_written_is_left(qtbot, window,
                                                              vault_env) -> None:
    src = make(vault_env.root / "in", "big.bin", b"y" * (8 << 20))
    locked = vault_env.vault.lock(src).path
    window.refresh()
    out = vault_env.root / "out"
    out.mkdir()
    assert window.select_path(locked)
    with qtbot.waitSignal(window.tasks.idle, timeout=60000):
        window.unlock_to(window.selected_entries(), out)
        window.tasks.cancel_all()
    assert window.notice.isVisible()
    assert window.notice.label.text().startswith("Stopped: Unlocking big.bin.")
    assert list(out.iterdir()) == []
