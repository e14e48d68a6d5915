"""Single instance: a second `vault-app` hands its file to the running window and exits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gui_support import VaultEnv, find_dialog
from PySide6.QtWidgets import QFileDialog, QMessageBox

from vault_app.gui import main as gui_main
from vault_app.gui.launch import Request, RequestMerger
from vault_app.gui.main_window import MainWindow
from vault_app.gui.single_instance import InstanceServer, send_to_running, server_name


def launch(*args: str) -> subprocess.Popen[bytes]:
    """The real entry point in another process (what a file manager double-click runs)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "vault_app.gui.main", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes]) -> int:
    _out, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode(errors="replace")
    return proc.returncode


def test_second_launch_hands_its_file_to_the_first(qtbot, tmp_path: Path) -> None:
    server = InstanceServer(server_name(gui_main.data_home()))
    assert server.listen()
    target = tmp_path / "results.parquet.age"
    target.write_bytes(b"")
    try:
        with qtbot.waitSignal(server.open_requested, timeout=20000) as got:
            proc = launch(str(target))
        assert got.args == [Request("open", (target,))]
        assert finish(proc) == 0
    finally:
        server.close()


def test_second_launch_hands_all_its_files_and_the_verb(qtbot, tmp_path: Path) -> None:
    server = InstanceServer(server_name(gui_main.data_home()))
    assert server.listen()
    files = [_file(tmp_path, name, b"x") for name in ("a.csv", "b c.csv", "ü.csv")]
    try:
        for verb in ("--lock", "--unlock"):
            with qtbot.waitSignal(server.open_requested, timeout=20000) as got:
                proc = launch(verb, *map(str, files))
            assert got.args == [Request(verb[2:], tuple(files))]
            assert finish(proc) == 0
    finally:
        server.close()


def test_requests_arriving_together_are_merged(qtbot) -> None:
    """Explorer starts one process per selected file: one question, not one per file."""
    merger = RequestMerger(msecs=200)
    got: list[Request] = []
    merger.ready.connect(got.append)
    a, b, c = Path("/x/a.csv"), Path("/x/b.csv"), Path("/x/c.csv.age")
    merger.add(Request("lock", (a,)))
    merger.add(Request("lock", (b, a)))
    merger.add(Request("unlock", (c,)))
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
    assert got == [Request("lock", (a, b)), Request("unlock", (c,))]


def test_command_line_verbs() -> None:
    args = gui_main.parse_args(["--lock", "a.csv", "b.csv"])
    assert args.request == Request("lock", (Path("a.csv"), Path("b.csv")))
    assert gui_main.parse_args([]).request == Request("open", ())
    assert gui_main.parse_args(["x.age", "y.age"]).request.paths == (Path("x.age"),
                                                                      Path("y.age"))
    with pytest.raises(SystemExit):
        gui_main.parse_args(["--lock", "--unlock", "a.csv"])


def test_no_running_instance_means_no_handoff(qapp, tmp_path: Path) -> None:
    assert not send_to_running(server_name(tmp_path / "nobody-home"), tmp_path / "x")


def test_stale_socket_from_a_crash_is_replaced(qapp, tmp_path: Path) -> None:
    name = server_name(tmp_path / "crashed")
    assert name is not None
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(name)
    stale.close()   # the socket file stays, nobody listens: what a kill -9 leaves
    assert Path(name).exists()
    server = InstanceServer(name)
    try:
        assert server.listen()
        assert not send_to_running(name + "-other", None)
    finally:
        server.close()
    assert not Path(name).exists()   # a clean exit leaves no socket behind


def test_running_window_offers_lock_for_a_handed_over_file(qtbot, vault_env: VaultEnv,
                                                            monkeypatch) -> None:
    locked = vault_env.vault.lock(_file(vault_env.root / "in", "a.csv", b"a")).path
    monkeypatch.setenv("VAULT_USER", "alice")   # the acting user, as `--user alice` sets it
    window = _start(qtbot, vault_env, locked)
    box = find_dialog(QMessageBox, "offerUnlock")
    assert box is not None and "a.csv is locked" in box.text()
    box.reject()
    server = InstanceServer(server_name(gui_main.data_home()), window)
    assert server.listen()
    gui_main.listen_for_launches(window, server)
    plain = _file(vault_env.root / "downloads", "new.csv", b"n,m\n")
    proc = launch(str(plain))
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None, timeout=20000)
    assert finish(proc) == 0
    box = find_dialog(QMessageBox, "confirm")
    assert box.text() == "Lock new.csv into the vault vault?"
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        next(b for b in box.buttons() if b.text() == "Lock").click()
    assert (vault_env.vault.path / "new.csv.age").is_file() and not plain.exists()
    server.close()
    window.close()


