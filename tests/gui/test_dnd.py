"""Drag and drop: files and folders dropped from a file manager are locked; a locked file
dragged out is unlocked into the drop folder (XDS, one gesture), or, where that cannot
work, into private staging first, and the next drag offers it as a URL."""

from __future__ import annotations

import stat
from pathlib import Path

from gui_support import find_dialog
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from vault_app.gui.direct_save import XDS, DirectSaveMime
from vault_app.gui.dnd import expand, file_urls_mime
from vault_app.gui.file_model import Column


def drop(target, paths: list[Path]) -> QDropEvent:
    """What a file manager's drop looks like to Qt: enter, then drop, with file URLs."""
    mime = file_urls_mime(paths)
    pos = QPoint(target.width() // 2, target.height() // 2)   # QDragEnterEvent: QPoint
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    return event


def make(folder: Path, files: dict[str, bytes]) -> list[Path]:
    out = []
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append(path)
    return out


def test_drop_files_on_empty_vault_locks_them(qtbot, window, vault_env) -> None:
    assert window.stack.currentWidget() is window.empty
    files = make(vault_env.root / "desk", {"a.csv": b"1,2\n", "b.parquet": b"PAR1" * 100})
    progress: list[tuple[int, int]] = []
    window.tasks.queue_changed.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        event = drop(window.empty, files)
    assert event.isAccepted()
    assert progress[-1] == (2, 2)   # one queue, overall progress over both files
    for f in files:
        assert not f.exists()
        assert (vault_env.vault.path / (f.name + ".age")).is_file()
    assert window.stack.currentWidget() is window.view
    assert window.model.rowCount() == 2


def test_drop_folder_on_file_list_locks_its_files(qtbot, window, vault_env) -> None:
    make(vault_env.root / "desk", {"seed.csv": b"s"})
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        drop(window.empty, [vault_env.root / "desk" / "seed.csv"])
    folder = vault_env.root / "export"
    make(folder, {"x.csv": b"x", "sub/y.csv": b"y", ".hidden": b"h"})
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        drop(window.view.viewport(), [folder])
    names = sorted(p.name for p in vault_env.vault.path.glob("*.age"))
    assert names == ["seed.csv.age", "x.csv.age", "y.csv.age"]
    assert (folder / ".hidden").exists()   # hidden files are left alone
    assert not (folder / "x.csv").exists() and not (folder / "sub" / "y.csv").exists()


def test_dropped_locked_files_are_not_locked_twice(qtbot, window, vault_env) -> None:
    """A locked file dropped from outside is not locked again: the window offers what
    can be done with it (tests/gui/test_outside_file.py)."""
    locked = vault_env.vault.lock(make(vault_env.root / "in", {"a.csv": b"a"})[0]).path
    window.refresh()
    copy = vault_env.root / "elsewhere" / "a.csv.age"
    copy.parent.mkdir()
    copy.write_bytes(locked.read_bytes())
    drop(window.view.viewport(), [copy])
    assert not window.tasks.busy()
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "outsideFile") is not None)
    box = find_dialog(QMessageBox, "outsideFile")
    assert sorted(b.text() for b in box.buttons() if b.text() != "Cancel") == [
        "Import into vault", "Preview", "Unlock to…"]
    box.reject()
    assert copy.exists() and sorted(p.name for p in vault_env.vault.path.glob("*.age")) \
        == ["a.csv.age"]


def test_expand_skips_symlinks_and_hidden(tmp_path) -> None:
    make(tmp_path / "d", {"a": b"1", ".git/config": b"2", "b/c": b"3"})
    (tmp_path / "d" / "link").symlink_to(tmp_path / "d" / "a")
    assert expand([tmp_path / "d"]) == [tmp_path / "d" / "a", tmp_path / "d" / "b" / "c"]


def press(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text() == text).click()


def dragged(window) -> list:
    """What each drag of the list carries (None: no drag), as ``startDrag`` gets it."""
    carried: list = []
    provider = window.view.drag_provider

    def spy():
        carried.append(provider())
        return carried[-1]

    window.view.drag_provider = spy
    return carried


class FakeDirectSave:
    """Stands in for XDS where there is no X server (offscreen): the drop target's side
    of the protocol is ``target``, the file URL it writes into the property."""

    def __init__(self, target: bytes | None) -> None:
        self.target = target
        self.names: list[str] = []

    def mime(self, name: str, save):
        self.names.append(name)
        return DirectSaveMime(lambda: self.target, save)


def locked_row(window, vault_env, name: str = "table.csv",
               data: bytes = b"h1,h2\n" + b"1,2\n" * 100) -> Path:
    locked = vault_env.vault.lock(make(vault_env.root / "in", {name: data})[0]).path
    window.refresh()
    assert window.select_path(locked)
    return locked


