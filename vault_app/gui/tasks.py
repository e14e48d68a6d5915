"""Tasks: the window's one helper for background work, in two lanes (after Anki's
``aqt.operations``: ``QueryOp`` for reads, ``CollectionOp`` for changes).

A plain core function goes in, runs on a worker thread, and its success or failure
comes back on the UI thread, so the UI thread never waits for the disk or the crypto.

* The **change lane** (``change``) runs lock, unlock, share, revoke, member changes and
  the like one at a time, in the order asked (writes to a vault are serialized). Each
  is called as ``fn(progress=..., cancel=...)``; progress crosses to the UI thread at
  most ~20 times a second, with bytes per second and the totals of the queue (what the
  status bar's ProgressPanel shows), and ``cancel_all`` stops the running change at its
  next check and drops the queued ones. After a change succeeds, ``changed(paths,
  result)`` says which files it touched, so the file list refreshes those rows itself.
* The **read lane** (``read``) runs header reads, listing details, the preview and
  verify on a few threads of its own, so a read never waits behind a long change and a
  change's result never waits behind reads. A read is called as ``fn()``.

Failures go to a default handler, the error dialog, unless the caller passes its own;
``Cancelled`` is a normal outcome in both lanes: no handler, no dialog. A callback whose
``owner`` (a dialog, the model) has been deleted by then is not called.

PySide lifetime rules, kept here and nowhere else: worker threads are plain Python
threads that touch exactly one Qt object, a bridge parented to the application (so it
outlives every worker), and hold no Qt object of the caller: the work function and its
arguments only. Results reach a ``Tasks`` through a weak reference, checked on the UI
thread, so a ``Tasks`` (or a dialog that owns one) may be deleted while work runs.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from vault_app.core.errors import Cancelled
from vault_app.core.progress import CancelToken
from vault_app.gui.dialogs.errors import show_error

log = logging.getLogger(__name__)

#: Seconds between two progress reports from one change (at most ~20 per second).
PROGRESS_INTERVAL = 0.05
#: Seconds of history used for the bytes-per-second figure.
SPEED_WINDOW = 2.0
#: Threads of the read lane: a long read (verify, a preview's digest check) leaves
#: others free for the headers of the rows on screen.
READ_THREADS = 3
#: A worker thread idle this long ends (a window doing nothing keeps no threads).
IDLE_EXIT = 10.0

Change = Callable[..., Any]            # fn(progress=..., cancel=...) -> result
Read = Callable[[], Any]               # fn() -> result
Touches = Iterable[Path] | Callable[[Any], Iterable[Path]]


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


# -- the crossing from worker threads to the UI thread ------------------------------------
class _Bridge(QObject):
    """The one Qt object worker threads touch. A child of the application, so it lives
    until the application ends; what it carries is delivered on the UI thread."""

    delivered = Signal(object)   # (weak ref to a Tasks, method name, args)

    @Slot(object)
    def _deliver(self, item: tuple[weakref.ref[Tasks], str, tuple[Any, ...]]) -> None:
        target, method, args = item
        tasks = target()
        if tasks is not None and shiboken6.isValid(tasks):
            getattr(tasks, method)(*args)


_BRIDGE: _Bridge | None = None


def _bridge() -> _Bridge:
    global _BRIDGE
    if _BRIDGE is None or not shiboken6.isValid(_BRIDGE):
        _BRIDGE = _Bridge(QCoreApplication.instance())
        _BRIDGE.delivered.connect(_BRIDGE._deliver, Qt.ConnectionType.QueuedConnection)
    return _BRIDGE


class _Post:
    """What a worker uses to report: ``post("_method", *args)`` runs it on the UI thread."""

    def __init__(self, tasks: Tasks) -> None:
        self._bridge = _bridge()
        self._target = weakref.ref(tasks)

    def __call__(self, method: str, *args: Any) -> None:
        if shiboken6.isValid(self._bridge):   # gone only while the application exits
            self._bridge.delivered.emit((self._target, method, args))


class _Workers:
    """Up to ``limit`` daemon threads taking work from one queue, started as needed."""

    def __init__(self, name: str, limit: int) -> None:
        self._name = name
        self._limit = limit
        self._work: deque[Callable[[], None]] = deque()
        self._cond = threading.Condition()
        self._threads = self._idle = self._running = 0

    def submit(self, work: Callable[[], None]) -> None:
        with self._cond:
            self._work.append(work)
            if len(self._work) > self._idle and self._threads < self._limit:
                self._threads += 1
                threading.Thread(target=self._loop, name=f"{self._name}-{self._threads}",
                                 daemon=True).start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + IDLE_EXIT
                while not self._work:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._threads -= 1
                        return
                    self._idle += 1
                    self._cond.wait(left)
                    self._idle -= 1
                work = self._work.popleft()
                self._running += 1
            try:
                work()
            finally:
                del work   # the work function's references go here, not later
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def wait(self, msecs: int = -1) -> bool:
        """Block until no work is queued or running (shutdown and tests only)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._work and not self._running,
                                       None if msecs < 0 else msecs / 1000)


