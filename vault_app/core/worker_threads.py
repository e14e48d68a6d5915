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
