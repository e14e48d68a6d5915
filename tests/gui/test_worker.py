"""TaskRunner: work off the UI thread, results back on it, throttled progress, cancel, queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from vault_app.core.errors import PayloadError
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.gui.worker import PROGRESS_INTERVAL, SpeedMeter, TaskRunner


@pytest.fixture
def runner(qtbot: Any) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    assert r.shutdown(5000), "worker thread did not stop"


def test_success_comes_back_on_the_ui_thread(qtbot: Any, runner: TaskRunner) -> None:
    ui_thread = threading.get_ident()
    seen: dict[str, Any] = {}

    def work(progress: ProgressFn, cancel: CancelToken) -> int:
        seen["worker"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        seen["callback"] = threading.get_ident()
        seen["value"] = value

    with qtbot.waitSignal(runner.task_finished, timeout=5000) as blocker:
        runner.run(work, label="answer", on_success=done)
    assert blocker.args == [42]
    assert seen["value"] == 42
    assert seen["worker"] != ui_thread
    assert seen["callback"] == ui_thread
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)


def test_failure_is_reported_with_the_exception(qtbot: Any, runner: TaskRunner) -> None:
    failures: list[BaseException] = []

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        raise PayloadError("chunk 3 failed authentication")

    with qtbot.waitSignal(runner.task_failed, timeout=5000) as blocker:
        runner.run(work, label="broken", on_failure=failures.append,
                   on_success=lambda _: pytest.fail("must not succeed"))
    assert isinstance(blocker.args[0], PayloadError)
    assert failures == [blocker.args[0]]


def test_ui_thread_runs_while_the_task_runs(qtbot: Any, runner: TaskRunner) -> None:
    """The task waits for an event that only the UI thread's event loop can set."""
    released = threading.Event()

    def work(progress: ProgressFn, cancel: CancelToken) -> str:
        if not released.wait(10):
            raise TimeoutError("the UI thread was blocked")
        return "ok"

    with qtbot.waitSignal(runner.task_finished, timeout=10000) as blocker:
        runner.run(work, label="wait")
        QTimer.singleShot(0, released.set)
    assert blocker.args == ["ok"]


def test_progress_is_throttled_and_ends_at_the_total(qtbot: Any, runner: TaskRunner) -> None:
    total = 200_000
    timing: dict[str, float] = {}
    reports: list[tuple[int, int, float]] = []
    runner.progress.connect(lambda d, t, s: reports.append((d, t, s)))

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        start = time.monotonic()
        for done in range(1, total + 1):
            progress(done)
        timing["elapsed"] = time.monotonic() - start

    with qtbot.waitSignal(runner.idle, timeout=20000):
        runner.run(work, label="count", total_bytes=total)
    # 200,000 calls in the worker; only a throttled few cross to the UI thread.
    allowed = timing["elapsed"] / PROGRESS_INTERVAL + 4
    assert 1 <= len(reports) <= allowed
    assert reports[-1][:2] == (total, total)
    assert all(t == total for _, t, _ in reports)
    dones = [d for d, _, _ in reports]
    assert dones == sorted(dones)


def test_cancel_is_a_normal_outcome(qtbot: Any, runner: TaskRunner) -> None:
    started = threading.Event()
    failures: list[object] = []
    runner.task_failed.connect(failures.append)

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.check()  # raises Cancelled once the UI asks
            time.sleep(0.001)

    with qtbot.waitSignal(runner.task_started, timeout=5000):
        runner.run(work, label="endless", on_failure=failures.append)
    assert started.wait(5)
    with qtbot.waitSignals([runner.task_cancelled, runner.idle], timeout=5000):
        runner.cancel_all()
    assert failures == []
    assert not runner.busy()


def test_queue_runs_in_order_with_overall_progress(qtbot: Any, runner: TaskRunner) -> None:
    order: list[str] = []
    queue_states: list[tuple[int, int]] = []
    totals: set[int] = set()
    runner.queue_changed.connect(lambda d, t: queue_states.append((d, t)))
    runner.progress.connect(lambda d, t, s: totals.add(t))
    gate = threading.Event()

    def make(name: str, size: int) -> Any:
        def work(progress: ProgressFn, cancel: CancelToken) -> str:
            gate.wait(10)  # held until all three are queued
            progress(size)
            return name
        return work

    runner.task_finished.connect(order.append)
    with qtbot.waitSignal(runner.idle, timeout=10000):
        runner.run(make("a", 100), label="a", total_bytes=100)
        runner.run(make("b", 200), label="b", total_bytes=200)
        runner.run(make("c", 300), label="c", total_bytes=300)
        assert runner.busy()
        gate.set()
    assert order == ["a", "b", "c"]
    assert queue_states[:3] == [(0, 1), (0, 2), (0, 3)]
    assert queue_states[-1] == (3, 3)
    assert 600 in totals
    assert not runner.busy()


