"""PreviewDialog: first rows of a locked file in a table, in memory, errors in plain words."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gui_support import VaultEnv
from PySide6.QtCore import Qt

from vault_app.gui.dialogs.preview import PreviewDialog
from vault_app.gui.tasks import Tasks


def _lock(env: VaultEnv, name: str, data: bytes) -> Path:
    src = env.root / name
    src.write_bytes(data)
    return env.vault.lock(src).path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_preview_shows_the_first_rows(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    rows = "".join(f"{i},patient{i},{i % 90}\n" for i in range(5000))
    locked = _lock(vault_env, "patients.csv", ("id,name,age\n" + rows).encode())
    before = _files(vault_env.root)
    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    qtbot.waitUntil(lambda: dialog.content_verified is not None, timeout=10000)
    assert dialog.content_verified is True
    assert "matches its signature" in dialog.safety.text()
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


def test_no_access_is_said_plainly(qtbot: Any, vault_env: VaultEnv, tasks: Tasks) -> None:
    locked = _lock(vault_env, "secret.csv", b"a,b\n1,2\n")
    as_bob = vault_env.as_user(vault_env.other)
    dialog = PreviewDialog(as_bob, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=10000):
        dialog.show()
    assert "You don't have access to this file" in dialog.notice.text()
    assert "Traceback" not in dialog.notice.text()
    assert not dialog.table.isVisibleTo(dialog)


def test_unpreviewable_format_gets_a_notice(qtbot: Any, vault_env: VaultEnv,
                                            tasks: Tasks) -> None:
    locked = _lock(vault_env, "model.pt", b"\x80\x02binary\x00\x00weights")
    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    assert dialog.notice.text().startswith("Preview is not available for .pt files.")
    assert dialog.windowTitle() == "model.pt — no preview"


def test_content_swapped_by_another_key_holder_is_withdrawn(qtbot: Any, vault_env: VaultEnv,
                                                            tasks: Tasks) -> None:
    """bob may read the file, so he holds its file key: he can write chunks that
    authenticate. The signed digest still catches it, and the rows are withdrawn."""
    import io

    from vault_app.core.age import seal_payload, unwrap_file_key
    from vault_app.core.header import read_header
    from vault_app.core.vault import Role

    locked = _lock(vault_env, "labels.csv", b"id,label\n1,cat\n2,dog\n")
    vault_env.vault.share(locked, vault_env.other, Role.READER)
    raw = locked.read_bytes()
    header = read_header(io.BufferedReader(io.BytesIO(raw)))  # type: ignore[arg-type]
    bob = vault_env.keystore.load(vault_env.other)
    file_key = unwrap_file_key(header, [bob.identity])
    forged = io.BytesIO()
    seal_payload(file_key, io.BytesIO(b"id,label\n1,EVIL\n2,dog\n"), forged)
    locked.write_bytes(raw[: len(header.encode())] + forged.getvalue())

    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=10000):
        dialog.show()
    assert dialog.content_verified is False
    assert dialog.table.model().rowCount() == 0
    assert not dialog.table.isVisibleTo(dialog)
    assert dialog.notice.text() == (
        "Signature does not hold. Could not preview labels.csv. Its signature does not "
        "hold: the file or its access list was changed by someone not allowed to. Restore "
        "it from a backup, or ask its owner to lock it again.")
    assert not dialog.safety.isVisibleTo(dialog)   # no "decrypted in memory" for nothing


def test_closing_at_once_does_not_wait_for_the_background_check(qtbot: Any,
                                                                vault_env: VaultEnv,
                                                                tasks: Tasks) -> None:
    locked = _lock(vault_env, "wide.csv", b"a,b\n" + b"1,2\n" * 500_000)
    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    assert tasks.reading_now()
    dialog.reject()  # returns at once; the reads end on their own
    assert tasks.reading_now()
    qtbot.waitUntil(lambda: not tasks.reading_now(), timeout=10000)
    assert dialog.preview is None  # nothing was shown into the closed dialog
    assert dialog.content_verified is None


def _parquet_bytes(tmp: Path) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp / "made.parquet"
    pq.write_table(pa.table({"id": [1, 2], "value": ["alpha", "beta"]}), path)
    return path.read_bytes()


def _without_pyarrow(monkeypatch: Any) -> None:
    """What the installed bundle is like: pyarrow is not there to import."""
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)   # import pyarrow -> ImportError


def test_installed_build_without_pyarrow_says_so_and_unlock_works(
        qtbot: Any, vault_env: VaultEnv, monkeypatch: Any, tmp_path: Path,
        tasks: Tasks) -> None:
    data = _parquet_bytes(tmp_path)
    locked = _lock(vault_env, "results.parquet", data)
    _without_pyarrow(monkeypatch)
    monkeypatch.setattr(sys, "frozen", True, raising=False)   # a PyInstaller bundle
    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    text = dialog.notice.text()
    assert text.startswith("This build of Dataset Vault cannot preview Parquet files.")
    assert "Unlock to… works" in text and "pip" not in text
    assert dialog.windowTitle() == "results.parquet — no preview"
    out = tmp_path / "out"
    out.mkdir()
    assert vault_env.vault.unlock(locked, out).read_bytes() == data   # as it says


def test_python_install_without_pyarrow_says_how_to_add_it(
        qtbot: Any, vault_env: VaultEnv, monkeypatch: Any, tmp_path: Path,
        tasks: Tasks) -> None:
    locked = _lock(vault_env, "results.parquet", _parquet_bytes(tmp_path))
    _without_pyarrow(monkeypatch)
    monkeypatch.delattr(sys, "frozen", raising=False)
    dialog = PreviewDialog(vault_env.vault, locked, tasks)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10000):
        dialog.show()
    assert "pip install pyarrow" in dialog.notice.text()
