"""An ordered pipeline of blocks on every core, in a ring of fixed buffers.

The calling thread reads blocks in order into free slots of the ring (``readinto``),
checks for cancellation and reports progress between blocks; worker threads, one per
core up to :data:`MAX_WORKERS`, each work a whole block, in any order; one more thread
finishes the blocks in their order (and hands each slot back to the reader, through one
more thread for a second ordered step, if there is one). Memory is the few slots of the
ring, whatever the input's size and the number of cores. An input that fits in one block
is done on the calling thread alone: no thread is started for it.

What the work and the finishing are is the caller's (``pipeline.py``: the STREAM). This
module knows only blocks, threads, order and errors.
"""

from __future__ import annotations

import itertools
import mmap
import os
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO

from vault_app.core import worker_threads
from vault_app.core.filling import fill
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.stream import Nonces
from vault_app.core.value_class import value_class

# The ring's memory bounds the workers: 5 slots of 4 MiB keep a command under 64 MiB of
# RSS. Whether more would pay on more cores is not measured (no 16-core machine yet).
MAX_WORKERS = 3


def available_cores() -> int:
    """The cores this process may run on (``taskset`` and cgroups included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@value_class
class Layout:
    """How a run is shaped: worker threads, and slots (block buffers) in the ring."""

    workers: int
    slots: int


def layout(cores: int | None = None) -> Layout:
    """A worker per core (up to :data:`MAX_WORKERS`), and two slots more than workers:
    one being read, and one read ahead while the block before it is held until the input
    proves whether that block is the last. At most 5 slots of 4 MiB (a block in, a block
    out): the ring stays at 20 MiB however many cores there are."""
    workers = max(1, min(MAX_WORKERS, cores if cores is not None else available_cores()))
    return Layout(workers, workers + 2)


def block_buffer(size: int) -> memoryview:
    """A zeroed working buffer of ``size`` bytes, mapped straight from the OS.

    Not from malloc: glibc raises its mmap threshold after a big block is freed, so
    2 MiB buffers freed by one operation would be kept in the heap (or in a thread's
    arena) and RSS would creep up by a few MiB per operation in a long-lived process.
    Mapped memory goes back to the OS as soon as the last view of it is dropped.
    """
    return memoryview(mmap.mmap(-1, size))


class Slot:
    """One block's buffers, and what the stages learn about the block in them."""

    def __init__(self, in_size: int, out_size: int) -> None:
        self.src = block_buffer(in_size)
        self.dst = block_buffer(out_size)
        self.index = 0
        self.n = 0  # bytes read into src
        self.final = False  # the input ends with this block
        self.size = 0  # bytes of dst to release
        self.plain = 0  # plaintext bytes this block stands for (progress)
        self.error: BaseException | None = None  # released after the block's good part


#: ``work(slot, nonces)`` works the block in ``slot`` (on any worker thread; ``nonces``
#: is the thread's own).
Work = Callable[[Slot, Nonces], None]
#: ``finish(slot)`` takes a worked block, in block order (on a finishing thread).
Finish = Callable[[Slot], None]


