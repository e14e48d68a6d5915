"""Listing a large vault: ``vault ls`` on 10,000 locked files, every signature checked.

The vault holds one small locked file (locked by alice, shared with bob: two signed
records) copied ``--files`` times. Each run is a fresh ``vault ls --json`` process, so
the listing is a first one (nothing cached): it reads every header and checks every
record's Ed25519 signature against the member registry. The issue sets no target for
it (the window shows names first and reads headers only for the rows on screen); the
figure is reported so that changes to it are seen.

    python benchmarks/bench_listing.py [--files 10000] [--runs 5] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench_vault import bench_team  # noqa: E402
from _table import Row, machine, median, print_table, scratch_dir, seconds, timed  # noqa: E402


def build_vault(work: Path, files: int) -> Path:
    vault, _keystore = bench_team(work)
    src = work / "sample.csv"
    src.write_bytes(b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(200)))
    # every file locked on its own: a signed record names its file (and its own id), so
    # copies of one locked file under other names would not be valid files of the vault
    for i in range(files):
        locked = vault.lock(src, keep=True, dest=vault.path / f"part{i:05d}.csv.age").path
        if i % 2 == 0:
            vault.share(locked, "bob")
    return vault.path


def run(files: int, runs: int, base: str | None) -> list[Row]:
    work = scratch_dir(base)
    try:
        root = build_vault(work, files)
        cmd = [sys.executable, "-m", "vault_app.cli", "ls", "--json", "--vault", str(root),
               "--user", "bob"]
        env = {**os.environ, "VAULT_KEY_FILE": "1"}
        listed = json.loads(subprocess.run(cmd, check=True, capture_output=True, env=env,
                                           text=True).stdout)
        valid = sum(1 for f in listed if f["signature"] == "valid")
        if len(listed) != files or valid != files:
            sys.exit(f"bench_listing: {len(listed)} files listed, {valid} valid")
        times = [timed(cmd, env=env) for _ in range(runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    took = median(times)
    return [
        Row(f"`vault ls` of {files} locked files (first listing)", seconds(took)),
        Row("  per file (header read, 2 signatures checked)", f"{took / files * 1000:.3f} ms"),
        Row("  files listed with a valid signature", f"{valid} of {files}", target="all",
            ok=valid == files),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="locked files (10000)")
    parser.add_argument("--runs", type=int, default=5, help="runs (default 5)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    args = parser.parse_args(argv)
    rows = run(args.files, args.runs, args.dir)
    print_table(f"Listing, median of {args.runs} runs ({machine()})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
