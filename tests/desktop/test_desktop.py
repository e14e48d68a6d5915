"""The window as an analyst meets it on a real desktop (issue 17), end to end.

Xvfb with openbox, a real file manager (pcmanfm) and the app as users get it: the .deb's
installation when ``.ci/package-check`` runs this with the package installed
(``VAULT_DESKTOP_INSTALLED=1``), else the same desktop integration installed into the
user's own XDG folders. xdotool plays the person:

1. drags a CSV from pcmanfm onto the window (the drop highlight shows), answers the
   Move-or-Copy question, and the CSV is locked into ~/Vault;
2. drags the locked row back into pcmanfm: one gesture, the plain copy lands there;
3. double-clicks a locked file outside the vault in pcmanfm: the app's dialog offers
   what can be done with it;
4. double-clicks a locked file in the vault in pcmanfm: the running app's dialog asks;
5. flips one byte of the locked file on disk: the list turns red, without F5.

A screenshot of each step (the whole screen) is kept in ``out/desktop/<width>px/``
(listed at the end of the test output), at window widths of 960 and 1,400 px.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_session import (
    INSTALLED,
    ROOT,
    SHOT_FOLDERS,
    Desktop,
    Window,
    desktop,
    ink_box,
    missing_tools,
    need,
    red_pixels,
    user_install,
    wait_for,
)

CSV = b"id,name,age,weight\n1,Ann,34,61.5\n2,Bob,45,80.25\n3,Cid,29,72\n"
PCMANFM = (0, 0, 760, 640)     # x, y, width, height of the file manager's window


def shots_folder(width: int) -> Path:
    base = Path(os.environ.get("VAULT_DESKTOP_SHOTS", ROOT / "out" / "desktop"))
    folder = base / f"{width}px"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    SHOT_FOLDERS.append(folder)
    return folder


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short private $XDG_RUNTIME_DIR, as /run/user/UID is (a socket path is short)."""
    run = Path(tempfile.mkdtemp(prefix="run-"))
    run.chmod(0o700)
    yield run
    shutil.rmtree(run, ignore_errors=True)


def environment(home: Path, run: Path) -> dict[str, str]:
    """A fresh login: its own home and XDG folders; the session bus and keyring of the
    test run (where CI unlocked a gnome-keyring)."""
    keep = ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "LANG")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "HOME": str(home), "USER": "analyst", "VAULT_USER": "analyst",
        "PATH": f"{home / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_RUNTIME_DIR": str(run),
        "XDG_DATA_DIRS": "/usr/local/share:/usr/share",
        "VAULT_KEYRING_SERVICE": os.environ.get("VAULT_KEYRING_SERVICE",
                                                f"dataset-vault-desktop-{os.getpid()}"),
        "QT_QPA_PLATFORM": "xcb", "NO_AT_BRIDGE": "1",
    })
    return env


def pcmanfm_config(env: dict[str, str]) -> None:
    """Icon view, places pane 150 px wide: where the files appear is predictable."""
    folder = Path(env["XDG_CONFIG_HOME"]) / "pcmanfm" / "default"
    folder.mkdir(parents=True)
    (folder / "pcmanfm.conf").write_text(
        "[ui]\nsplitter_pos=150\nside_pane_mode=places\nview_mode=icon\n"
        "show_statusbar=1\nalways_show_tabs=0\n")


def file_icon(session: Desktop, fm: Window, shot: Path) -> tuple[int, int]:
    """Where the one file in the file manager's folder view is, found in a picture of
    the screen: the only ink on the white view right of the places pane."""
    def find() -> tuple[int, int, int, int] | None:
        return ink_box(session.shot(shot), fm.x + 170, fm.y + 90, fm.x + fm.width - 20,
                       fm.y + fm.height - 40)

    left, _top, right, bottom = wait_for("a file icon in pcmanfm", find, timeout=20)
    # the label is the darkest part (a light icon may not show at all): the icon
    # stands just above the label's last line
    return (left + right) // 2, bottom - 25


