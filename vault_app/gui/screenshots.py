"""Render the main screens to PNG: ``python -m vault_app.gui.screenshots OUTDIR``.

Builds a throwaway vault (keys in an in-memory keyring, never the user's) with a few
files, then captures: the empty vault, the vault with files and details, the share
dialog, a lock in progress, a preview, an error, the window in the dark palette, and the
team screens (``screenshots_team.py``: asking to join, approving, a sync conflict).
Dialogs are drawn over the window they belong to, as a user would see them. Works
offscreen and under Xvfb.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPoint, QTimer
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

SIZE = (1180, 700)


def wait(app: QApplication, ms: int = 50) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def wait_for(app: QApplication, cond: Callable[[], bool], timeout_ms: int = 20000) -> bool:
    waited = 0
    while not cond() and waited < timeout_ms:
        wait(app, 20)
        waited += 20
    return cond()


def over_window(window: QWidget, dialog: QWidget) -> QPixmap:
    """The window, dimmed a little, with the dialog centred on it."""
    base = window.grab()
    top = dialog.grab()
    painter = QPainter(base)
    painter.fillRect(base.rect(), QColor(0, 0, 0, 60))
    at = QPoint((base.width() - top.width()) // 2, max(40, (base.height() - top.height()) // 3))
    painter.drawPixmap(at, top)
    painter.end()
    return base


def write(pixmap: QPixmap, path: Path) -> Path:
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})")
    return path


def _csv(path: Path, rows: int) -> Path:
    lines = ["patient_id,age,sex,diagnosis,admitted,length_of_stay"]
    diags = ["J18.9 pneumonia", "I21.4 NSTEMI", "E11.9 diabetes", "N39.0 UTI", "I50.9 HF"]
    for i in range(rows):
        lines.append(f"P{10000 + i},{20 + (i * 7) % 70},{'FM'[i % 2]},{diags[i % 5]},"
                     f"2026-0{1 + i % 9}-{10 + i % 18},{1 + (i * 3) % 14}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_demo(root: Path):  # type: ignore[no-untyped-def]
    """A vault as alice, with bob and carol as members, a few files and one tampered."""
    from vault_app.core.vault import Vault
    from vault_app.gui.memory_keyring import memory_keystore

    keystore = memory_keystore(root / "config")
    vault, _recovery = Vault.init(root / "Research vault", user="alice", keystore=keystore)
    for name in ("bob", "carol"):
        keys = keystore.create(name)
        vault.add_member(name, keys.recipient, keys.signing_public)
    inbox = root / "inbox"
    inbox.mkdir()
    patients = vault.lock(_csv(inbox / "patients_2026.csv", 400)).path
    vault.share(patients, "bob")
    vault.share(patients, "carol", "editor")
    (inbox / "model_weights.bin").write_bytes(os.urandom(3 << 20))
    vault.lock(inbox / "model_weights.bin")
    (inbox / "survey_results.tsv").write_text("q\tanswer\n1\tyes\n2\tno\n", encoding="utf-8")
    vault.lock(inbox / "survey_results.tsv")
    tampered = vault.lock(_csv(inbox / "lab_values.csv", 50)).path
    data = bytearray(tampered.read_bytes())
    data[40] ^= 0x01   # inside the header: the signature no longer holds
    tampered.write_bytes(bytes(data))
    (vault.path / "notes.txt").write_text("to lock later\n", encoding="utf-8")
    bobs = Vault.open(vault.path, user="bob", keystore=keystore)
    (inbox / "bob_private.csv").write_text("x\n1\n", encoding="utf-8")
    bobs.lock(inbox / "bob_private.csv")
    return vault, keystore, patients


def render(out: Path) -> list[Path]:
    from vault_app.core.vault import Vault
    from vault_app.gui.app import create_application, private_settings
    from vault_app.gui.dialogs.errors import show_error
    from vault_app.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="dataset-vault-shots-"))
    private_settings(str(tmp / "settings"))   # default theme and layout, every time
    app = create_application()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        vault, keystore, patients = build_demo(tmp)

        # 1. an empty vault
        empty, _ = Vault.init(tmp / "Empty vault", user="alice", keystore=keystore)
        window = MainWindow(empty)
        window.resize(*SIZE)
        window.show()
        wait(app, 100)
        written.append(write(window.grab(), out / "01-empty-vault.png"))
        window.close()

        # 2. a vault with files, one selected, its details loaded
        window = MainWindow(vault)
        window.resize(*SIZE)
        window.show()
        wait(app, 100)
        window.model.request_rows(range(window.model.rowCount()))
        wait_for(app, lambda: not window.tasks.reading_now())
        wait(app, 100)
        window.select_path(patients)
        wait_for(app, lambda: window.details.author.text() == "alice")
        wait(app, 100)
        written.append(write(window.grab(), out / "02-vault-with-files.png"))

        # 3. the share dialog (GUI-B's), over the window
        try:
            from vault_app.gui.dialogs.share import ShareDialog
        except ImportError:
            print("share dialog not available yet: skipped", file=sys.stderr)
        else:
            dialog = ShareDialog(vault, vault.info(patients), window.tasks, window)
            dialog.show()
            wait(app, 200)
            written.append(write(over_window(window, dialog), out / "03-share-dialog.png"))
            dialog.reject()

        # 4. a lock in progress (a real lock, captured mid-way)
        big = tmp / "inbox" / "imaging_archive.bin"
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(384):
                f.write(block)
        shots: list[tuple[bool, QPixmap]] = []

        def maybe_grab(done: int, total: int, speed: float) -> None:
            # keep the latest mid-way frame until one past a quarter of the way
            if 0 < done < total and speed > 0 and not (shots and shots[-1][0]):
                shots[:] = [(done > total // 4, window.grab())]

        window.tasks.progress.connect(maybe_grab)
        window.lock_files([big], keep=False)
        wait_for(app, lambda: not window.tasks.busy(), 120_000)
        window.tasks.progress.disconnect(maybe_grab)
        if shots:
            written.append(write(shots[0][1], out / "04-progress.png"))
        else:
            print("the lock finished before a mid-way frame was painted", file=sys.stderr)

        # 5. a preview of the first rows
        from vault_app.gui.dialogs.preview import PreviewDialog

        window.select_path(patients)
        preview = PreviewDialog(vault, patients, window.tasks, window)
        preview.show()
        wait_for(app, lambda: preview.preview is not None)
        wait(app, 100)
        written.append(write(over_window(window, preview), out / "05-preview.png"))
        preview.reject()

        # 6. an error a person can act on: unlocking bob's file, not shared with alice
        bob_file = vault.path / "bob_private.csv.age"
        window.select_path(bob_file)
        failure: list[BaseException] = []
        window.tasks.change(lambda progress, cancel: vault.unlock(bob_file, tmp / "inbox"),
                            label="Unlocking bob_private.csv", on_failure=failure.append)
        wait_for(app, lambda: bool(failure))
        box = show_error(window, failure[0], action="unlock bob_private.csv")
        wait(app, 150)
        if box is not None:
            written.append(write(over_window(window, box), out / "06-error.png"))
            box.accept()
        # 7. the same window in the dark palette (what "follow the system" gives at night)
        from vault_app.gui.theme import apply_theme

        apply_theme("dark", app)
        window.select_path(patients)
        wait(app, 150)
        written.append(write(window.grab(), out / "07-dark-theme.png"))
        apply_theme("system", app)
        window.close()
        window.tasks.shutdown()

        # 8-12. a team: asking to join, approving, a sync conflict (screenshots_team.py)
        from vault_app.gui.screenshots_team import render_team

        written += render_team(app, tmp, out, vault, keystore, patients, SIZE)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vault_app.gui.screenshots")
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    if sys.platform == "linux" and not (os.environ.get("DISPLAY")
                                        or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("VAULT_USER", "alice")
    written = render(args.outdir)
    print(f"{len(written)} screenshots in {args.outdir}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
