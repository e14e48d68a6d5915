"""Shared helpers for the benchmark scripts: medians, the results table, timing.

Every script prints the same table (figure, median, anchor, ratio, target, pass/fail)
so results read alike and paste straight into docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HEADERS = ("figure", "median", "anchor", "ratio", "target", "result")


@dataclass(frozen=True)
class Row:
    """One line of a results table; ``ok`` is None when there is no target to meet."""

    figure: str
    median: str
    anchor: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None

    def cells(self) -> tuple[str, ...]:
        verdict = "" if self.ok is None else ("pass" if self.ok else "FAIL")
        return (self.figure, self.median, self.anchor, self.ratio, self.target, verdict)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def mib(value: float) -> str:
    return f"{value:.1f} MiB"


def print_table(title: str, rows: Sequence[Row], out=None,  # type: ignore[no-untyped-def]
                value: str = "median") -> None:
    """Print a Markdown table (readable in a terminal, pasteable into docs).

    ``value`` names the second column: the median, unless a script says otherwise.
    """
    out = out or sys.stdout
    table = [(HEADERS[0], value, *HEADERS[2:]), *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    print(f"\n### {title}\n", file=out)
    for n, line in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |",
              file=out)
        if n == 0:
            print("| " + " | ".join("-" * w for w in widths) + " |", file=out)
    out.flush()


def machine() -> str:
    """One line saying where the figures came from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def scratch_dir(base: str | None) -> Path:
    """A private scratch folder on tmpfs (/dev/shm) when there is one."""
    if base is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) \
            else None
    return Path(tempfile.mkdtemp(prefix="vault-bench-", dir=base))


def vault_command() -> list[str]:
    """``$VAULT_BENCH_EXE`` (another ``vault`` to time, such as the packaged one), else the
    ``vault`` console script installed beside this interpreter, else ``-m``."""
    other = os.environ.get("VAULT_BENCH_EXE")
    if other:
        return [other]
    script = Path(sys.executable).with_name("vault")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "vault_app.cli"]


def timed(cmd: Sequence[str], **kwargs) -> float:  # type: ignore[no-untyped-def]
    """Wall time of one command run to completion (it must succeed)."""
    return timed_cpu(cmd, **kwargs)[0]


def timed_cpu(cmd: Sequence[str], **kwargs) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall time and CPU time (user + system, from wait4) of one command; it must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **kwargs)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        raise subprocess.CalledProcessError(code, list(cmd))
    return wall, usage.ru_utime + usage.ru_stime


def write_random(path: Path, size: int) -> None:
    """A file of ``size`` random bytes (incompressible, like real locked data)."""
    with open(path, "wb") as out:
        left = size
        while left > 0:
            step = min(left, 1 << 20)
            out.write(os.urandom(step))
            left -= step