def test_file_manager_lock_of_several_files_goes_to_the_running_window(
        qtbot, vault_env: VaultEnv, monkeypatch) -> None:
    """What "Lock with Dataset Vault" on three selected files runs: one question, then
    all three are locked."""
    monkeypatch.setenv("VAULT_USER", "alice")
    window = _start(qtbot, vault_env, vault_env.vault.path)
    server = InstanceServer(server_name(gui_main.data_home()), window)
    assert server.listen()
    gui_main.listen_for_launches(window, server)
    plain = [_file(vault_env.root / "downloads", f"part{i}.csv", b"%d\n" % i)
             for i in range(3)]
    proc = launch("--lock", *map(str, plain))
    qtbot.waitUntil(lambda: find_dialog(QMessageBox, "confirm") is not None, timeout=20000)
    assert finish(proc) == 0
    box = find_dialog(QMessageBox, "confirm")
    assert box.text() == "Lock 3 files into the vault vault?"
    assert "part0.csv, part1.csv, part2.csv" in box.informativeText()
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        next(b for b in box.buttons() if b.text() == "Lock").click()
    for p in plain:
        assert (vault_env.vault.path / f"{p.name}.age").is_file() and not p.exists()
    server.close()
    window.close()


def test_unlock_verb_of_several_files_asks_for_a_folder_once(qtbot, vault_env: VaultEnv,
                                                              monkeypatch) -> None:
    """`vault-app --unlock A.age B.age` as the first launch: the files' vault opens, both
    are selected and one folder question unlocks both."""
    monkeypatch.setenv("VAULT_USER", "alice")
    locked = [vault_env.vault.lock(_file(vault_env.root / "in", n, n.encode())).path
              for n in ("a.csv", "b.csv")]
    unlocked = vault_env.root / "out"
    unlocked.mkdir()
    window = gui_main.start_window(Request("unlock", tuple(locked)),
                                   keystore=vault_env.keystore)
    assert window is not None
    qtbot.addWidget(window)
    assert window.vault is not None and window.vault.path == vault_env.vault.path
    qtbot.waitUntil(lambda: find_dialog(QFileDialog, "chooseFolder") is not None)
    assert sorted(e.path for e in window.selected_entries()) == sorted(locked)
    dialog = find_dialog(QFileDialog, "chooseFolder")
    dialog.setDirectory(str(unlocked))
    dialog.selectFile(str(unlocked))
    with qtbot.waitSignal(window.tasks.idle, timeout=20000):
        dialog.accept()
    assert (unlocked / "a.csv").read_bytes() == b"a.csv"
    assert (unlocked / "b.csv").read_bytes() == b"b.csv"
    window.close()


def _file(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def _start(qtbot, env: VaultEnv, target: Path) -> MainWindow:
    """`vault-app FILE.age` in this process: the window opens on the file's vault."""
    window = gui_main.start_window(target, keystore=env.keystore)
    assert window is not None
    qtbot.addWidget(window)
    assert window.vault is not None and window.vault.path == env.vault.path
    return window


def test_self_test_flag_paints_a_window_and_exits_zero(tmp_path: Path) -> None:
    """The installer's smoke test: no default vault here, so a temporary one is used."""
    config = Path(os.environ["XDG_CONFIG_HOME"])
    before = sorted((p, p.read_bytes()) for p in config.rglob("*") if p.is_file())
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "vault_app.gui.main", "--self-test"],
                          capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    line = proc.stdout.decode().strip().splitlines()[-1]
    assert line.startswith("self-test ok: platform=offscreen vault=temporary files=1 ")
    assert not gui_main.default_vault_path().exists()   # nothing left behind
    after = sorted((p, p.read_bytes()) for p in config.rglob("*") if p.is_file())
    assert after == before   # the user's settings untouched


def test_the_default_vault_is_where_people_look(tmp_path: Path, monkeypatch) -> None:
    """~/Vault, not a hidden data folder; a vault an earlier version made there is
    still found and used."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("VAULT_DATA_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    assert gui_main.default_vault_path() == home / "Vault"
    legacy = home / ".local" / "share" / "dataset-vault" / "Vault"
    (legacy / ".vault").mkdir(parents=True)
    assert gui_main.default_vault_path() == legacy   # an earlier version's vault
    (legacy / ".vault").rmdir()
    (home / "Vault").mkdir()
    (home / "Vault" / "holiday.jpg").write_bytes(b"mine")
    assert gui_main.default_vault_path() == home / "Dataset Vault"   # not theirs to take
