"""Progress reporting and cancellation for long operations (no Qt: the GUI adapts it)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from vault_app.core.errors import Cancelled

#: Called with the number of plaintext bytes processed so far.
ProgressFn = Callable[[int], None]


class CancelToken:
    """Set from any thread; checked by the worker between blocks. Raises ``Cancelled``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()