class Ring:
    """Read in order (calling thread), work (workers), finish in order (one thread, and
    one more for a second ordered step: the two overlap on consecutive blocks).
    ``in_block`` and ``out_block`` are the sizes of a slot's two buffers."""

    def __init__(self, work: Work, finish: Finish, then: Finish | None, in_block: int,
                 out_block: int, shape: Layout) -> None:
        self._work = work
        self._finish = finish
        self._then = then
        self._shape = shape
        self.in_block = in_block
        self._out_block = out_block
        self._slots: list[Slot] = []
        self._free: queue.SimpleQueue[Slot] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[Slot | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Slot | None] = queue.SimpleQueue()
        self._finished: queue.SimpleQueue[Slot | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._finishers: list[threading.Thread] = []
        self._failure: BaseException | None = None  # the first, in block order
        self.finished = 0  # plaintext bytes finished, in order
        self.blocks = 0  # blocks in the input so far

    def _slot(self) -> Slot:
        """A free slot; a new one while the ring is not full yet."""
        if len(self._slots) < self._shape.slots and self._free.empty():
            slot = Slot(self.in_block, self._out_block)
            self._slots.append(slot)
            return slot
        return self._free.get()

    def run(self, src: BinaryIO, progress: ProgressFn | None,
            cancel: CancelToken | None) -> int:
        """Every block of ``src`` through the stages; the plaintext size. The first
        failure (in block order) is raised once every block in flight is back."""
        held: Slot | None = None  # read, but not known yet to be the last block or not
        reading: Slot | None = None
        try:
            for index in itertools.count():
                if cancel is not None:
                    cancel.check()
                if self._failure is not None:
                    break
                if progress is not None and index:
                    progress(self.finished)
                reading = self._slot()
                reading.index, reading.n = index, fill(src, reading.src[: self.in_block])
                reading.final = reading.n < self.in_block
                if reading.n or index == 0:  # an empty input is one (empty) block
                    self.blocks = index + 1
                if held is None and reading.final:  # all of it in one block: no threads
                    self._alone(reading)
                    break
                if held is not None:
                    held.final = reading.n == 0
                    self._dispatch(held)
                    held = None
                if reading.n == 0:
                    break
                if reading.final:
                    self._dispatch(reading)
                    reading = None
                    break
                held, reading = reading, None
        except BaseException as exc:
            self._fail(exc)
        finally:
            for slot in (held, reading):
                if slot is not None:
                    self._free.put(slot)
            self._stop(progress, cancel)
        if self._failure is not None:
            raise self._failure
        return self.finished

    def _alone(self, slot: Slot) -> None:
        """The whole input in one block, on the calling thread."""
        self._work(slot, Nonces())
        self._finish(slot)
        self.finished += slot.plain
        if slot.error is not None:
            raise slot.error
        if self._then is not None:
            self._then(slot)

    def _dispatch(self, slot: Slot) -> None:
        if not self._finishers:
            steps = [self._finish_in_order] + ([self._then_in_order] if self._then else [])
            for step in steps:
                self._finishers.append(worker_threads.start(step, "vault-finish"))
        if len(self._threads) < self._shape.workers:
            self._threads.append(worker_threads.start(self._serve, "vault-work"))
        self._jobs.put(slot)

    def _serve(self) -> None:
        nonces = Nonces()
        while (slot := self._jobs.get()) is not None:
            if self._failure is None:
                try:
                    self._work(slot, nonces)
                except BaseException as exc:  # raised on the calling thread, in order
                    slot.error = exc
                    slot.size = 0
            self._done.put(slot)

    def _finish_in_order(self) -> None:
        waiting: dict[int, Slot] = {}
        following = 0
        while (slot := self._done.get()) is not None:
            waiting[slot.index] = slot
            while following in waiting:
                slot = waiting.pop(following)
                following += 1
                if self._failure is None:
                    try:
                        self._finish(slot)
                        self.finished += slot.plain
                        if slot.error is not None:
                            raise slot.error
                    except BaseException as exc:
                        self._fail(exc)
                slot.error = None
                (self._finished if self._then is not None else self._free).put(slot)

    def _then_in_order(self) -> None:
        assert self._then is not None
        while (slot := self._finished.get()) is not None:
            if self._failure is None:
                try:
                    self._then(slot)
                except BaseException as exc:
                    self._fail(exc)
            self._free.put(slot)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc

    def _stop(self, progress: ProgressFn | None, cancel: CancelToken | None) -> None:
        """Wait for every slot to come back (reporting progress and checking for a
        cancel as they do, unless something failed), then end the threads."""
        for _ in range(len(self._slots)):
            self._free.get()
            if self._failure is None:
                try:
                    if progress is not None:
                        progress(self.finished)
                    if cancel is not None:
                        cancel.check()
                except BaseException as exc:
                    self._fail(exc)
        for _ in self._threads:
            self._jobs.put(None)
        for worker in self._threads:
            worker.join()
        if self._finishers:
            self._done.put(None)
            self._finished.put(None)
            for thread in self._finishers:
                thread.join()
