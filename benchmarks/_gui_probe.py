"""Child process for bench_gui: one GUI measurement per run, printed as one JSON line.

    python _gui_probe.py start   CONFIG VAULT ROWS     first paint / first paint with ROWS rows
    python _gui_probe.py stall   CONFIG VAULT FILE     event-loop gaps while the window locks FILE
    python _gui_probe.py preview CONFIG VAULT LOCKED   time to the first 100 rows of LOCKED

Runs the real window code (``start_window``, ``MainWindow.lock_files``, ``PreviewDialog``)
on the offscreen platform when there is no display. Keys: the passphrase-protected
key-file keystore in CONFIG (low scrypt work factor), as written by bench_gui.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from _bench_vault import bench_keystore

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PREVIEW_ROWS = 100



def emit(**figures: object) -> None:
    print(json.dumps(figures), flush=True)


def start(config: Path, vault: Path, rows: int) -> None:
    """Print the time of the first paint, and of the first paint showing ``rows`` rows."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    from vault_app.gui.app import create_application
    from vault_app.gui.main import start_window

    app = create_application()
    seen: dict[str, float] = {}

    class Painted(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:
            if event.type() == QEvent.Type.Paint and window is not None \
                    and getattr(obj, "window", lambda: None)() is window:
                now = time.perf_counter()
                seen.setdefault("first_paint", now)
                if window.model.rowCount() >= rows and obj is window.view.viewport():
                    seen.setdefault("rows_paint", now)
                    emit(first_paint=seen["first_paint"], rows_paint=now,
                         rows=window.model.rowCount(), wall_clock=time.time())
                    QTimer.singleShot(0, app.quit)
            return False

    window = None
    painted = Painted()
    app.installEventFilter(painted)
    window = start_window(vault, bench_keystore(config))
    QTimer.singleShot(30_000, app.quit)  # give up: the caller reports it missing
    app.exec()


def stall(config: Path, vault_path: Path, src: Path) -> None:
    """Lock ``src`` on the window's change lane; record every gap of a 5 ms timer."""
    from PySide6.QtCore import QTimer

    from vault_app.core.vault import Vault
    from vault_app.gui.app import create_application
    from vault_app.gui.main_window import MainWindow

    app = create_application()
    vault = Vault.open(vault_path, user="alice", keystore=bench_keystore(config))
    vault.keys()  # unwrap the key file before timing (the keyring does it once per session)
    window = MainWindow(vault)
    window.show()
    app.processEvents()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    failures: list[str] = []
    window.tasks.task_failed.connect(lambda exc: failures.append(repr(exc)))
    window.tasks.idle.connect(app.quit)
    started = time.perf_counter()

    def go() -> None:
        last[0] = time.perf_counter()
        timer.start()
        window.lock_files([src], keep=False)   # (the Move-or-Copy question is not measured)

    QTimer.singleShot(0, go)
    app.exec()
    elapsed = time.perf_counter() - started
    gaps.sort()
    emit(max_gap=gaps[-1] if gaps else None, p99=gaps[int(len(gaps) * 0.99)] if gaps else None,
         ticks=len(gaps), elapsed=elapsed, failures=failures,
         locked=(vault.path / (src.name + ".age")).is_file())


def preview(config: Path, vault_path: Path, locked: Path) -> None:
    """Time the preview dialog to its ``loaded`` signal, and the core calls it makes."""
    from vault_app.core.preview import preview_rows
    from vault_app.core.vault import Vault
    from vault_app.gui.app import create_application
    from vault_app.gui.dialogs.preview import PreviewDialog
    from vault_app.gui.tasks import Tasks

    app = create_application()
    vault = Vault.open(vault_path, user="alice", keystore=bench_keystore(config))
    vault.keys()
    figures: dict[str, object] = {}
    for verify in (False, True):
        start_ = time.perf_counter()
        with vault.open_reader(locked, verify_content=verify) as reader:
            rows = preview_rows(reader, locked.name[: -len(".age")], PREVIEW_ROWS).rows
        figures["core_verified" if verify else "core_quick"] = time.perf_counter() - start_
        figures["rows"] = len(rows)
    done: list[float] = []
    start_ = time.perf_counter()
    tasks = Tasks()
    dialog = PreviewDialog(vault, locked, tasks, limit=PREVIEW_ROWS)
    dialog.loaded.connect(lambda _p: (done.append(time.perf_counter()), app.quit()))
    dialog.failed.connect(lambda exc: (figures.setdefault("failed", repr(exc)), app.quit()))
    dialog.show()
    app.exec()
    figures["dialog"] = done[0] - start_ if done else None
    emit(**figures)


def main(argv: list[str]) -> None:
    mode, config, vault = argv[0], Path(argv[1]), Path(argv[2])
    if mode == "start":
        start(config, vault, int(argv[3]))
    elif mode == "stall":
        stall(config, vault, Path(argv[3]))
    elif mode == "preview":
        preview(config, vault, Path(argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
