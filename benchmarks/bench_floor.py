"""The floor under each command: what the work the format requires costs on this machine,
and so the best time any implementation could reach here, next to the targets.

``bench_commands.py`` times what users run; this script says how much of that is the
work itself. On a scratch file of ``--size-mib`` (tmpfs by default) it measures, as
medians of ``--runs``:

* ``cp`` (the anchor of the targets) and, in Python, writing the size into a fresh file
  from memory (2 MiB writes), reading it back from the page cache, and comparing two
  buffers of the size (the lock's read-back);
* ChaCha20-Poly1305 sealing and opening in 64 KiB chunks and SHA-256 (the segment
  digests), each on one thread, and then on two threads at once: a speed-up near 2 means
  the call releases the GIL and the work spreads over cores;
* start-up: ``python -c pass``, the least a ``vault`` command must import (the cipher,
  the key types, the D-Bus client of the keyring, argparse, json), and what ``vault lock``
  imports today.

From these it bounds each command on N cores: the fixed start-up plus the larger of the
serial part (writing one file: the kernel takes the file's lock for every write) and all
of the CPU work shared by N cores, with no overhead of any kind. A target below its bound
cannot be met on this machine by any implementation of the same work; a target above it
can, and the gap to the measured time (``bench_commands.py``) is the implementation's.

    python benchmarks/bench_floor.py [--size-mib 512] [--runs 5] [--cores 2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, machine, median, print_table, scratch_dir, seconds, timed, write_random

CHUNK = 64 << 10
BLOCK = 2 << 20
MINIMUM_IMPORTS = ("import argparse, json, hashlib; "
                   "import cryptography.hazmat.primitives.ciphers.aead, "
                   "cryptography.hazmat.primitives.asymmetric.x25519, "
                   "cryptography.hazmat.primitives.asymmetric.ed25519, jeepney.io.blocking")
LOCK_IMPORTS = ("import vault_app.cli, vault_app.cli.script_commands, "
                "vault_app.cli.vault_commands, vault_app.core.vault, vault_app.core.os_keyring")
# (command, target as a multiple of cp on 2 cores; issue 15 / PRODUCT.md "Targets")
TARGETS = {"vault encrypt": 1.4, "vault decrypt": 1.4, "vault lock": 2.5, "vault unlock": 2.0}


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn`` (CPU of the whole process: its threads too)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return median(walls), median(cpus)


def _on_threads(fn: Callable[[], object], threads: int) -> Callable[[], None]:
    def run() -> None:
        workers = [threading.Thread(target=fn) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return run


def _start_up(code: str, runs: int) -> float:
    """Median wall time of a fresh interpreter running ``code`` (bytecode caches written:
    a user's installation has them)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", code]
    timed(command, env=env)  # warm the caches
    return median([timed(command, env=env) for _ in range(runs)])


class Work:
    """The pieces of work, each on ``size`` bytes of the scratch file ``plain``."""

    def __init__(self, plain: Path, size: int) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        self.plain, self.size = plain, size
        self.out = plain.with_suffix(".out")
        self.data = memoryview(bytearray(os.urandom(BLOCK)))
        self.aead = ChaCha20Poly1305(os.urandom(32))
        self.nonce = bytes(12)
        self.sealed = self.aead.encrypt(self.nonce, bytes(self.data[:CHUNK]), None)

    def write(self) -> None:
        self.out.unlink(missing_ok=True)
        fd = os.open(self.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for _ in range(self.size // BLOCK):
                os.write(fd, self.data)
        finally:
            os.close(fd)

    def read(self) -> None:
        buffer = memoryview(bytearray(BLOCK))
        with open(self.plain, "rb", buffering=0) as src:
            while src.readinto(buffer):
                pass

    def compare(self) -> None:
        mine, other = bytearray(self.data), bytes(self.data)  # as readback.py: one memcmp
        for _ in range(self.size // BLOCK):
            assert mine == other

    def seal(self) -> None:
        out = bytearray(CHUNK + 16)
        chunk = self.data[:CHUNK]
        for _ in range(self.size // CHUNK):
            self.aead.encrypt_into(self.nonce, chunk, None, out)

    def open(self) -> None:
        out = bytearray(CHUNK)
        for _ in range(self.size // CHUNK):
            self.aead.decrypt_into(self.nonce, self.sealed, None, out)

    def hash(self) -> None:
        import hashlib

        for _ in range(self.size // BLOCK):
            hashlib.sha256(self.data).digest()


def bounds(cost: dict[str, float], start: float, cores: int) -> dict[str, float]:
    """The least each command can take on ``cores`` cores: ``start`` plus the larger of
    the serial write and all the CPU work spread evenly."""
    work = {
        "vault encrypt": ("read", "seal", "write"),
        "vault decrypt": ("read", "open", "write"),
        "vault lock": ("read", "seal", "hash", "write", "read", "compare"),
        "vault unlock": ("read", "open", "hash", "write"),
    }
    return {name: start + max(cost["write"], sum(cost[p] for p in parts) / cores)
            for name, parts in work.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512, help="data size (default 512)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--cores", type=int, default=2, help="cores for the bound (default 2)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    args = parser.parse_args(argv)
    size = max(1, args.size_mib) << 20
    work_dir = scratch_dir(args.dir)
    try:
        plain = work_dir / "plain.bin"
        write_random(plain, size)
        work = Work(plain, size)
        copy = work_dir / "copy.bin"

        def cp() -> None:
            copy.unlink(missing_ok=True)
            subprocess.run(["cp", str(plain), str(copy)], check=True)

        cp_wall, _ = _timed(cp, args.runs)
        cost = {name: _timed(getattr(work, name), args.runs)[1]
                for name in ("write", "read", "compare", "seal", "open", "hash")}
        spread = {name: 2 * _timed(getattr(work, name), args.runs)[0]
                  / _timed(_on_threads(getattr(work, name), 2), args.runs)[0]
                  for name in ("seal", "open", "hash")}
        starts = {"python -c pass": _start_up("pass", args.runs),
                  "least imports": _start_up(MINIMUM_IMPORTS, args.runs),
                  "vault lock's imports": _start_up(LOCK_IMPORTS, args.runs)}

        per_gib = (1 << 30) / size
        rows = [Row("cp", seconds(cp_wall))]
        labels = {"write": "write into a fresh file (serial)", "read": "read (page cache)",
                  "compare": "compare (read-back)", "seal": "ChaCha20-Poly1305 seal",
                  "open": "ChaCha20-Poly1305 open", "hash": "SHA-256"}
        for name, label in labels.items():
            extra = f"2 threads: {spread[name]:.2f}x" if name in spread else ""
            rows.append(Row(f"{label}, CPU", seconds(cost[name]),
                            f"{cost[name] * per_gib:.2f} s/GiB", extra))
        rows += [Row(f"start-up: {name}", seconds(value)) for name, value in starts.items()]
        print(f"\n{machine()}; {args.size_mib} MiB on {work_dir.parent}; "
              f"medians of {args.runs}")
        print_table(f"The work, {args.size_mib} MiB", rows)

        bound_rows = []
        for start_name in ("least imports", "vault lock's imports"):
            for name, bound in bounds(cost, starts[start_name], args.cores).items():
                target = TARGETS[name]
                bound_rows.append(Row(f"{name}, start-up = {start_name}", seconds(bound),
                                      seconds(cp_wall), f"{bound / cp_wall:.2f}x",
                                      f"<= {target}x cp", bound / cp_wall <= target))
        print_table(f"Least possible time on {args.cores} core(s), no overhead at all "
                    "(FAIL: the target is below the floor)", bound_rows, value="bound")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
