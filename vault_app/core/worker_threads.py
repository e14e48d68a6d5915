"""Helper threads that never receive the process's termination signals.

Linux delivers a signal sent to the process (Ctrl-C, ``kill``, a closed terminal) to any
thread that does not block it. Python runs its handlers on the main thread only, and
only once that thread runs Python code again: if a helper thread takes the signal while
the main thread waits in a system call (reading standard input that never comes), the
command does not stop, and its temporary file, which may hold plaintext, stays until
that call returns. Every helper the core starts goes through :func:`start`, which starts
it with those signals blocked, so the kernel picks the main thread and interrupts its
wait; the handlers then unwind and remove the temporary files.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Callable

#: The signals that end a command (``cli/_common.py`` unwinds on each).
_ENDING = frozenset(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                                getattr(signal, "SIGHUP", None)) if s is not None)


def start(target: Callable[[], object], name: str) -> threading.Thread:
    """Start ``target`` on a daemon thread that blocks the ending signals.

    A new thread inherits its creator's signal mask, so the mask is set around
    ``Thread.start`` only: a signal arriving meanwhile stays pending and is delivered
    to this thread when the mask is restored.
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    if not hasattr(signal, "pthread_sigmask"):  # Windows: signals reach the main thread
        thread.start()
        return thread
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread


def block_ending_signals() -> None:
    """Block the ending signals on the calling thread (a thread pool's initializer)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)


class _Helpers:
    """A few long-lived helper threads that run a function beside the calling thread.

    For work split within one call, such as one read of a file cut at its segments
    (``reader.py``): starting threads for every call would cost more than a segment's
    work. The caller always runs the function itself too, and the function takes its
    pieces from a shared counter, so the call finishes even if every helper is busy
    with another call's work (a helper that comes late finds nothing left to take)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], threading.Event]] = (
            queue.SimpleQueue())
        self._started = 0
        self._lock = threading.Lock()

    def _serve(self) -> None:
        while True:
            fn, done = self._jobs.get()
            try:
                fn()  # fn keeps its own errors for its caller
            finally:
                done.set()

    def run_beside(self, fn: Callable[[], object], helpers: int) -> None:
        """Run ``fn`` on the calling thread and on up to ``helpers`` helper threads at
        once; return when every run has returned."""
        with self._lock:
            while self._started < helpers:
                start(self._serve, "vault-helper")
                self._started += 1
        handed = [threading.Event() for _ in range(helpers)]
        for done in handed:
            self._jobs.put((fn, done))
        try:
            fn()
        finally:
            for done in handed:
                done.wait()


#: The process's helper threads (started on first use, never more than asked for).
helpers = _Helpers()


def _forget_helpers_in_child() -> None:
    """A forked child has none of its parent's threads: counting them as started would
    leave a spread read waiting forever for helpers that are not there."""
    global helpers
    helpers = _Helpers()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers_in_child)
