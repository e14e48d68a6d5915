"""Tasks: work off the UI thread, results back on it; the change lane (throttled progress,
cancel, one queue, ``changed``) and the read lane (concurrent, never behind a change)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QTimer

from vault_app.core.errors import Cancelled, PayloadError
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.gui.tasks import PROGRESS_INTERVAL, SpeedMeter, Tasks


def test_success_comes_back_on_the_ui_thread(qtbot: Any, tasks: Tasks) -> None:
    ui_thread = threading.get_ident()
    seen: dict[str, Any] = {}

    def work(progress: ProgressFn, cancel: CancelToken) -> int:
        seen["worker"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        seen["callback"] = threading.get_ident()
        seen["value"] = value

    with qtbot.waitSignal(tasks.idle, timeout=5000):
        tasks.change(work, label="answer", on_success=done)
    assert seen["value"] == 42
    assert seen["worker"] != ui_thread
    assert seen["callback"] == ui_thread
    assert not tasks.busy()


def test_failure_is_reported_with_the_exception(qtbot: Any, tasks: Tasks) -> None:
    failures: list[BaseException] = []

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        raise PayloadError("chunk 3 failed authentication")

    with qtbot.waitSignal(tasks.task_failed, timeout=5000) as blocker:
        tasks.change(work, label="broken", on_failure=failures.append,
                     on_success=lambda _: pytest.fail("must not succeed"))
    assert isinstance(blocker.args[0], PayloadError)
    assert failures == [blocker.args[0]]


def test_ui_thread_runs_while_the_task_runs(qtbot: Any, tasks: Tasks) -> None:
    """The task waits for an event that only the UI thread's event loop can set."""
    released = threading.Event()

    def work(progress: ProgressFn, cancel: CancelToken) -> str:
        if not released.wait(10):
            raise TimeoutError("the UI thread was blocked")
        return "ok"

    got: list[str] = []
    with qtbot.waitSignal(tasks.idle, timeout=10000):
        tasks.change(work, label="wait", on_success=got.append)
        QTimer.singleShot(0, released.set)
    assert got == ["ok"]


def test_progress_is_throttled_and_ends_at_the_total(qtbot: Any, tasks: Tasks) -> None:
    total = 200_000
    timing: dict[str, float] = {}
    reports: list[tuple[int, int, float]] = []
    tasks.progress.connect(lambda d, t, s: reports.append((d, t, s)))

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        start = time.monotonic()
        for done in range(1, total + 1):
            progress(done)
        timing["elapsed"] = time.monotonic() - start

    with qtbot.waitSignal(tasks.idle, timeout=20000):
        tasks.change(work, label="count", total_bytes=total)
    # 200,000 calls in the worker; only a throttled few cross to the UI thread.
    allowed = timing["elapsed"] / PROGRESS_INTERVAL + 4
    assert 1 <= len(reports) <= allowed
    assert reports[-1][:2] == (total, total)
    assert all(t == total for _, t, _ in reports)
    dones = [d for d, _, _ in reports]
    assert dones == sorted(dones)


