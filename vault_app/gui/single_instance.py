"""One window per user: a second ``vault-app`` hands its file to the first and exits.

The first instance listens on a local socket; a later launch connects, sends one JSON
line (``launch.Request``: ``{"action": "open"|"lock"|"unlock", "paths": [...], "open":
first path}``) and quits. A stale socket left by a crash is detected (nobody answers)
and replaced.

The request carries file paths, so the socket must be this user's alone: another local
user who could bind it first would receive them (or could feed this window requests).
So the socket lives in a folder only this user can enter, ``$XDG_RUNTIME_DIR`` (0700,
made by the login manager) or, where that is unset, a folder made here in the temp
folder and checked (a directory, not a link, owned by this user, mode 0700); if that
name is taken by anything else, there is no single instance rather than a shared one.
Both ends also check the uid of the process at the other end (``SO_PEERCRED`` on
Linux), so a socket reached some other way is refused too; where the OS does not say,
the private folder is the defence. On Windows the name is a named pipe, restricted to
this user by ``UserAccessOption``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from vault_app.gui.launch import Request

CONNECT_TIMEOUT_MS = 500
#: One request line at most (room for a few thousand selected paths).
MAX_MESSAGE = 4 << 20
#: The folder made in $XDG_RUNTIME_DIR (or, without one, in the temp folder).
FOLDER = "dataset-vault"
#: A Unix socket's path holds 107 bytes at most; the name adds 22 to the folder.
MAX_FOLDER = 80


def is_private_folder(folder: Path) -> bool:
    """A real directory (not a link), owned by this user, that only this user may enter."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and stat.S_IMODE(st.st_mode) == 0o700)


def private_folder(runtime: str | None = None, temp: str | None = None) -> Path | None:
    """This user's folder for the socket, made 0700 if missing; None if it cannot be
    trusted (someone else's, a link, open to others)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") if runtime is None else runtime
    if runtime and is_private_folder(Path(runtime)):
        folder = Path(runtime) / FOLDER
    else:   # unset, or not what the spec promises: a folder of our own in /tmp
        folder = Path(temp or tempfile.gettempdir()) / f"{FOLDER}-{os.getuid()}"
    try:
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)   # (mkdir's mode passes through the umask)
    except FileExistsError:
        pass   # ours from an earlier run, or a squatter's: checked below
    except OSError:
        return None
    return folder if is_private_folder(folder) else None


def server_name(data_home: Path) -> str | None:
    """The address of this user's window for ``data_home`` (test runs and separate
    profiles do not collide); None: no private place for it here (no single instance)."""
    digest = hashlib.sha256(str(data_home.absolute()).encode()).hexdigest()[:12]
    if sys.platform == "win32":
        return f"dataset-vault-{os.environ.get('USERNAME', 'user')}-{digest}"
    folder = private_folder()
    if folder is not None and len(str(folder)) > MAX_FOLDER:   # a deep runtime folder
        folder = private_folder(runtime="")
    return None if folder is None else str(folder / f"instance-{digest}")


def peer_uid(sock: QLocalSocket) -> int | None:
    """The uid of the process at the other end (Linux); None where the OS does not say."""
    option = getattr(socket, "SO_PEERCRED", None)
    fd = int(sock.socketDescriptor())
    if option is None or fd < 0:
        return None
    dup = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)   # a duplicate, closed here
    try:
        creds = dup.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    finally:
        dup.close()
    return int(struct.unpack("3i", creds)[1])


def same_user(sock: QLocalSocket) -> bool:
    uid = peer_uid(sock)
    return uid is None or uid == os.getuid()


def send_to_running(name: str | None, request: Request | Path | None) -> bool:
    """True if a running instance took the request (then this process should exit)."""
    if name is None:
        return False
    if not isinstance(request, Request):
        request = Request("open", (request,) if request is not None else ())
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
        return False
    if not same_user(sock):   # another user's socket: tell it nothing
        print(f"warning: {name} belongs to another user; not handing the request over",
              file=sys.stderr)
        sock.abort()
        return False
    sock.write(json.dumps(request.to_message()).encode("utf-8") + b"\n")
    ok = sock.waitForBytesWritten(CONNECT_TIMEOUT_MS)
    # wait for the server's one-byte acknowledgement, so the handoff is known to be done
    ok = ok and sock.waitForReadyRead(2000) and sock.read(1).data() == b"k"
    sock.disconnectFromServer()
    return bool(ok)


class InstanceServer(QObject):
    """Listens for later launches; emits ``open_requested(Request)`` for each."""

    open_requested = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        # a socket file without a live server (crash): remove it and try once more
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()
        if sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.unlink(self.name)

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            if not same_user(sock):   # reached the socket some other way: not ours
                sock.abort()
                sock.deleteLater()
                continue
            sock.readyRead.connect(self._on_ready)
            sock.disconnected.connect(sock.deleteLater)

    def _on_ready(self) -> None:
        sock = self.sender()
        if not isinstance(sock, QLocalSocket):
            return
        if not sock.canReadLine():
            if sock.bytesAvailable() > MAX_MESSAGE:   # not one of ours: drop it
                sock.abort()
            return
        line = bytes(sock.readLine().data())   # a whole line is there
        try:
            request = Request.from_message(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            sock.abort()
            return
        sock.write(b"k")
        sock.flush()
        self.open_requested.emit(request)
