"""Child process for bench_share/bench_throughput: times Vault.lock, unlock and share.

Run as ``python _vault_ops.py WORKDIR PLAIN RUNS``; prints one JSON object of
timings (seconds per run) and whether sharing left the payload bytes untouched. It
also times ``vault_app.open()`` and 1 MiB reads at random offsets of the locked file.
Keys use the real passphrase-protected key-file keystore, with a low scrypt work
factor so that unwrapping keys once does not dominate (it is cached afterwards).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path

from _bench_vault import bench_team

import vault_app
from vault_app.core.header import read_header


def payload_digest(path: Path) -> str:
    """SHA-256 of everything after the header: the encrypted payload."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        read_header(handle)
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main(work: Path, plain: Path, runs: int) -> dict[str, object]:
    vault, keystore = bench_team(work)
    out_dir = work / "out"
    out_dir.mkdir()
    times: dict[str, list[float]] = {"lock": [], "unlock": [], "share": [], "open": [],
                                      "random_read": []}
    identity = keystore.load("alice").identity
    rng = random.Random(5)
    untouched = True
    for n in range(runs):
        dest = vault.path / f"data{n}.bin.age"
        start = time.perf_counter()
        vault.lock(plain, keep=True, dest=dest)
        times["lock"].append(time.perf_counter() - start)
        start = time.perf_counter()
        opened = vault.unlock(dest, out_dir)
        times["unlock"].append(time.perf_counter() - start)
        opened.unlink()
        start = time.perf_counter()
        with vault_app.open(dest, identities=[identity]) as reader:
            times["open"].append(time.perf_counter() - start)
            size = reader.seek(0, 2)
            for _ in range(5):  # 1 MiB at a random offset: one chunk range, not a scan
                offset = rng.randrange(0, max(1, size - (1 << 20)))
                start = time.perf_counter()
                reader.seek(offset)
                got = reader.read(1 << 20)
                times["random_read"].append(time.perf_counter() - start)
                assert len(got) == min(1 << 20, size - offset)
        before = payload_digest(dest)
        start = time.perf_counter()
        vault.share(dest, "bob")
        times["share"].append(time.perf_counter() - start)
        untouched = untouched and payload_digest(dest) == before
        dest.unlink()
    return {"times": times, "payload_untouched": untouched}


if __name__ == "__main__":
    result = main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
    json.dump(result, sys.stdout)