def test_cancel_is_a_normal_outcome(qtbot: Any, tasks: Tasks) -> None:
    started = threading.Event()
    failures: list[object] = []
    tasks.task_failed.connect(failures.append)

    def work(progress: ProgressFn, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.check()  # raises Cancelled once the UI asks
            time.sleep(0.001)

    with qtbot.waitSignal(tasks.task_started, timeout=5000):
        tasks.change(work, label="endless", on_failure=failures.append)
    assert started.wait(5)
    with qtbot.waitSignals([tasks.task_cancelled, tasks.idle], timeout=5000):
        tasks.cancel_all()
    assert failures == []
    assert not tasks.busy()


def test_queue_runs_in_order_with_overall_progress(qtbot: Any, tasks: Tasks) -> None:
    order: list[str] = []
    queue_states: list[tuple[int, int]] = []
    totals: set[int] = set()
    tasks.queue_changed.connect(lambda d, t: queue_states.append((d, t)))
    tasks.progress.connect(lambda d, t, s: totals.add(t))
    gate = threading.Event()

    def make(name: str, size: int) -> Any:
        def work(progress: ProgressFn, cancel: CancelToken) -> str:
            gate.wait(10)  # held until all three are queued
            progress(size)
            return name
        return work

    with qtbot.waitSignal(tasks.idle, timeout=10000):
        for name, size in (("a", 100), ("b", 200), ("c", 300)):
            tasks.change(make(name, size), label=name, total_bytes=size,
                         on_success=order.append)
        assert tasks.busy()
        gate.set()
    assert order == ["a", "b", "c"]
    assert queue_states[:3] == [(0, 1), (0, 2), (0, 3)]
    assert queue_states[-1] == (3, 3)
    assert 600 in totals
    assert not tasks.busy()


def test_cancel_all_drops_queued_tasks(qtbot: Any, tasks: Tasks) -> None:
    ran: list[str] = []
    cancelled: list[str] = []
    tasks.task_cancelled.connect(cancelled.append)
    started = threading.Event()

    def first(progress: ProgressFn, cancel: CancelToken) -> None:
        ran.append("first")
        started.set()
        while not cancel.cancelled:
            time.sleep(0.001)
        raise Cancelled()

    def second(progress: ProgressFn, cancel: CancelToken) -> None:
        ran.append("second")

    with qtbot.waitSignal(tasks.task_started, timeout=5000):
        tasks.change(first, label="first")
    tasks.change(second, label="second")
    assert started.wait(5)
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        tasks.cancel_all()
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


def test_queue_goes_on_after_a_failure(qtbot: Any, tasks: Tasks) -> None:
    results: list[object] = []
    failures: list[BaseException] = []
    tasks.task_failed.connect(failures.append)

    def boom(progress: ProgressFn, cancel: CancelToken) -> None:
        raise MemoryError("simulated")

    with qtbot.waitSignal(tasks.idle, timeout=5000):
        tasks.change(boom, label="boom", on_failure=lambda _exc: None)
        tasks.change(lambda progress, cancel: "after", label="after",
                     on_success=results.append)
    assert [type(f) for f in failures] == [MemoryError]
    assert results == ["after"]


def test_a_task_queued_from_a_callback_runs_in_the_same_batch(qtbot: Any,
                                                              tasks: Tasks) -> None:
    order: list[str] = []
    idles: list[None] = []
    tasks.idle.connect(lambda: idles.append(None))

    def first_done(_value: object) -> None:
        order.append("first")
        tasks.change(lambda progress, cancel: "second", label="second",
                     on_success=lambda v: order.append(str(v)))

    with qtbot.waitSignal(tasks.idle, timeout=5000):
        tasks.change(lambda progress, cancel: "first", label="first", on_success=first_done)
    assert order == ["first", "second"]
    assert len(idles) == 1


_STRESS = """
import gc, sys
from PySide6.QtCore import QCoreApplication
from vault_app.gui.tasks import Tasks

app = QCoreApplication(sys.argv)
tasks = Tasks()
n = int(sys.argv[1])
done = []

def finished(_value):
    done.append(None)
    if len(done) % 100 == 0:
        gc.collect()   # frees whatever the tasks no longer holds, while jobs still run
    if len(done) == n:
        app.quit()

for i in range(n):
    tasks.change(lambda progress, cancel: bytearray(64), label=str(i), on_success=finished)
    tasks.read(lambda: bytearray(64), on_success=finished)
n *= 2
app.exec()
assert tasks.shutdown(5000)
del tasks
gc.collect()
print("ok", len(done))
"""


def test_many_tiny_tasks_then_exit_do_not_crash() -> None:
    """Thousands of short changes and reads, then shutdown and interpreter exit, in a
    fresh process.

    Catches work freed while a worker thread still runs it, and PySide builds whose
    signal emission corrupts refcounts (6.12.0 on Python 3.11 crashes here)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _STRESS, "3000"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok", "6000"]


def test_emitting_a_signal_leaves_python_bools_alone(qtbot: Any, tasks: Tasks) -> None:
    """PySide6 6.12.0 drops a reference to True on every Python-side emit; after a few
    hundred emits CPython 3.11 aborts ("deallocating True or False")."""
    import sys

    seen: list[int] = []
    tasks.queue_changed.connect(lambda done, total: seen.append(done))
    before = sys.getrefcount(True)
    for i in range(300):
        tasks.queue_changed.emit(i, 300)
    lost = before - sys.getrefcount(True)
    assert len(seen) == 300
    assert lost < 100, f"{lost} references to True lost over 300 emits (broken PySide build)"


# -- the read lane, ``changed``, failures, owners ---------------------------------------------
@contextlib.contextmanager
def reads_done(qtbot: Any, tasks: Tasks) -> Iterator[None]:
    """Run the block, then let the event loop run until every read has reported."""
    yield
    qtbot.waitUntil(lambda: not tasks.reading_now(), timeout=10000)


def test_a_read_is_not_held_behind_a_change(qtbot: Any, tasks: Tasks) -> None:
    gate = threading.Event()
    got: list[object] = []
    with qtbot.waitSignal(tasks.task_started, timeout=5000):
        tasks.change(lambda progress, cancel: gate.wait(10), label="a long lock")
    with reads_done(qtbot, tasks):
        tasks.read(lambda: "header", on_success=got.append)
    assert got == ["header"] and tasks.busy()   # the change is still running
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        gate.set()


def test_reads_run_side_by_side(qtbot: Any, tasks: Tasks) -> None:
    """Two reads that can only finish together: a long read never holds up the others."""
    both = threading.Barrier(2, timeout=5)
    got: list[int] = []
    with reads_done(qtbot, tasks):
        tasks.read(lambda: both.wait(), on_success=got.append, on_failure=pytest.fail)
        tasks.read(lambda: both.wait(), on_success=got.append, on_failure=pytest.fail)
    assert sorted(got) == [0, 1]


def test_changed_names_the_files_a_change_touched(qtbot: Any, tasks: Tasks,
                                                  tmp_path: Any) -> None:
    announced: list[tuple[object, object]] = []
    tasks.changed.connect(lambda paths, result: announced.append((paths, result)))
    out = tmp_path / "out.csv"
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        tasks.change(lambda progress, cancel: out, label="unlock",
                     touches=lambda result: [result])
        tasks.change(lambda progress, cancel: "shared", label="share", touches=[tmp_path])
        tasks.change(lambda progress, cancel: None, label="no files")
        tasks.change(lambda progress, cancel: 1 / 0, label="broken", touches=[tmp_path],
                     on_failure=lambda _exc: None)
    assert announced == [((out,), out), ((tmp_path,), "shared")]


def test_a_failure_shows_the_error_dialog_unless_the_caller_handles_it(qtbot: Any) -> None:
    from gui_support import find_dialog
    from PySide6.QtWidgets import QMessageBox, QWidget

    window = QWidget()
    qtbot.addWidget(window)
    tasks = Tasks(window)

    def broken() -> None:
        raise PayloadError("chunk 3 failed authentication")

    handled: list[BaseException] = []
    with reads_done(qtbot, tasks):
        tasks.read(broken, what="read b.csv", on_failure=handled.append)
        tasks.read(lambda: (_ for _ in ()).throw(Cancelled()), what="read c.csv")
    assert [type(e) for e in handled] == [PayloadError]
    assert find_dialog(QMessageBox, "errorBox") is None   # handled, or cancelled
    with reads_done(qtbot, tasks):
        tasks.read(broken, what="read a.csv")
    box = find_dialog(QMessageBox, "errorBox")
    assert box is not None and box.parent() is window
    assert "Could not read a.csv." in box.informativeText()
    box.accept()
    assert tasks.shutdown(5000)


def test_cancelled_read_is_dropped(qtbot: Any, tasks: Tasks) -> None:
    got: list[object] = []
    with reads_done(qtbot, tasks):
        token = tasks.read(lambda: "late", on_success=got.append)
        token.cancel()   # before the result could be delivered
    assert got == []


def test_a_deleted_owner_gets_no_callback(qtbot: Any, tasks: Tasks) -> None:
    from PySide6.QtWidgets import QWidget

    owner = QWidget()
    gate = threading.Event()
    got: list[object] = []
    tasks.read(lambda: gate.wait(5), owner=owner, on_success=got.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    with reads_done(qtbot, tasks):
        gate.set()
    assert got == []


def test_work_ending_after_its_tasks_was_deleted_is_dropped(qtbot: Any) -> None:
    """A dialog owning a Tasks closes while a read runs: the late result goes nowhere."""
    from PySide6.QtWidgets import QWidget

    dialog = QWidget()
    tasks = Tasks(dialog)
    gate = threading.Event()
    ended = threading.Event()
    got: list[object] = []

    def read() -> str:
        gate.wait(5)
        ended.set()
        return "late"

    tasks.read(read, on_success=got.append)
    workers = tasks._read_workers
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(tasks))
    gate.set()
    assert workers.wait(5000)   # the result has been posted to the UI thread...
    QCoreApplication.processEvents()   # ...and is delivered now (and dropped)
    assert ended.is_set() and got == []


def test_a_labelled_read_is_announced_while_it_runs(qtbot: Any, tasks: Tasks) -> None:
    gate = threading.Event()
    labels: list[str] = []
    tasks.reading.connect(labels.append)
    tasks.read(lambda: gate.wait(5), label="Verifying 3 file(s)")
    tasks.read(lambda: None)   # unlabelled reads are not announced
    with reads_done(qtbot, tasks):
        gate.set()
    assert labels == ["Verifying 3 file(s)", ""]
