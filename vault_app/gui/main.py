"""``vault-app``: open the default vault, or the vault/file named on the command line.

``vault-app``                   the user's default vault (first run: keys + vault created)
``vault-app FOLDER``            the vault in (or above) FOLDER
``vault-app FILE.age``          its vault, offering Unlock to… or Preview
``vault-app FILE``              the default vault, offering to lock FILE into it
``vault-app FILE...``           several: the locked ones are unlocked, else all are locked
``vault-app --lock FILE...``    offer to lock the files (the file managers' "Lock")
``vault-app --unlock FILE...``  their vault, asking where to unlock them ("Unlock")
``vault-app --self-test``       start, load a vault (a temporary one if none), paint, exit 0

A second launch hands its request to the running window and exits (single instance).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from vault_app.gui.launch import Request, RequestMerger, carry_out

if TYPE_CHECKING:
    from vault_app.core.keystore import Keystore
    from vault_app.core.vault import Vault
    from vault_app.gui.main_window import MainWindow
    from vault_app.gui.single_instance import InstanceServer

APP_DIR = "dataset-vault"
DEFAULT_VAULT = "Vault"


def data_home() -> Path:
    """The user's data folder: ``$VAULT_DATA_HOME`` if set, else the platform's."""
    env = os.environ.get("VAULT_DATA_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_DIR, appauthor=False))


def default_vault_path() -> Path:
    """Where the first run puts the vault: ``~/Vault``, where people look for their
    files (``Show in file manager`` lands there too). A vault made by an earlier
    version in the hidden data folder is kept and used; ``$VAULT_DATA_HOME`` keeps
    everything of a separate profile (and of the tests) in that folder."""
    legacy = data_home() / DEFAULT_VAULT
    if os.environ.get("VAULT_DATA_HOME") or (legacy / ".vault").is_dir():
        return legacy
    home = Path.home() / DEFAULT_VAULT
    if home.exists() and not (home / ".vault").is_dir() and any(home.iterdir()):
        return Path.home() / "Dataset Vault"   # someone's own "Vault" folder: leave it be
    return home


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vault-app", description="Dataset Vault window")
    parser.add_argument("targets", nargs="*", type=Path, metavar="PATH",
                        help="a vault folder, locked .age files, or files to lock")
    verb = parser.add_mutually_exclusive_group()
    verb.add_argument("--lock", dest="action", action="store_const", const="lock",
                      help="offer to lock the files into the vault")
    verb.add_argument("--unlock", dest="action", action="store_const", const="unlock",
                      help="unlock the locked files (asks for the folder)")
    parser.add_argument("--user", help="act as this vault user (default: your login name)")
    parser.add_argument("--self-test", action="store_true",
                        help="start, load a vault, paint the window, print a summary, exit")
    parser.add_argument("--new-instance", action="store_true",
                        help="do not hand the request to an already running window")
    args = parser.parse_args(argv)
    args.request = Request(args.action or "open", tuple(args.targets))
    if args.action and any(t.is_dir() for t in args.targets):
        parser.error(f"--{args.action} takes files, not folders")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.user:
        os.environ["VAULT_USER"] = args.user
    if args.self_test:
        return self_test()

    from vault_app.gui.app import create_application
    from vault_app.gui.single_instance import InstanceServer, send_to_running, server_name

    app = create_application()
    name = server_name(data_home())
    if not args.new_instance and send_to_running(name, args.request):
        return 0
    window = start_window(args.request)
    if window is None:
        return 0   # the person chose Quit in the first-run flow
    if name is None:
        print("warning: no private folder for the single-instance socket (is "
              "$XDG_RUNTIME_DIR or the temp folder's dataset-vault folder someone else's?); "
              "each launch opens its own window", file=sys.stderr)
    else:
        server = InstanceServer(name, window)
        if not server.listen():
            print("warning: could not listen for other launches (single instance off)",
                  file=sys.stderr)
        listen_for_launches(window, server)
    return int(app.exec())


def listen_for_launches(window: MainWindow, server: InstanceServer) -> RequestMerger:
    """Later launches' requests, merged when they come together, go to ``window``."""
    merger = RequestMerger(window)
    server.open_requested.connect(merger.add)
    merger.ready.connect(lambda request: handoff(window, request))
    return merger


def handoff(window: MainWindow, request: Request | Path | None) -> None:
    """A later launch asked for ``request`` (or just to come to the front)."""
    if not isinstance(request, Request):
        request = Request("open", (request,) if request is not None else ())
    window.showNormal()
    window.raise_()
    window.activateWindow()
    carry_out(window, request)


