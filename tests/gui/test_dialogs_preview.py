"""PreviewDialog: first rows of a locked file in a table, in memory, errors in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui_support import VaultEnv
from PySide6.QtCore import Qt

from vault_app.gui.dialogs.preview import PreviewDialog


def _lock(env: VaultEnv, name: str, data: bytes) -> Path:
    src = env.root / name
    src.write_bytes(data)
    return env.vault.lock(src).path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_preview_shows_the_first_rows(qtbot: Any, vault_env: VaultEnv) -> None:
    rows = "".join(f"{i},patient{i},{i % 90}\n" for i in range(5000))
    locked = _lock(vault_env, "patients.csv", ("id,name,age\n" + rows).encode())
    before = _files(vault_env.root)
    dialog = PreviewDialog(vault_env.vault, locked)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    model = dialog.table.model()
    assert model.columnCount() == 3
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == [
        "id", "name", "age"]
    assert model.rowCount() == 100
    assert model.index(99, 1).data() == "patient99"
    assert dialog.windowTitle() == "patients.csv — first 100 rows"
    assert dialog.notice.text() == "First 100 rows."
    assert dialog.table.isVisibleTo(dialog)
    assert _files(vault_env.root) == before  # nothing written anywhere
    with qtbot.waitSignal(dialog.finished, timeout=5000):
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)


def test_no_access_is_said_plainly(qtbot: Any, vault_env: VaultEnv) -> None:
    locked = _lock(vault_env, "secret.csv", b"a,b\n1,2\n")
    as_bob = vault_env.as_user(vault_env.other)
    dialog = PreviewDialog(as_bob, locked)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=10000):
        dialog.show()
    assert "You don't have access to this file" in dialog.notice.text()
    assert "Traceback" not in dialog.notice.text()
    assert not dialog.table.isVisibleTo(dialog)


def test_unpreviewable_format_gets_a_notice(qtbot: Any, vault_env: VaultEnv) -> None:
    locked = _lock(vault_env, "model.pt", b"\x80\x02binary\x00\x00weights")
    dialog = PreviewDialog(vault_env.vault, locked)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    assert dialog.notice.text().startswith("Preview is not available for .pt files.")
    assert dialog.windowTitle() == "model.pt — no preview"
