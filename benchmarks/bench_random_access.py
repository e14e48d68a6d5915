"""Random access into a locked file: ``vault_app.open`` reads one chunk range, never a scan.

Builds a locked file (1 GiB by default, encrypted from a generated stream, so no
plaintext file is written), then times, on freshly opened readers:

* reading 1 MiB at random offsets (each read checked against the expected bytes),
  against a raw read of the same ciphertext range and a full sequential scan;
* time to first byte: open (header, key unwrap, MAC) plus a 1-byte read;
* peak memory of a fresh process reading the whole file and random MiBs.

The target (issue 5) is structural: a 1 MiB read costs the chunks covering it
(at most 17 of 64 KiB), whatever the file size; the table reports chunks decrypted
per read from the reader's own counter.

    python benchmarks/bench_random_access.py [--size-mib 1024] [--runs 5] [--reads 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, machine, median, print_table, scratch_dir, seconds

import vault_app
from vault_app.core.age import encrypt
from vault_app.core.header import read_header
from vault_app.core.reader import AgeReader
from vault_app.core.recipients.x25519 import X25519Identity
from vault_app.core.stream import CHUNK, ENC_CHUNK, NONCE_SIZE, TAG

READ = 1 << 20
MAX_CHUNKS = READ // CHUNK + 1  # an unaligned 1 MiB spans at most 17 chunks
PERIOD = (1 << 20) + 17  # pattern length: not a multiple of the chunk size
PATTERN = random.Random(5).randbytes(PERIOD)
RSS_GROWTH = 16  # MiB a reading process may grow past its size just after opening


def expected(offset: int, size: int) -> bytes:
    """The plaintext at ``offset``: the pattern repeated, so no copy need be kept."""
    start = offset % PERIOD
    out = bytearray()
    while len(out) < size:
        piece = PATTERN[start : start + size - len(out)]
        out += piece
        start = 0
    return bytes(out)


class PatternSource(io.RawIOBase):
    """``size`` bytes of the repeated pattern, generated as they are read."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._left = size
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        view = memoryview(buffer)
        done = 0
        while done < n:
            start = self._at % PERIOD
            take = min(n - done, PERIOD - start)
            view[done : done + take] = PATTERN[start : start + take]
            done += take
            self._at += take
        self._left -= n
        return n


def build(path: Path, size: int, identity: X25519Identity) -> float:
    start = time.perf_counter()
    with open(path, "wb") as out:
        encrypt(PatternSource(size), out, [identity.recipient()])  # type: ignore[arg-type]
    return time.perf_counter() - start


def raw_read(path: Path, data_at: int, offset: int) -> float:
    """Anchor: read the ciphertext of the chunks covering ``offset .. offset+1 MiB``."""
    first, last = offset // CHUNK, (offset + READ - 1) // CHUNK
    fd = os.open(path, os.O_RDONLY)
    try:
        start = time.perf_counter()
        os.pread(fd, (last - first + 1) * ENC_CHUNK, data_at + first * ENC_CHUNK)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def full_scan(path: Path, identity: X25519Identity) -> float:
    """Anchor: what a reader without random access pays, decrypting from the start."""
    start = time.perf_counter()
    with vault_app.open(path, identities=[identity]) as f:
        buf = bytearray(8 << 20)
        while f.readinto(buf):
            pass
    return time.perf_counter() - start


_CHILD = """
import random, resource, sys
import vault_app

def high_water():
    # VmHWM belongs to this process image; ru_maxrss would include the parent's at fork
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

path = sys.argv[1]
with vault_app.open(path, identities=sys.stdin.read()) as f:
    opened = high_water()
    buf = bytearray(1 << 20)
    while f.readinto(buf):
        pass
    size = f.tell()
    rng = random.Random(3)
    for _ in range(50):
        f.seek(rng.randrange(max(1, size)))
        f.read(1 << 20)
print(opened, high_water())
"""


def peak_rss(path: Path, identity: X25519Identity) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh process that opens the file, then reads all of it and
    50 random MiB; the key goes over a pipe, never to disk."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], input=str(identity),
                          capture_output=True, text=True, check=True)
    opened, peak = (int(v) / 1024 for v in done.stdout.split())
    return opened, peak