def selected_row(session: Desktop, app: Window, shot: Path) -> tuple[int, int]:
    """The middle of the highlighted (selected) row in the window's list."""
    image = session.shot(shot)
    xs, ys = [], []
    for y in range(app.y + 60, app.y + app.height - 40, 2):
        for x in range(app.x + 10, app.x + app.width * 2 // 3, 4):
            c = image.pixelColor(x, y)
            if c.blue() > 150 and c.red() < 110 and c.green() > 90:
                xs.append(x)
                ys.append(y)
    assert ys, "no selected row in the window"
    return min(xs) + 60, (min(ys) + max(ys)) // 2


def flip_byte(path: Path, from_end: int = 40) -> None:
    with path.open("r+b") as f:
        f.seek(-from_end, os.SEEK_END)
        byte = f.read(1)
        f.seek(-from_end, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.slow
@pytest.mark.parametrize("width", [960, 1400])
def test_the_window_on_a_real_desktop(tmp_path: Path, runtime_dir: Path, width: int) -> None:
    need(f"missing {', '.join(missing_tools())} (installed by .ci/run)" if missing_tools()
         else None)
    need(None if os.environ.get("DBUS_SESSION_BUS_ADDRESS") else
         "needs a D-Bus session with an unlocked keyring (CI runs the tests in one)")
    home = tmp_path / "home"
    (home / "Data").mkdir(parents=True)
    env = environment(home, runtime_dir)
    if not INSTALLED:
        user_install(home, env)
    pcmanfm_config(env)
    vault_cli = shutil.which("vault", path=env["PATH"])
    assert vault_cli is not None
    made = subprocess.run([vault_cli, "init", str(home / "Vault"), "--recovery-out",
                           str(home / "recovery.txt")], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    csv = home / "Data" / "patients.csv"
    csv.write_bytes(CSV)
    locked = home / "Vault" / "patients.csv.age"
    shots = shots_folder(width)

    with desktop(home, env) as session:
        session.run(["pcmanfm", str(home / "Data")], log=tmp_path / "pcmanfm.log")
        fm = session.place(session.window("^Data$").wid, *PCMANFM)
        session.run(["vault-app"], log=tmp_path / "app.log")
        app = session.place(session.window("Dataset Vault$").wid, PCMANFM[2] + 20, 0,
                            width, 760)
        session.settled(shots / "00-start.png", app)
        session.shot(shots / "00-start.png")

        # 1. drag the CSV onto the window: highlight, Move or Copy, locked
        start = file_icon(session, fm, tmp_path / "fm.png")
        session.press_and_move(start, app.center)
        session.shot(shots / "01-drop-highlight.png")
        session.release()
        question = session.window("^Lock into the vault")
        session.settled(shots / "02-move-or-copy.png", question)
        session.shot(shots / "02-move-or-copy.png")
        session.key(question, "Return")   # the default button: "Move into vault"
        wait_for("the CSV locked into ~/Vault", lambda: locked.is_file() and not csv.exists())
        session.settled(tmp_path / "app.png", app)
        session.shot(shots / "03-locked.png")

        # 2. drag the locked row back into pcmanfm: the plain copy lands in ~/Data
        row = selected_row(session, app, tmp_path / "app.png")
        session.press_and_move(row, (fm.x + fm.width // 2, fm.y + fm.height // 2))
        session.release()
        wait_for("the plain copy in ~/Data", lambda: csv.is_file() and
                 csv.read_bytes() == CSV)
        session.settled(tmp_path / "app.png", app)
        session.shot(shots / "04-dragged-out.png")

        # 3. a locked file outside the vault, double-clicked in pcmanfm
        csv.unlink()
        partner = home / "Data" / "from-partner.csv.age"
        shutil.copy(locked, partner)
        session.double_click(file_icon(session, fm, tmp_path / "fm.png"))
        outside = session.window("^Locked file")
        session.settled(tmp_path / "dialog.png", outside)
        session.shot(shots / "05-locked-file-outside.png")
        session.key(outside, "Escape")
        wait_for("the dialog to close", lambda: session.gone("^Locked file"))

        # 4. a locked file in the vault, double-clicked in pcmanfm
        partner.unlink()
        session.key(fm, "ctrl+l")
        session.xdotool("type", "--delay", "5", str(home / "Vault"))
        session.xdotool("key", "Return")
        wait_for("pcmanfm in ~/Vault", lambda: session.title(fm.wid) == "Vault")
        session.double_click(file_icon(session, fm, tmp_path / "fm.png"))
        offer = session.window("^Open locked file")
        session.settled(tmp_path / "dialog.png", offer)
        session.shot(shots / "06-double-click-in-vault.png")
        session.key(offer, "Escape")
        wait_for("the dialog to close", lambda: session.gone("^Open locked file"))

        # 5. one byte changes on disk: the row turns red, no F5
        session.xdotool("mousemove", str(app.x + width // 3), str(app.y + 600), "click", "1")
        before = red_pixels(session.settled(tmp_path / "app.png", app))
        flip_byte(locked)
        wait_for("the list to turn red", lambda: red_pixels(
            session.shot(tmp_path / "app.png", app)) > before + 40, timeout=30, every=0.3)
        session.settled(tmp_path / "app.png", app)
        session.shot(shots / "07-tampered-turns-red.png")
        assert red_pixels(session.shot(shots / "07-window.png", app)) > before + 40