def test_cancel_all_drops_queued_tasks(qtbot: Any, runner: TaskRunner) -> None:
    ran: list[str] = []
    cancelled: list[str] = []
    runner.task_cancelled.connect(cancelled.append)
    started = threading.Event()

    def first(progress: ProgressFn, cancel: CancelToken) -> None:
        ran.append("first")
        started.set()
        while True:
            cancel.check()  # raises Cancelled once cancel_all() cancels this task
            time.sleep(0.001)

    def second(progress: ProgressFn, cancel: CancelToken) -> None:
        ran.append("second")

    with qtbot.waitSignal(runner.task_started, timeout=5000):
        runner.run(first, label="first")
    runner.run(second, label="second")
    assert started.wait(5)
    with qtbot.waitSignal(runner.idle, timeout=5000):
        runner.cancel_all()
    assert ran == ["first"]
    assert sorted(cancelled) == ["first", "second"]


def test_speed_meter_uses_a_sliding_window() -> None:
    now = [0.0]
    meter = SpeedMeter(window=2.0, clock=lambda: now[0])
    assert meter.add(0) == 0.0
    now[0] = 1.0
    assert meter.add(100 * 2**20) == pytest.approx(100 * 2**20)
    now[0] = 4.0  # the first sample falls out of the window
    assert meter.add(400 * 2**20) == pytest.approx(100 * 2**20)


def test_queue_goes_on_after_a_failure(qtbot: Any, runner: TaskRunner) -> None:
    results: list[object] = []
    failures: list[BaseException] = []
    runner.task_finished.connect(results.append)
    runner.task_failed.connect(failures.append)

    def boom(progress: ProgressFn, cancel: CancelToken) -> None:
        raise MemoryError("simulated")

    with qtbot.waitSignal(runner.idle, timeout=5000):
        runner.run(boom, label="boom")
        runner.run(lambda progress, cancel: "after", label="after")
    assert [type(f) for f in failures] == [MemoryError]
    assert results == ["after"]


def test_a_task_queued_from_a_callback_runs_in_the_same_batch(qtbot: Any,
                                                              runner: TaskRunner) -> None:
    order: list[str] = []
    idles: list[None] = []
    runner.idle.connect(lambda: idles.append(None))

    def first_done(_value: object) -> None:
        order.append("first")
        runner.run(lambda progress, cancel: "second", label="second",
                   on_success=lambda v: order.append(str(v)))

    with qtbot.waitSignal(runner.task_finished, timeout=5000,
                          check_params_cb=lambda v: v == "second"):
        runner.run(lambda progress, cancel: "first", label="first", on_success=first_done)
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)
    assert order == ["first", "second"]
    assert len(idles) == 1


_STRESS = """
import gc, sys
from PySide6.QtCore import QCoreApplication
from vault_app.gui.worker import TaskRunner

app = QCoreApplication(sys.argv)
runner = TaskRunner()
n = int(sys.argv[1])
done = []

def finished(_value):
    done.append(None)
    if len(done) % 100 == 0:
        gc.collect()   # frees whatever the runner no longer holds, while jobs still run
    if len(done) == n:
        app.quit()

for i in range(n):
    runner.run(lambda progress, cancel: bytearray(64), label=str(i), on_success=finished)
app.exec()
assert runner.shutdown(5000)
del runner
gc.collect()
print("ok", len(done))
"""


def test_many_tiny_tasks_then_exit_do_not_crash() -> None:
    """Thousands of short jobs, then shutdown and interpreter exit, in a fresh process.

    Catches a pool job freed while the pool thread still runs it, and PySide builds whose
    signal emission corrupts refcounts (6.12.0 on Python 3.11 crashes here)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _STRESS, "3000"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok", "3000"]


def test_emitting_a_signal_leaves_python_bools_alone(qtbot: Any, runner: TaskRunner) -> None:
    """PySide6 6.12.0 drops a reference to True on every Python-side emit; after a few
    hundred emits CPython 3.11 aborts ("deallocating True or False")."""
    import sys

    seen: list[int] = []
    runner.queue_changed.connect(lambda done, total: seen.append(done))
    before = sys.getrefcount(True)
    for i in range(300):
        runner.queue_changed.emit(i, 300)
    lost = before - sys.getrefcount(True)
    assert len(seen) == 300
    assert lost < 100, f"{lost} references to True lost over 300 emits (broken PySide build)"
