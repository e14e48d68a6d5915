"""The single-instance socket is this user's alone (issue 13, item 6).

Launch requests carry file paths: another local user who could bind the socket first
would receive them, or could feed the window requests. The socket lives in a folder
only this user can enter, a squatted folder is refused (no single instance rather than
a shared one), and both ends refuse a peer of another uid, tried with a real second OS
account (``bob``, made by ``.ci/team-setup``).
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault_app.gui import main as gui_main
from vault_app.gui.launch import Request
from vault_app.gui.single_instance import (
    InstanceServer,
    private_folder,
    send_to_running,
    server_name,
)

OTHER = "bob"
PYTHON = "/usr/bin/python3"   # Debian's: readable by every user (the venv may not be)


def need(why: str | None) -> None:
    """Skip with the reason; in CI (``CI`` set) a missing setup is a failure."""
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def other_user() -> pwd.struct_passwd:
    need("running a process as another OS user needs root" if os.geteuid() != 0 else None)
    try:
        entry = pwd.getpwnam(OTHER)
    except KeyError:
        need(f"no OS user {OTHER} (run: bash .ci/team-setup)")
        raise
    need(None if Path(PYTHON).exists() else f"no {PYTHON} to run as {OTHER}")
    return entry


def as_other(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["runuser", "-u", OTHER, "--", PYTHON, "-c", code, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can pass through (pytest's own tmp is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="vault-peer-", dir="/tmp"))
    folder.chmod(0o711)
    yield folder
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_socket_lives_in_the_users_runtime_folder(qapp) -> None:
    name = server_name(gui_main.data_home())
    assert name is not None
    folder = Path(name).parent
    assert folder == Path(os.environ["XDG_RUNTIME_DIR"]) / "dataset-vault"
    assert mode(folder) == 0o700 and folder.stat().st_uid == os.getuid()
    server = InstanceServer(name)
    try:
        assert server.listen()
        assert stat.S_ISSOCK(os.lstat(name).st_mode)
    finally:
        server.close()


def test_without_a_runtime_folder_a_private_one_is_made(tmp_path: Path) -> None:
    folder = private_folder(runtime="", temp=str(tmp_path))
    assert folder == tmp_path / f"dataset-vault-{os.getuid()}"
    assert mode(folder) == 0o700 and not folder.is_symlink()
    assert private_folder(runtime="", temp=str(tmp_path)) == folder   # reused next time


def test_a_runtime_folder_open_to_others_is_not_used(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o755)
    runtime.chmod(0o755)
    folder = private_folder(runtime=str(runtime), temp=str(tmp_path))
    assert folder == tmp_path / f"dataset-vault-{os.getuid()}"


@pytest.mark.parametrize("squat", ["open", "link"])
def test_a_folder_set_up_by_someone_else_is_refused(tmp_path: Path, squat: str) -> None:
    planted = tmp_path / f"dataset-vault-{os.getuid()}"
    if squat == "open":   # made first, with room for others
        planted.mkdir()
        planted.chmod(0o777)
    else:                 # a link to a folder of the attacker's choosing
        (tmp_path / "theirs").mkdir(mode=0o700)
        planted.symlink_to(tmp_path / "theirs")
    assert private_folder(runtime="", temp=str(tmp_path)) is None


def test_a_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    """A squatter who made the folder first (owned by uid 65534, mode 0700)."""
    need("chown to another uid needs root" if os.geteuid() != 0 else None)
    planted = tmp_path / f"dataset-vault-{os.getuid()}"
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)
    assert private_folder(runtime="", temp=str(tmp_path)) is None
    tmp_path.chmod(0o711)
    env = {**os.environ, "XDG_RUNTIME_DIR": "", "TMPDIR": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen"}
    code = ("from pathlib import Path; from vault_app.gui.single_instance import server_name;"
            "print(server_name(Path('/x')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "None"   # no single instance rather than a shared one


_CLIENT = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(20)
try:
    s.sendall(json.dumps({"action": "open", "paths": ["/planted.csv.age"]}).encode() + b"\\n")
    print(repr(s.recv(1)))
except OSError as exc:
    print(type(exc).__name__)
"""


def test_the_window_refuses_a_request_from_another_user(qtbot, shared_tmp: Path) -> None:
    other_user()
    name = str(shared_tmp / "instance")
    server = InstanceServer(name)
    got: list[Request] = []
    server.open_requested.connect(got.append)
    assert server.listen()
    os.chmod(name, 0o777)   # reachable by bob: only the peer check stands in the way
    try:
        proc = as_other(_CLIENT, name)
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert out.strip() in ("b''", "ConnectionResetError", "BrokenPipeError"), out
        assert got == []
        # the same request from this user is taken
        with qtbot.waitSignal(server.open_requested, timeout=10000):
            mine = subprocess.Popen([sys.executable, "-c", _CLIENT, name],
                                    stdout=subprocess.PIPE, text=True)
        qtbot.waitUntil(lambda: mine.poll() is not None, timeout=10000)
        assert mine.communicate()[0].strip() == "b'k'"
        assert got == [Request("open", (Path("/planted.csv.age"),))]
    finally:
        server.close()


_SERVER = """
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(1)
print("ready", flush=True)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(5)
data = b""
try:
    while chunk := c.recv(65536):
        data += chunk
except OSError:
    pass
print(len(data), flush=True)
"""


def test_a_launch_hands_nothing_to_another_users_socket(qapp, shared_tmp: Path) -> None:
    entry = other_user()
    os.chown(shared_tmp, entry.pw_uid, entry.pw_gid)   # bob's folder, bob's socket
    name = str(shared_tmp / "instance")
    proc = as_other(_SERVER, name)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        secret = Request("open", (Path("/home/me/patients-2024.csv.age"),))
        assert not send_to_running(name, secret)
        out, err = proc.communicate(timeout=30)
        assert out.strip() == "0", (out, err)   # not one byte of the request reached bob
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_runtime_folder_too_deep_for_a_socket_path_falls_back(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """A socket path holds 107 bytes: a deep $XDG_RUNTIME_DIR gets the private temp
    folder instead of a window that cannot listen."""
    deep = tmp_path / ("d" * 60) / "run"
    deep.mkdir(parents=True, mode=0o700)
    deep.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    name = server_name(tmp_path)
    assert name is not None and len(name) < 108
    assert Path(name).parent.name == f"dataset-vault-{os.getuid()}"