def _run_change(post: _Post, ident: int, fn: Change, cancel: CancelToken) -> None:  # worker
    last = 0.0

    def report(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL:
            last = now
            post("_change_progress", ident, int(done))

    try:
        cancel.check()
        result = fn(progress=report, cancel=cancel)
    except BaseException as exc:  # reported on the UI thread, never swallowed
        post("_change_ended", ident, False, exc)
    else:
        post("_change_ended", ident, True, result)


def _run_read(post: _Post, ident: int, fn: Read, cancel: CancelToken) -> None:  # worker
    try:
        cancel.check()
        result = fn()
    except BaseException as exc:
        post("_read_ended", ident, False, exc)
    else:
        post("_read_ended", ident, True, result)


@dataclass
class _Job:
    label: str
    what: str
    on_success: Callable[[Any], None] | None
    on_failure: Callable[[BaseException], None] | None
    owner: QObject | None
    cancel: CancelToken = field(default_factory=CancelToken)
    total_bytes: int = 0
    touches: Touches = ()
    fn: Change | None = None   # a change, until it starts


class Tasks(QObject):
    """Background work in two lanes; every signal and callback arrives on the UI thread.

    ``progress`` carries the overall figures of the current batch of changes (all queued
    since the change lane was last idle).
    """

    # -- the change lane (the status bar's ProgressPanel shows it) ------------------------
    # 64-bit counts (a Signal(int) is 32-bit in Qt): bytes_done, bytes_total, bytes/s
    progress = Signal("qlonglong", "qlonglong", float)  # type: ignore[arg-type]
    queue_changed = Signal(int, int)                     # done_tasks, total_tasks
    task_started = Signal(str)                           # label of the change now running
    task_failed = Signal(object)                         # exception (never Cancelled)
    task_cancelled = Signal(str)                         # label
    idle = Signal()
    #: A change succeeded: the files it touched (tuple of Path) and its result.
    changed = Signal(object, object)
    # -- the read lane ----------------------------------------------------------------------
    #: The label of the oldest labelled read still running ("" once there is none).
    reading = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._post = _Post(self)
        self._change_workers = _Workers("vault-change", 1)
        self._read_workers = _Workers("vault-read", READ_THREADS)
        self._ids = itertools.count(1)
        self._pending: deque[tuple[int, _Job]] = deque()
        self._current: tuple[int, _Job] | None = None
        self._reads: dict[int, _Job] = {}
        self._reading = ""
        self._done_tasks = self._total_tasks = 0
        self._bytes_before = self._bytes_total = 0   # finished changes / all, this batch
        self._speed = SpeedMeter()

    # -- public API -------------------------------------------------------------------------
    def change(self, fn: Change, *, label: str, what: str = "", total_bytes: int = 0,
               touches: Touches = (), on_success: Callable[[Any], None] | None = None,
               on_failure: Callable[[BaseException], None] | None = None,
               owner: QObject | None = None) -> None:
        """Queue a change; it starts once the changes before it are done.

        ``touches``: the files it changes, or a function of its result giving them
        (announced by ``changed``). ``what`` completes "Could not ..." in the default
        error dialog; ``on_failure`` replaces that dialog.
        """
        job = _Job(label, what or f'finish "{label}"', on_success, on_failure, owner,
                   total_bytes=max(0, int(total_bytes)), touches=touches, fn=fn)
        self._pending.append((next(self._ids), job))
        self._total_tasks += 1
        self._bytes_total += job.total_bytes
        self.queue_changed.emit(self._done_tasks, self._total_tasks)
        if self._current is None:
            self._start_next()

    def read(self, fn: Read, *, what: str = "", label: str = "",
             on_success: Callable[[Any], None] | None = None,
             on_failure: Callable[[BaseException], None] | None = None,
             owner: QObject | None = None, cancel: CancelToken | None = None) -> CancelToken:
        """Run ``fn()`` on the read lane. A ``label`` shows in the status bar while it
        runs. Returns its cancel token: once cancelled, its outcome is dropped (``fn``
        may check the same token, passed as ``cancel``, to stop early)."""
        job = _Job(label, what or (f'finish "{label}"' if label else "read the file"),
                   on_success, on_failure, owner, cancel=cancel or CancelToken())
        ident = next(self._ids)
        self._reads[ident] = job
        self._read_workers.submit(
            functools.partial(_run_read, self._post, ident, fn, job.cancel))
        if label:
            self._update_reading()
        return job.cancel

    def cancel_all(self) -> None:
        """Cancel the running change (it raises Cancelled at its next check) and drop the
        queued ones. Reads are left alone."""
        dropped = [job for _ident, job in self._pending]
        self._pending.clear()
        for job in dropped:
            self._done_tasks += 1
            self._bytes_total -= job.total_bytes
            self.task_cancelled.emit(job.label)
        if self._current is not None:
            self._current[1].cancel.cancel()
        if dropped:
            self.queue_changed.emit(self._done_tasks, self._total_tasks)
        if self._current is None and dropped:
            self._finish_batch()

    def busy(self) -> bool:
        """A change is running or queued."""
        return self._current is not None or bool(self._pending)

    def reading_now(self) -> bool:
        """A read has not reported yet."""
        return bool(self._reads)

    def current_label(self) -> str | None:
        return self._current[1].label if self._current is not None else None

    def wait(self, msecs: int = -1) -> bool:
        """Block until both lanes' threads are done (shutdown and tests, never in a slot).
        Their results are delivered by the event loop afterwards."""
        start = time.monotonic()
        if not self._change_workers.wait(msecs):
            return False
        left = -1 if msecs < 0 else max(0, msecs - int((time.monotonic() - start) * 1000))
        return self._read_workers.wait(left)

    def shutdown(self, msecs: int = 5000) -> bool:
        """Cancel every change and read, and wait for the threads (closing the window)."""
        self.cancel_all()
        for job in self._reads.values():
            job.cancel.cancel()
        return self.wait(msecs)

    # -- the change lane (UI thread) ----------------------------------------------------------
    def _start_next(self) -> None:
        if not self._pending:
            self._current = None
            self._finish_batch()
            return
        ident, job = self._current = self._pending.popleft()
        fn, job.fn = job.fn, None
        assert fn is not None
        self.task_started.emit(job.label)
        self.progress.emit(self._bytes_before, self._bytes_total,
                           self._speed.add(self._bytes_before))
        self._change_workers.submit(functools.partial(
            _run_change, self._post, ident, fn, job.cancel))

    def _finish_batch(self) -> None:
        self._done_tasks = self._total_tasks = 0
        self._bytes_before = self._bytes_total = 0
        self._speed.reset()
        self.idle.emit()

    def _change_progress(self, ident: int, done: int) -> None:
        if self._current is None or self._current[0] != ident:
            return   # a late report from a change that already ended
        job = self._current[1]
        if job.total_bytes:
            done = min(done, job.total_bytes)
        overall = self._bytes_before + done
        self.progress.emit(overall, self._bytes_total, self._speed.add(overall))

    def _change_ended(self, ident: int, ok: bool, value: Any) -> None:
        if self._current is None or self._current[0] != ident:
            return
        job = self._current[1]
        self._done_tasks += 1
        self._bytes_before += job.total_bytes
        self.progress.emit(self._bytes_before, self._bytes_total,
                           self._speed.add(self._bytes_before))
        self.queue_changed.emit(self._done_tasks, self._total_tasks)
        try:
            if ok:
                self._succeeded(job, value)
            elif isinstance(value, Cancelled):
                self.task_cancelled.emit(job.label)
            else:
                try:
                    self._failed(job, value)
                finally:
                    self.task_failed.emit(value)
        finally:
            self._start_next()

    def _succeeded(self, job: _Job, result: Any) -> None:
        touched = job.touches(result) if callable(job.touches) else job.touches
        paths = tuple(touched)
        if paths:
            self.changed.emit(paths, result)
        if job.on_success is not None and _alive(job.owner):
            job.on_success(result)

    # -- the read lane (UI thread) --------------------------------------------------------------
    def _read_ended(self, ident: int, ok: bool, value: Any) -> None:
        job = self._reads.pop(ident, None)
        try:
            if job is None or job.cancel.cancelled or isinstance(value, Cancelled):
                return
            if ok:
                if job.on_success is not None and _alive(job.owner):
                    job.on_success(value)
            else:
                self._failed(job, value)
        finally:
            if job is not None and job.label:
                self._update_reading()

    def _update_reading(self) -> None:
        label = next((job.label for job in self._reads.values() if job.label), "")
        if label != self._reading:
            self._reading = label
            self.reading.emit(label)

    # -- failures ---------------------------------------------------------------------------------
    def _failed(self, job: _Job, exc: BaseException) -> None:
        log.debug("%r failed: %s", job.label or job.what, type(exc).__name__)
        if not _alive(job.owner):
            return
        if job.on_failure is not None:
            job.on_failure(exc)
            return
        show_error(self._error_parent(job.owner), exc, action=job.what)

    def _error_parent(self, owner: QObject | None) -> QWidget | None:
        """The dialog that asked, else the window that owns this helper."""
        for candidate in (owner, self.parent()):
            if isinstance(candidate, QWidget):
                return candidate
        return None


def _alive(owner: QObject | None) -> bool:
    return owner is None or shiboken6.isValid(owner)


__all__ = ["PROGRESS_INTERVAL", "SpeedMeter", "Tasks"]
