"""One window per user: a second ``vault-app`` hands its file to the first and exits.

The first instance listens on a QLocalServer whose name is private to the OS user (and
to the data folder, so test runs and separate profiles do not collide); the socket is
created user-only. A later launch connects, sends one JSON line (``launch.Request``:
``{"action": "open"|"lock"|"unlock", "paths": [...], "open": first path}``) and quits.
A stale socket left by a crash is detected (nobody answers) and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from vault_app.gui.launch import Request

CONNECT_TIMEOUT_MS = 500
#: One request line at most (room for a few thousand selected paths).
MAX_MESSAGE = 4 << 20


def server_name(data_home: Path) -> str:
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    digest = hashlib.sha256(str(data_home.absolute()).encode()).hexdigest()[:12]
    return f"dataset-vault-{uid}-{digest}"


def send_to_running(name: str, request: Request | Path | None) -> bool:
    """True if a running instance took the request (then this process should exit)."""
    if not isinstance(request, Request):
        request = Request("open", (request,) if request is not None else ())
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(CONNECT_TIMEOUT_MS):
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

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
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
