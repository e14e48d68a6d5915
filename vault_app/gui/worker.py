"""TaskRunner: the one helper for long work (Anki-style).

A plain core function goes in; it runs on a worker thread; success or failure comes
back on the UI thread. Tasks queue and run one at a time (writes to a vault are
serialized). Progress from the worker thread is throttled and crosses to the UI
thread through queued signals, so the UI thread is never blocked and never flooded.
``Cancelled`` is a normal outcome: it is reported by ``task_cancelled``, never as a
failure.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from vault_app.core.errors import Cancelled
from vault_app.core.progress import CancelToken, ProgressFn

log = logging.getLogger(__name__)

#: Seconds between two progress signals from one task (at most ~20 per second).
PROGRESS_INTERVAL = 0.05
#: Seconds of history used for the bytes-per-second figure.
SPEED_WINDOW = 2.0

Task = Callable[..., Any]


@dataclass
class _Job:
    ident: int
    fn: Task
    label: str
    total_bytes: int
    on_success: Callable[[Any], None] | None
    on_failure: Callable[[BaseException], None] | None
    cancel: CancelToken = field(default_factory=CancelToken)


class SpeedMeter:
    """Bytes per second over a sliding window (UI thread only; clock can be injected)."""

    def __init__(self, window: float = SPEED_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def reset(self) -> None:
        self._samples.clear()

    def add(self, done: int) -> float:
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        if now - t0 <= 0:
            return 0.0
        return max(0.0, (done - b0) / (now - t0))


class _Bridge(QObject):
    """Lives on the UI thread; the worker emits these, Qt queues them across threads."""

    progressed = Signal(int, "qlonglong")  # type: ignore[arg-type]  # job id, bytes done
    succeeded = Signal(int, object)         # job id, result
    failed = Signal(int, object)            # job id, exception


class _Runnable(QRunnable):
    def __init__(self, job: _Job, bridge: _Bridge, interval: float) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner holds the reference until the job reports
        self._job = job
        self._bridge = bridge
        self._interval = interval

    def run(self) -> None:  # worker thread
        job, bridge = self._job, self._bridge
        last = [0.0]

        def report(done: int) -> None:
            now = time.monotonic()
            if now - last[0] >= self._interval:
                last[0] = now
                bridge.progressed.emit(job.ident, int(done))

        try:
            job.cancel.check()
            result = job.fn(progress=report, cancel=job.cancel)
        except BaseException as exc:  # reported on the UI thread, never swallowed
            bridge.failed.emit(job.ident, exc)
        else:
            bridge.succeeded.emit(job.ident, result)


class TaskRunner(QObject):
    """Runs plain core functions off the UI thread, one queue, results back on the UI thread.

    ``fn`` is called as ``fn(progress=<ProgressFn>, cancel=<CancelToken>)``. Callbacks and
    signals are delivered on the thread that owns the runner (the UI thread).
    ``progress`` carries the overall figures of the current batch (all tasks queued since
    the runner was last idle).
    """

    # 64-bit counts (a Signal(int) is 32-bit in Qt): bytes_done, bytes_total, bytes/s
    progress = Signal("qlonglong", "qlonglong", float)  # type: ignore[arg-type]
    queue_changed = Signal(int, int)                     # done_tasks, total_tasks
    task_started = Signal(str)                           # label of the task now running
    task_finished = Signal(object)                       # result
    task_failed = Signal(object)                         # exception (never Cancelled)
    task_cancelled = Signal(str)                         # label
    idle = Signal()

    def __init__(self, parent: QObject | None = None, *,
                 progress_interval: float = PROGRESS_INTERVAL) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._bridge = _Bridge(self)
        queued = Qt.ConnectionType.QueuedConnection
        self._bridge.progressed.connect(self._on_progress, queued)
        self._bridge.succeeded.connect(self._on_succeeded, queued)
        self._bridge.failed.connect(self._on_failed, queued)
        self._interval = progress_interval
        self._pending: deque[_Job] = deque()
        self._current: _Job | None = None
        self._runnable: _Runnable | None = None
        # A job reports from inside run(); the pool thread is still in PySide's run()
        # wrapper for a moment after that, so the runnable is kept until the next job has
        # reported (one pool thread: the previous run() has fully returned by then) or
        # until the pool is idle (wait()).
        self._retired: _Runnable | None = None
        self._next_id = 1
        self._done_tasks = 0
        self._total_tasks = 0
        self._bytes_before = 0      # bytes of finished tasks in this batch
        self._bytes_total = 0
        self._speed = SpeedMeter()

    # -- public API ---------------------------------------------------------------------
    def run(self, fn: Task, *, label: str, total_bytes: int = 0,
            on_success: Callable[[Any], None] | None = None,
            on_failure: Callable[[BaseException], None] | None = None) -> None:
        """Queue ``fn``; it starts as soon as the tasks before it are done."""
        job = _Job(self._next_id, fn, label, max(0, int(total_bytes)), on_success, on_failure)
        self._next_id += 1
        self._pending.append(job)
        self._total_tasks += 1
        self._bytes_total += job.total_bytes
        self.queue_changed.emit(self._done_tasks, self._total_tasks)
        if self._current is None:
            self._start_next()

    def cancel_all(self) -> None:
        """Cancel the running task (it raises Cancelled at its next check) and drop the rest."""
        dropped = list(self._pending)
        self._pending.clear()
        for job in dropped:
            self._done_tasks += 1
            self._bytes_total -= job.total_bytes
            self.task_cancelled.emit(job.label)
        if self._current is not None:
            self._current.cancel.cancel()
        if dropped:
            self.queue_changed.emit(self._done_tasks, self._total_tasks)
        if self._current is None and dropped:
            self._finish_batch()

    def busy(self) -> bool:
        return self._current is not None or bool(self._pending)

    def current_label(self) -> str | None:
        return self._current.label if self._current is not None else None

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker thread is done (shutdown and tests only, never in a slot)."""
        done = bool(self._pool.waitForDone(msecs))
        if done:
            self._retired = None   # the pool thread no longer touches it
        return done

    def shutdown(self, msecs: int = 5000) -> bool:
        """Cancel everything and wait for the worker thread (application exit)."""
        self.cancel_all()
        return self.wait(msecs)

    # -- internals (UI thread) ------------------------------------------------------------
    def _start_next(self) -> None:
        self._retired = self._runnable
        if not self._pending:
            self._current = None
            self._runnable = None
            self._finish_batch()
            return
        job = self._pending.popleft()
        self._current = job
        self._runnable = _Runnable(job, self._bridge, self._interval)
        self.task_started.emit(job.label)
        self.progress.emit(self._bytes_before, self._bytes_total, self._speed.add(
            self._bytes_before))
        self._pool.start(self._runnable)

    def _finish_batch(self) -> None:
        self._done_tasks = self._total_tasks = 0
        self._bytes_before = self._bytes_total = 0
        self._speed.reset()
        self.idle.emit()

    @Slot(int, "qlonglong")
    def _on_progress(self, ident: int, done: int) -> None:
        job = self._current
        if job is None or job.ident != ident:
            return  # a late report from a task that already ended
        if job.total_bytes:
            done = min(done, job.total_bytes)
        overall = self._bytes_before + done
        self.progress.emit(overall, self._bytes_total, self._speed.add(overall))

    def _end_current(self) -> _Job:
        job = self._current
        assert job is not None
        self._done_tasks += 1
        self._bytes_before += job.total_bytes
        self.progress.emit(self._bytes_before, self._bytes_total,
                           self._speed.add(self._bytes_before))
        self.queue_changed.emit(self._done_tasks, self._total_tasks)
        return job

    @Slot(int, object)
    def _on_succeeded(self, ident: int, result: object) -> None:
        if self._current is None or self._current.ident != ident:
            return
        job = self._end_current()
        try:
            if job.on_success is not None:
                job.on_success(result)
        finally:
            self.task_finished.emit(result)
            self._start_next()

    @Slot(int, object)
    def _on_failed(self, ident: int, exc: BaseException) -> None:
        if self._current is None or self._current.ident != ident:
            return
        job = self._end_current()
        try:
            if isinstance(exc, Cancelled):
                self.task_cancelled.emit(job.label)
                return
            log.debug("task %r failed: %s", job.label, type(exc).__name__)
            try:
                if job.on_failure is not None:
                    job.on_failure(exc)
            finally:
                self.task_failed.emit(exc)
        finally:
            self._start_next()


__all__ = ["PROGRESS_INTERVAL", "CancelToken", "ProgressFn", "SpeedMeter", "TaskRunner"]
