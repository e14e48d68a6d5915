"""Helpers shared by tests: run the real CLI, drive programs through a pseudo-terminal.

Importable everywhere as ``support`` (pyproject sets ``pythonpath = ["tests"]``).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path


def run_vault(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real ``vault`` command line in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vault_app.cli", *args], input=input,
                          capture_output=True, env=full_env, cwd=cwd, timeout=300, check=False)


def run_with_tty(argv: list[str], answers: list[bytes], *, stdin: int | None = None,
                 stdout: int | None = None, env: dict[str, str] | None = None,
                 timeout: float = 120) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal (/dev/tty).

    Each time the program prompts for a passphrase on the terminal, the next of
    ``answers`` is typed. ``stdin``/``stdout`` default to the terminal; pass file
    descriptors to stream data. Returns (exit status, terminal output, stderr).
    """
    import fcntl
    import select
    import termios
    import time

    master, slave = os.openpty()

    def make_controlling_tty() -> None:  # runs in the child, after setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            argv, stdin=slave if stdin is None else stdin,
            stdout=slave if stdout is None else stdout, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})}, start_new_session=True,
            preexec_fn=make_controlling_tty, pass_fds=(slave,),
        )
    finally:
        os.close(slave)
    screen = b""
    pending = list(answers)
    prompts_answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                screen += data
            prompts = screen.lower().count(b"passphrase")
            if pending and prompts > prompts_answered and screen.rstrip().endswith(b":"):
                os.write(master, pending.pop(0) + b"\n")
                prompts_answered = prompts
            if not ready and proc.poll() is not None:
                break
        stderr = proc.stderr.read() if proc.stderr else b""
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    return status, screen, stderr


def armored(data: bytes) -> bytes:
    """``data`` as ASCII armor, through the project's own writer."""
    from vault_app.core.armor import ArmoredWriter

    out = io.BytesIO()
    writer = ArmoredWriter(out)
    writer.write(data)
    writer.close()
    return out.getvalue()