def measure(path: Path, size: int, identity: X25519Identity, runs: int, reads: int,
            seed: int, rss_runs: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    with open(path, "rb") as f:
        data_at = len(read_header(f).encode()) + NONCE_SIZE
    found: dict[str, list[float]] = {"read": [], "raw": [], "chunks": [], "ttfb": [],
                                     "ttfb_chunks": [], "scan": [], "rss_opened": [],
                                     "rss_peak": []}
    for _ in range(runs):
        start = time.perf_counter()
        with vault_app.open(path, identities=[identity]) as f:
            first = f.read(1)
            found["ttfb"].append(time.perf_counter() - start)
            assert isinstance(f.raw, AgeReader)
            found["ttfb_chunks"].append(f.raw.chunks_decrypted)
        if first != expected(0, min(1, size)):
            sys.exit("bench_random_access: wrong first byte")
        reader = AgeReader(path, identities=[identity])
        try:
            for _ in range(reads):
                offset = rng.randrange(0, max(1, size - READ))
                before = reader.chunks_decrypted
                start = time.perf_counter()
                reader.seek(offset)
                got = reader.read(READ)
                found["read"].append(time.perf_counter() - start)
                found["chunks"].append(reader.chunks_decrypted - before)
                if got != expected(offset, min(READ, size - offset)):
                    sys.exit(f"bench_random_access: wrong bytes at offset {offset}")
                found["raw"].append(raw_read(path, data_at, offset))
        finally:
            reader.close()
        found["scan"].append(full_scan(path, identity))
    for _ in range(rss_runs):
        opened, peak = peak_rss(path, identity)
        found["rss_opened"].append(opened)
        found["rss_peak"].append(peak)
    return found


def rows(found: dict[str, list[float]], size: int) -> list[Row]:
    opened, peak = median(found["rss_opened"]), median(found["rss_peak"])
    read, raw, scan = median(found["read"]), median(found["raw"]), median(found["scan"])
    worst = int(max(found["chunks"]))
    total_chunks = max(1, -(-size // CHUNK))
    ms = lambda s: f"{s * 1000:.2f} ms"  # noqa: E731
    return [
        Row("read 1 MiB at a random offset", ms(read), f"full scan {seconds(scan)}",
            f"{read / scan:.4f}x", f"one chunk range (<= {MAX_CHUNKS} chunks), not a scan",
            worst <= MAX_CHUNKS),
        Row("  same read vs raw ciphertext read", ms(read), f"raw pread {ms(raw)}",
            f"{read / raw:.1f}x", "(reported)"),
        Row("chunks decrypted per 1 MiB read", f"{median(found['chunks']):.0f} (max {worst})",
            f"{total_chunks} in the file", f"{worst / total_chunks:.5f}",
            f"<= {MAX_CHUNKS}", worst <= MAX_CHUNKS),
        Row("time to first byte (open + read 1 byte)", ms(median(found["ttfb"])),
            f"full scan {seconds(scan)}", f"{median(found['ttfb']) / scan:.4f}x",
            "1 chunk decrypted", max(found["ttfb_chunks"]) == 1),
        Row("peak RSS: read it all + 50 random MiB", f"{peak:.1f} MiB",
            f"just opened {opened:.1f} MiB", f"+{peak - opened:.1f} MiB",
            f"flat: < +{RSS_GROWTH} MiB, any size", peak - opened < RSS_GROWTH),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="locked file size")
    parser.add_argument("--runs", type=int, default=5, help="runs (fresh readers), >= 5")
    parser.add_argument("--reads", type=int, default=20, help="random reads per run")
    parser.add_argument("--dir", default=None, help="scratch folder (default: /dev/shm)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rss-runs", type=int, default=3, help="reading processes for RSS")
    parser.add_argument("--json", action="store_true", help="also print raw samples as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.reads < 1 or args.rss_runs < 1 or args.size_mib < 0:
        parser.error("--runs, --reads and --rss-runs must be positive, --size-mib not negative")
    size = args.size_mib << 20
    identity = X25519Identity.generate()
    work = scratch_dir(args.dir)
    try:
        locked = work / "data.bin.age"
        took = build(locked, size, identity)
        print(f"machine: {machine()}")
        print(f"locked file: {args.size_mib} MiB ({locked.stat().st_size} bytes, "
              f"{max(1, -(-size // CHUNK))} chunks of {CHUNK + TAG} bytes) in {work}, "
              f"built in {seconds(took)}")
        print(f"samples: {args.runs} runs x {args.reads} reads of {READ} bytes")
        found = measure(locked, size, identity, args.runs, args.reads, args.seed,
                        args.rss_runs)
        table = rows(found, size)
        print_table("vault_app.open: random access", table)
        if args.json:
            print(json.dumps({"size_mib": args.size_mib, "samples": found,
                              "pass": all(r.ok is not False for r in table)}))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