def test_drag_out_in_one_gesture_unlocks_into_the_drop_folder(qtbot, window,
                                                               vault_env) -> None:
    """XDS: the drag carries no file, only the suggested name; the file manager names
    the drop folder and the file is unlocked straight into it (nothing staged)."""
    locked = locked_row(window, vault_env)
    folder = vault_env.root / "Desktop"
    folder.mkdir()
    window.direct_save = FakeDirectSave(
        QUrl.fromLocalFile(str(folder / "table.csv")).toEncoded().data() + b"\0")
    carried = dragged(window)
    window.view.startDrag(Qt.DropAction.CopyAction)
    mime = carried[0]
    assert mime.formats() == [XDS] and window.direct_save.names == ["table.csv"]
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        assert mime.data(XDS).data() == b"S"   # what the file manager asks on the drop
    assert (folder / "table.csv").read_bytes() == b"h1,h2\n" + b"1,2\n" * 100
    assert locked.exists() and window.staging._dir is None
    assert "Unlocked a copy of table.csv" in window.notice.label.text()
    assert [b.text() for b in window.notice.buttons] == ["Show in file manager"]


def test_a_drop_target_without_a_usable_folder_gets_f_and_a_way_out(qtbot, window,
                                                                     vault_env) -> None:
    locked_row(window, vault_env)
    window.direct_save = FakeDirectSave(b"http://example.org/table.csv")
    carried = dragged(window)
    window.view.startDrag(Qt.DropAction.CopyAction)
    assert carried[0].data(XDS).data() == b"F"   # the target may fall back on its own
    assert not window.tasks.busy()
    window.direct_save = FakeDirectSave(None)    # a target that never asks (Dolphin)
    window.view.startDrag(Qt.DropAction.CopyAction)
    assert "Nothing was unlocked" in window.notice.label.text()
    assert [b.text() for b in window.notice.buttons] == ["Unlock a copy to drag",
                                                         "Unlock to…"]


def test_without_direct_save_a_copy_is_unlocked_first_then_dragged(qtbot, window,
                                                                    vault_env) -> None:
    """No dialog pops up as the drag starts: the notice offers a copy to drag; the next
    drag hands it over at once (nothing waits in a nested event loop)."""
    locked = locked_row(window, vault_env)
    carried = dragged(window)
    window.view.startDrag(Qt.DropAction.CopyAction)   # returns at once: no drag yet
    assert carried == [None] and find_dialog(QMessageBox) is None
    assert window.notice.isVisible()
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.notice.buttons[0].click()   # "Unlock a copy to drag"
    state = window.model.index(window.model.row_of(locked), Column.STATE)
    assert state.data() == "Ready to drag"
    window.view.startDrag(Qt.DropAction.CopyAction)   # the copy is handed over
    path = Path(carried[1].urls()[0].toLocalFile())
    assert path.name == "table.csv"
    assert path.read_bytes() == b"h1,h2\n" + b"1,2\n" * 100
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert locked.exists()
    assert state.data() == "Locked"   # each copy goes to one drag
    window.staging.clear()
    assert not path.exists()


def test_a_drag_nobody_follows_up_writes_nothing(qtbot, window, vault_env) -> None:
    locked_row(window, vault_env, "t.csv", b"t")
    carried = dragged(window)
    window.view.startDrag(Qt.DropAction.CopyAction)
    window.notice.hide()
    assert carried == [None] and not window.tasks.busy()
    assert window.staging._dir is None   # no staging folder was even made


def test_drag_out_of_a_file_not_shared_with_me_shows_why(qtbot, window, vault_env) -> None:
    bobs = vault_env.as_user("bob")
    locked = bobs.lock(make(vault_env.root / "in", {"b.csv": b"bob only"})[0]).path
    window.refresh()
    assert window.select_path(locked)
    carried = dragged(window)
    window.view.startDrag(Qt.DropAction.CopyAction)
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.notice.buttons[0].click()
    assert carried == [None]
    box = find_dialog(QMessageBox, "errorBox")
    assert box is not None and box.windowTitle() == "You don't have access to this file"
    assert not any(window.staging.folder.iterdir())   # the failed slot was removed
    state = window.model.index(window.model.row_of(locked), Column.STATE)
    assert state.data() != "Ready to drag"
    box.accept()


def test_a_copy_nobody_drags_is_removed_in_time(qtbot, window, vault_env,
                                                monkeypatch) -> None:
    from vault_app.gui import dnd

    monkeypatch.setattr(dnd, "STAGING_LIFETIME_MS", 50)
    locked = locked_row(window, vault_env, "t.csv", b"t")
    window.view.startDrag(Qt.DropAction.CopyAction)
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        window.notice.buttons[0].click()
    row = window.model.row_of(locked)
    copy = window.model.entry(row).staged
    assert copy is not None and copy.read_bytes() == b"t"
    qtbot.waitUntil(lambda: not copy.exists(), timeout=5000)
    assert window.model.index(row, Column.STATE).data() == "Locked"


def test_files_hovering_over_the_window_show_where_a_drop_goes(qtbot, window,
                                                               vault_env) -> None:
    files = make(vault_env.root / "desk", {"a.csv": b"1"})
    mime = file_urls_mime(files)
    target = window.empty
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert window.drop_hint.isVisible()
    assert window.drop_hint.text() == "Drop to lock into vault"
    QApplication.sendEvent(target, QDragLeaveEvent())
    assert not window.drop_hint.isVisible()
