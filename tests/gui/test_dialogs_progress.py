"""ProgressPanel: shows the running task, overall progress, speed, file n of m; Cancel works."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import Qt

from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.gui.dialogs.progress import (
    BAR_STEPS,
    ProgressPanel,
    format_remaining,
    format_speed,
)
from vault_app.gui.tasks import Tasks


def test_formats() -> None:
    assert format_speed(999) == "999 B/s"
    assert format_speed(123 << 20) == "123.0 MiB/s"
    assert format_speed(2.5 * (1 << 30)) == "2.5 GiB/s"
    assert format_remaining(12.4) == "about 12 s left"
    assert format_remaining(600) == "about 10 min left"
    assert format_remaining(3 * 3600 + 5 * 60) == "about 3 h 05 min left"


def test_panel_follows_a_queue_and_hides_when_idle(qtbot: Any, tasks: Tasks) -> None:
    panel = ProgressPanel(tasks)
    qtbot.addWidget(panel)
    assert panel.isHidden()
    gate = threading.Event()
    halfway = threading.Event()
    seen: dict[str, Any] = {}

    def first(progress: ProgressFn, cancel: CancelToken) -> None:
        progress(500)
        halfway.set()
        gate.wait(10)
        progress(1000)

    def second(progress: ProgressFn, cancel: CancelToken) -> None:
        progress(1000)

    with qtbot.waitSignal(tasks.task_started, timeout=5000):
        tasks.change(first, label="Locking a.csv", total_bytes=1000)
        tasks.change(second, label="Locking b.csv", total_bytes=1000)
    assert halfway.wait(5)
    qtbot.waitUntil(lambda: panel.bar.value() == BAR_STEPS // 4, timeout=5000)
    seen["label"] = panel.label.text()
    seen["count"] = panel.count.text()
    seen["visible"] = not panel.isHidden()
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        gate.set()
    assert seen == {"label": "Locking a.csv", "count": "file 1 of 2", "visible": True}
    assert panel.isHidden()


def test_cancel_button_cancels(qtbot: Any, tasks: Tasks) -> None:
    panel = ProgressPanel(tasks)
    qtbot.addWidget(panel)
    panel.show()
    started = threading.Event()
    cancelled: list[str] = []
    tasks.task_cancelled.connect(cancelled.append)

    def endless(progress: ProgressFn, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.check()
            time.sleep(0.001)

    tasks.change(endless, label="Locking huge.bin", total_bytes=10**12)
    assert started.wait(5)
    assert panel.cancel_button.accessibleName() == "Cancel the running operation"
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert cancelled == ["Locking huge.bin"]


def test_a_labelled_read_shows_as_busy_without_cancel(qtbot: Any, tasks: Tasks) -> None:
    """Verify runs on the read lane: the panel says so, and a change takes precedence."""
    panel = ProgressPanel(tasks)
    qtbot.addWidget(panel)
    reading, changing = threading.Event(), threading.Event()
    with qtbot.waitSignal(tasks.reading, timeout=5000):
        tasks.read(lambda: reading.wait(10), label="Verifying 4 file(s)")
    assert not panel.isHidden() and panel.label.text() == "Verifying 4 file(s)"
    assert panel.bar.maximum() == 0 and panel.cancel_button.isHidden()
    with qtbot.waitSignal(tasks.task_started, timeout=5000):
        tasks.change(lambda progress, cancel: changing.wait(10), label="Locking a.csv",
                     total_bytes=10)
    assert panel.label.text() == "Locking a.csv" and not panel.cancel_button.isHidden()
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        changing.set()
    assert panel.label.text() == "Verifying 4 file(s)"   # back to the read still running
    reading.set()
    qtbot.waitUntil(panel.isHidden, timeout=5000)
