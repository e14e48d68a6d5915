"""ProgressPanel: shows the running task, overall progress, speed, file n of m; Cancel works."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.gui.dialogs.progress import (
    BAR_STEPS,
    ProgressPanel,
    format_bytes,
    format_remaining,
    format_speed,
)
from vault_app.gui.worker import TaskRunner


@pytest.fixture
def runner(qtbot: Any) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    assert r.shutdown(5000)


def test_formats() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1500) == "1.5 kB"
    assert format_speed(123_000_000) == "123 MB/s"
    assert format_speed(2.5e9) == "2.5 GB/s"
    assert format_remaining(12.4) == "about 12 s left"
    assert format_remaining(600) == "about 10 min left"
    assert format_remaining(3 * 3600 + 5 * 60) == "about 3 h 05 min left"


def test_panel_follows_a_queue_and_hides_when_idle(qtbot: Any, runner: TaskRunner) -> None:
    panel = ProgressPanel(runner)
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

    with qtbot.waitSignal(runner.task_started, timeout=5000):
        runner.run(first, label="Locking a.csv", total_bytes=1000)
        runner.run(second, label="Locking b.csv", total_bytes=1000)
    assert halfway.wait(5)
    qtbot.waitUntil(lambda: panel.bar.value() == BAR_STEPS // 4, timeout=5000)
    seen["label"] = panel.label.text()
    seen["count"] = panel.count.text()
    seen["visible"] = not panel.isHidden()
    with qtbot.waitSignal(runner.idle, timeout=5000):
        gate.set()
    assert seen == {"label": "Locking a.csv", "count": "file 1 of 2", "visible": True}
    assert panel.isHidden()


def test_cancel_button_cancels(qtbot: Any, runner: TaskRunner) -> None:
    panel = ProgressPanel(runner)
    qtbot.addWidget(panel)
    panel.show()
    started = threading.Event()
    cancelled: list[str] = []
    runner.task_cancelled.connect(cancelled.append)

    def endless(progress: ProgressFn, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.check()
            time.sleep(0.001)

    runner.run(endless, label="Locking huge.bin", total_bytes=10**12)
    assert started.wait(5)
    assert panel.cancel_button.accessibleName() == "Cancel the running operation"
    with qtbot.waitSignal(runner.idle, timeout=5000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert cancelled == ["Locking huge.bin"]
