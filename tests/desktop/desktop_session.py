"""A real desktop on a virtual screen, for the end-to-end test: Xvfb, openbox, pcmanfm,
the app as users get it, driven with xdotool and photographed with ImageMagick.

Everything waits on a real condition with a deadline (a window that appears, a file
that exists, pixels that settle), never on a fixed sleep. Every process started here
is stopped by its own id.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
ICONS = ROOT / "vault_app" / "gui" / "resources" / "icons"
TOOLS = ("Xvfb", "openbox", "pcmanfm", "xdotool", "xwininfo", "xprop", "import",
         "update-mime-database", "update-desktop-database")
#: Apps as users get them: the .deb's (``.ci/package-check`` sets this while installed).
INSTALLED = os.environ.get("VAULT_DESKTOP_INSTALLED") == "1"
#: The screenshot folders of this run, listed at the end of the output (conftest.py).
SHOT_FOLDERS: list[Path] = []


def need(why: str | None) -> None:
    """Skip with the reason; in CI (``CI`` set) a missing piece is a failure."""
    import pytest

    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def wait_for(what: str, condition: Callable[[], object], timeout: float = 30.0,
             every: float = 0.1) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)   # a poll interval, not a wait for something to happen


@dataclass
class Window:
    wid: str
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


class Desktop:
    """One X server with a window manager; ``run`` starts programs on it."""

    def __init__(self, home: Path, width: int = 2240, height: int = 900) -> None:
        self.home = home
        self.size = (width, height)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[BinaryIO] = []
        self.env: dict[str, str] = {}
        self.display = ""

    # -- the session ---------------------------------------------------------------------
    def start(self, env: dict[str, str]) -> None:
        read, write = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0",
             f"{self.size[0]}x{self.size[1]}x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(write)
        self.procs.append(xvfb)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        assert number, "Xvfb gave no display number"
        self.display = f":{number}"
        self.env = {**env, "DISPLAY": self.display}
        self.run(["openbox", "--sm-disable"])
        wait_for("openbox to manage the screen", self._wm_running)

    def _wm_running(self) -> bool:
        out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"],
                             env=self.env, capture_output=True, text=True, check=False)
        return "window id" in out.stdout

    def run(self, argv: Sequence[str], log: Path | None = None) -> subprocess.Popen[bytes]:
        out: BinaryIO | int = subprocess.DEVNULL
        if log is not None:
            out = open(log, "ab")  # noqa: SIM115 (closed in stop)
            self.logs.append(out)
        proc = subprocess.Popen(list(argv), env=self.env, stdout=out, stderr=out,
                                cwd=self.home, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            else:
                proc.wait()
        for log in self.logs:
            log.close()

    # -- windows, pointer, keys ------------------------------------------------------------
    def xdotool(self, *args: str, check: bool = True) -> str | None:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                             text=True, timeout=60, check=False)
        if out.returncode != 0:
            if check:
                raise AssertionError(f"xdotool {' '.join(args)}: {out.stderr.strip()}")
            return None
        return out.stdout.strip()

    def window(self, name: str, timeout: float = 40.0) -> Window:
        """The visible window whose title matches ``name`` (a regular expression)."""
        found = wait_for(f"a window named {name!r}", lambda: self.xdotool(
            "search", "--onlyvisible", "--name", name, check=False), timeout)
        wid = str(found).split()[-1]
        return self.geometry(wid)

    def geometry(self, wid: str) -> Window:
        """Where the window's own area is on the screen (xwininfo's absolute corner:
        ``xdotool getwindowgeometry`` is off by the frame under a reparenting WM)."""
        out = subprocess.run(["xwininfo", "-id", wid], env=self.env, capture_output=True,
                             text=True, timeout=30, check=True).stdout
        g = {k.strip(): v.strip() for k, v in
             (line.split(":", 1) for line in out.splitlines() if ":" in line)}
        return Window(wid, int(g["Absolute upper-left X"]), int(g["Absolute upper-left Y"]),
                      int(g["Width"]), int(g["Height"]))

    def title(self, wid: str) -> str:
        return self.xdotool("getwindowname", wid, check=False) or ""

    def place(self, wid: str, x: int, y: int, width: int, height: int) -> Window:
        self.xdotool("windowsize", wid, str(width), str(height))
        self.xdotool("windowmove", wid, str(x), str(y))
        return wait_for(f"window {wid} at {width}x{height}", lambda: (
            g if ((g := self.geometry(wid)).width, g.height) == (width, height) else None))

    def press_and_move(self, start: tuple[int, int], end: tuple[int, int],
                       steps: int = 14) -> None:
        """Press at ``start`` and move to ``end`` in steps, button held: a drag that
        both toolkits recognise (each step waits until the pointer is there)."""
        self.xdotool("mousemove", "--sync", str(start[0]), str(start[1]))
        self.xdotool("mousedown", "1")
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i // steps
            y = start[1] + (end[1] - start[1]) * i // steps
            # --sync waits for the pointer; the pause paces the motion events as a hand
            # would, so source and target exchange their XDND messages in between
            self.xdotool("mousemove", "--sync", str(x), str(y), "sleep", "0.04")

    def key(self, window: Window, *keys: str) -> None:
        """Keys typed into ``window`` (focused first, as a person's typing would be)."""
        self.xdotool("windowactivate", "--sync", window.wid, check=False)
        self.xdotool("windowfocus", "--sync", window.wid, check=False)
        self.xdotool("key", "--clearmodifiers", *keys)

    def gone(self, name: str) -> bool:
        return self.xdotool("search", "--onlyvisible", "--name", name, check=False) is None

    def release(self) -> None:
        self.xdotool("mouseup", "1")

    def double_click(self, at: tuple[int, int]) -> None:
        self.xdotool("mousemove", str(at[0]), str(at[1]), "click", "--repeat", "2",
                     "--delay", "120", "1")

    # -- pictures ------------------------------------------------------------------------
    def shot(self, path: Path, window: Window | None = None) -> QImage:
        path.parent.mkdir(parents=True, exist_ok=True)
        target = window.wid if window is not None else "root"
        subprocess.run(["import", "-window", target, str(path)], env=self.env,
                       check=True, timeout=60, capture_output=True)
        image = QImage(str(path))
        assert not image.isNull(), path
        return image

    def settled(self, path: Path, window: Window, timeout: float = 20.0) -> QImage:
        """A screenshot once two in a row agree (the window has finished drawing)."""
        previous: list[QImage] = []

        def same() -> QImage | None:
            image = self.shot(path, window)
            ok = bool(previous) and image == previous[-1]
            previous.append(image)
            return image if ok else None

        return wait_for(f"{window.wid} to finish drawing", same, timeout, every=0.25)


def red_pixels(image: QImage) -> int:
    """Pixels of the window's alert red (text and shields of a bad file)."""
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if c.red() > 160 and c.green() < 110 and c.blue() < 110:
                count += 1
    return count


def ink_box(image: QImage, left: int, top: int, right: int, bottom: int
            ) -> tuple[int, int, int, int] | None:
    """The box around everything darker than the background in a region (a file
    manager's icon and its label on a white view)."""
    xs, ys = [], []
    for y in range(top, min(bottom, image.height()), 2):
        for x in range(left, min(right, image.width()), 2):
            if image.pixelColor(x, y).lightness() < 200:
                xs.append(x)
                ys.append(y)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def user_install(home: Path, env: dict[str, str]) -> None:
    """The .deb's desktop integration, in the user's own XDG folders: desktop entry,
    MIME type, icons, default handler, pcmanfm's file-manager actions, and
    ``vault``/``vault-app`` commands on PATH that run this checkout."""
    data, config = Path(env["XDG_DATA_HOME"]), Path(env["XDG_CONFIG_HOME"])
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, module in (("vault-app", "vault_app.gui.main"), ("vault", "vault_app.cli")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec env PYTHONPATH="{ROOT}" "{sys.executable}" '
                          f'-m {module} "$@"\n')
        script.chmod(0o755)
    (data / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy(LINUX / "dataset-vault.desktop", data / "applications")
    (data / "mime" / "packages").mkdir(parents=True, exist_ok=True)
    shutil.copy(LINUX / "dataset-vault-mime.xml", data / "mime" / "packages" /
                "dataset-vault.xml")
    actions = data / "file-manager" / "actions"
    actions.mkdir(parents=True, exist_ok=True)
    for action in (LINUX / "file-manager").glob("*.desktop"):
        shutil.copy(action, actions)
    hicolor = data / "icons" / "hicolor" / "scalable"
    for sub, src, name in (("apps", "app.svg", "dataset-vault.svg"),
                           ("mimetypes", "file-locked.svg",
                            "application-x-age-encrypted.svg")):
        (hicolor / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(ICONS / src, hicolor / sub / name)
    subprocess.run(["update-mime-database", str(data / "mime")], check=True, env=env,
                   capture_output=True)
    subprocess.run(["update-desktop-database", str(data / "applications")], check=True,
                   env=env, capture_output=True)
    config.mkdir(parents=True, exist_ok=True)
    (config / "mimeapps.list").write_text(
        "[Default Applications]\napplication/x-age-encrypted=dataset-vault.desktop;\n")


@contextmanager
def desktop(home: Path, env: dict[str, str]) -> Iterator[Desktop]:
    session = Desktop(home)
    try:
        session.start(env)
        yield session
    finally:
        session.stop()
