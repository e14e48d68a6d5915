"""What a launch asks for: ``vault-app [--lock | --unlock] [PATH...]``.

A file manager's "Lock with Dataset Vault" runs ``vault-app --lock FILE...`` and its
"Unlock with Dataset Vault" ``vault-app --unlock FILE...``; a double-click runs
``vault-app FILE...`` and the window decides by each file (locked: unlock, else lock).
The same request travels to an already running window (single instance), where
requests that arrive together (Explorer starts one process per selected file) are
merged into one, so several files give one question, not one per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from vault_app.gui.main_window import MainWindow

ACTIONS = ("open", "lock", "unlock")
#: Requests arriving within this many ms of each other with the same action are merged.
MERGE_MS = 300


@dataclass(frozen=True)
class Request:
    action: str = "open"
    paths: tuple[Path, ...] = field(default_factory=tuple)

    def to_message(self) -> dict[str, Any]:
        """The JSON the single-instance socket carries (``open`` kept for older windows)."""
        paths = [str(p.expanduser().absolute()) for p in self.paths]
        return {"action": self.action, "paths": paths, "open": paths[0] if paths else None}

    @classmethod
    def from_message(cls, message: object) -> Request:
        if not isinstance(message, dict):
            return cls()
        paths = message.get("paths")
        if not isinstance(paths, list):   # an older launcher: {"open": path or null}
            single = message.get("open")
            paths = [single] if isinstance(single, str) else []
        action = message.get("action")
        return cls(action if action in ACTIONS else "open",
                   tuple(Path(p) for p in paths if isinstance(p, str)))


def carry_out(window: MainWindow, request: Request) -> None:
    """Do what the launch asked, on a shown window (vault already chosen by the caller)."""
    paths = [p.expanduser().absolute() for p in request.paths]
    if request.action == "lock" and not paths:
        window.lock_action()   # "Lock with Dataset Vault" from a launcher: choose files
        return
    if not paths:
        return
    missing = [p for p in paths if not p.exists()]
    if missing:
        from vault_app.gui.dialogs.errors import show_error

        names = ", ".join(p.name for p in missing[:5])
        show_error(window, FileNotFoundError(2, "No such file", names),
                   action=f"open {missing[0].name}")
        return
    if request.action == "lock":
        window.offer_lock(paths)
    elif request.action == "unlock":
        window.unlock_paths(paths)
    elif len(paths) == 1:
        window.open_target(paths[0])
    else:
        _open_several(window, paths)


def _open_several(window: MainWindow, paths: Sequence[Path]) -> None:
    from vault_app.core.layout import LOCKED_SUFFIX  # (a handoff need not load it)

    locked = [p for p in paths if p.name.endswith(LOCKED_SUFFIX)]
    plain = [p for p in paths if not p.name.endswith(LOCKED_SUFFIX)]
    if locked and plain:
        window.statusBar().showMessage(
            f"{len(plain)} file(s) that are not locked were left alone: use "
            "Lock with Dataset Vault for them.", 10000)
    if locked:
        window.unlock_paths(locked)
    elif plain:
        window.offer_lock(plain)


class RequestMerger(QObject):
    """Collects requests that arrive together and emits them merged (one per action)."""

    ready = Signal(object)   # Request

    def __init__(self, parent: QObject | None = None, msecs: int = MERGE_MS) -> None:
        super().__init__(parent)
        self._held: dict[str, list[Path]] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(msecs)
        self._timer.timeout.connect(self.flush)

    def add(self, request: Request) -> None:
        held = self._held.setdefault(request.action, [])
        held.extend(p for p in request.paths if p not in held)
        self._timer.start()   # restarts: a burst of launches ends as one request

    def flush(self) -> None:
        held, self._held = self._held, {}
        for action, paths in held.items():
            self.ready.emit(Request(action, tuple(paths)))