def start_window(request: Request | Sequence[Path] | Path | None,
                 keystore: Keystore | None = None) -> MainWindow | None:
    """Open the right vault for the request and show the window (None: the user gave up).
    ``keystore``: where the users' keys are (default: the OS keyring)."""
    if not isinstance(request, Request):
        paths = (() if request is None else (request,) if isinstance(request, Path)
                 else tuple(request))
        request = Request("open", paths)
    window = _window_for(request.paths[0] if request.paths else None, keystore)
    if window is not None and (request.paths or request.action == "lock"):
        first = request.paths[0].expanduser().absolute() if request.paths else None
        if first is not None and first.is_dir() and request.action == "open":
            if window.vault is None:
                window.open_vault_at(first)   # not a vault: the window explains why
        else:
            carry_out(window, request)
    return window


def _window_for(target: Path | None, keystore: Keystore | None) -> MainWindow | None:
    """The window, showing the vault of ``target`` (else the default vault)."""
    from vault_app.core.vault import Vault
    from vault_app.gui.main_window import MainWindow

    target = target.expanduser().absolute() if target else None
    vault = None
    root = None
    if target is not None:
        root = Vault.find(target if target.is_dir() else target.parent)
    if root is None and (target is None or not target.is_dir()):
        root = default_vault_path() if Vault.find(default_vault_path()) else None
        if root is None:
            vault = first_run(keystore)
            if vault is None:
                return None
    window = MainWindow(None, keystore=keystore)
    window.show()
    if vault is not None:
        window.set_vault(vault)
    elif root is not None:
        window.open_vault_at(root)
    return window


def first_run(keystore: Keystore | None = None) -> Vault | None:
    """GUI-B's first-run flow: create keys + the default vault; None if cancelled."""
    from vault_app.gui.dialogs.first_run import FirstRunDialog

    dialog = FirstRunDialog(default_vault_path(), keystore=keystore)
    if dialog.exec() != FirstRunDialog.DialogCode.Accepted:
        return None
    return dialog.vault


def self_test() -> int:
    """Installer smoke test: a window with a vault painted, then exit 0 (1 on failure).

    Uses the default vault if it exists, else a temporary vault whose keys live in an
    in-memory keyring (nothing is added to the user's real keyring).
    """
    start = time.perf_counter()
    if not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from vault_app.core.vault import Vault
    from vault_app.gui.app import create_application, private_settings
    from vault_app.gui.main_window import MainWindow

    temp = Path(tempfile.mkdtemp(prefix="dataset-vault-selftest-"))
    private_settings(str(temp / "settings"))   # leave the user's settings alone
    app = create_application()
    try:
        root = Vault.find(default_vault_path())
        if root is not None:
            vault = Vault.open(root)
            source = "default"
        else:
            from vault_app.gui.memory_keyring import memory_keystore

            vault, _recovery = Vault.init(temp / "vault", user="selftest",
                                          keystore=memory_keystore(temp / "config"))
            sample = temp / "sample.csv"
            sample.write_text("id,value\n1,alpha\n2,beta\n", encoding="utf-8")
            vault.lock(sample)
            source = "temporary"
        window = MainWindow(vault)
        painted = FirstPaint(window)
        window.show()
        while painted.at is None and time.perf_counter() - start < 30:
            app.processEvents()
        image = window.grab()
        window.tasks.wait(5000)
        app.processEvents()
        ok = not image.isNull() and image.width() > 0
        files = window.model.rowCount()
        elapsed = time.perf_counter() - start
        window.close()
        first = (f"{since_process_start(painted.at):.2f}s" if painted.at is not None
                 else "never")
        print(f"self-test {'ok' if ok else 'FAILED'}: platform={app.platformName()} "
              f"vault={source} files={files} painted={image.width()}x{image.height()} "
              f"first_paint={first} (since process start) in {elapsed:.2f}s")
        return 0 if ok else 1
    except Exception as exc:
        print(f"self-test FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def process_age() -> float:
    """Seconds since this process started (Linux /proc; 0.0 where unknown)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            started_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


#: (process age, perf_counter) when this module was imported: turns perf_counter
#: readings into "seconds since the process started".
_CLOCK_BASE = (process_age(), time.perf_counter())


def since_process_start(t: float) -> float:
    return _CLOCK_BASE[0] + (t - _CLOCK_BASE[1])


class FirstPaint(QObject):
    """Notes when a widget is first painted (perf_counter), for --self-test."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.at: float | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.at is None:
            self.at = time.perf_counter()
        return False


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
