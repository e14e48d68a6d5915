"""Peak memory (RSS) of ``vault encrypt`` and ``vault decrypt`` on 64 MiB, 1 GiB and 4 GiB.

The data is streamed, never stored: this script feeds ``vault encrypt`` from a
generator through a pipe, pipes its output into ``vault decrypt``, and counts what
comes out. So a 4 GiB run needs no disk at all. Each process's own peak RSS comes
from ``os.wait4`` (the kernel's ru_maxrss for exactly that child). Target
(PRODUCT.md): under 64 MiB, and flat in the file size.

    python benchmarks/bench_memory.py [--sizes-mib 64,1024,4096] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, machine, mib, print_table, vault_command

LIMIT_MIB = 64.0
FLAT_MIB = 8.0  # the largest file may use at most this much more than the smallest


def _wait_rss(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Reap ``proc`` with wait4: its exit status and its own peak RSS in MiB."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024  # Linux reports KiB


def _feed(pipe: object, size: int) -> None:
    """Write ``size`` bytes of random-looking data (a 1 MiB random block, repeated)."""
    block = memoryview(os.urandom(1 << 20))
    left = size
    try:
        while left > 0:
            step = min(left, len(block))
            pipe.write(block[:step])  # type: ignore[attr-defined]
            left -= step
    finally:
        pipe.close()  # type: ignore[attr-defined]


def one_run(size: int, key: Path, recipient: str) -> tuple[float, float]:
    """Stream ``size`` bytes through encrypt | decrypt; return both peak RSS figures."""
    vault = vault_command()
    enc = subprocess.Popen([*vault, "encrypt", "-r", recipient], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    dec = subprocess.Popen([*vault, "decrypt", "-i", str(key)], stdin=enc.stdout,
                           stdout=subprocess.PIPE)
    assert enc.stdout is not None and dec.stdout is not None
    enc.stdout.close()  # dec holds the read end now
    feeder = threading.Thread(target=_feed, args=(enc.stdin, size), daemon=True)
    feeder.start()
    got = 0
    while block := dec.stdout.read1(1 << 20):
        got += len(block)
    feeder.join()
    enc_rc, enc_rss = _wait_rss(enc)
    dec_rc, dec_rss = _wait_rss(dec)
    if enc_rc or dec_rc or got != size:
        sys.exit(f"bench_memory: the pipeline failed (encrypt exit {enc_rc}, decrypt exit "
                 f"{dec_rc}, {got} of {size} bytes came back)")
    return enc_rss, dec_rss


def run(sizes_mib: list[int], runs: int) -> list[Row]:
    keygen = shutil.which("age-keygen")
    if keygen is None:
        sys.exit("bench_memory: `age-keygen` is required")
    work = Path(tempfile.mkdtemp(prefix="vault-bench-mem-"))
    try:
        key = work / "key.txt"
        subprocess.run([keygen, "-o", str(key)], check=True, capture_output=True)
        recipient = subprocess.run([keygen, "-y", str(key)], check=True, capture_output=True,
                                   text=True).stdout.strip()
        peaks: dict[int, tuple[float, float]] = {}
        for size in sizes_mib:
            enc_runs, dec_runs = [], []
            for _ in range(runs):
                enc_rss, dec_rss = one_run(size << 20, key, recipient)
                enc_runs.append(enc_rss)
                dec_runs.append(dec_rss)
            peaks[size] = (max(enc_runs), max(dec_runs))  # the worst run, not the median
            print(f"{size} MiB: encrypt {peaks[size][0]:.1f} MiB, decrypt {peaks[size][1]:.1f} "
                  "MiB", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows: list[Row] = []
    small, large = min(sizes_mib), max(sizes_mib)
    for i, verb in enumerate(("encrypt", "decrypt")):
        for size in sizes_mib:
            rss = peaks[size][i]
            rows.append(Row(f"vault {verb} peak RSS, {size} MiB", mib(rss), "", "",
                            f"< {LIMIT_MIB:.0f} MiB", rss < LIMIT_MIB))
        growth = peaks[large][i] - peaks[small][i]
        rows.append(Row(f"vault {verb} growth {small} -> {large} MiB", mib(growth),
                        f"{small} MiB: {mib(peaks[small][i])}",
                        f"{peaks[large][i] / peaks[small][i]:.2f}x", f"< {FLAT_MIB:.0f} MiB (flat)",
                        growth < FLAT_MIB))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", default="64,1024,4096",
                        help="comma-separated sizes in MiB (default 64,1024,4096)")
    parser.add_argument("--runs", type=int, default=5, help="runs per size (default 5)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes_mib.split(",") if s]
    rows = run(sizes, args.runs)
    print_table(f"Peak RSS, worst of {args.runs} runs, streamed through pipes ({machine()})",
                rows, value=f"worst of {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
