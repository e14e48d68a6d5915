"""What ``vault://`` costs an analyst: each library reading a 35 MB Parquet file through
the vault against reading the plaintext file, in one run.

Makes a Parquet file of about 35 MB (1,000,000 rows of five numeric and text columns,
row groups of 250,000 rows), locks a copy into a fresh vault (the acting user's keys in
the OS keyring when there is one, as an analyst has them; else a key file), then times,
warm and as medians of ``--runs`` reads each:

* pandas, one column (``columns=[...]``): target at most 2x the plaintext read;
* pandas, the whole file: target at most 1.3x;
* and, without targets, the same reads with pyarrow, polars, duckdb and dask (its
  synchronous scheduler: a cluster's start-up would drown the figure).

The keys are unlocked once before timing (the key session keeps them, as in a notebook),
and the plaintext and vault:// runs alternate, so a busy machine slows both alike.

    python benchmarks/bench_analyst.py [--rows 1000000] [--runs 7] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, machine, median, print_table, scratch_dir, seconds

ONE_COLUMN_TARGET = 2.0
WHOLE_TARGET = 1.3


def make_parquet(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    frame = pd.DataFrame({
        "id": np.arange(rows, dtype="int64"),
        "amount": rng.normal(100, 30, rows),
        "rate": rng.random(rows),
        "region": rng.choice(["north", "south", "east", "west"], rows),
        "customer": rng.integers(0, 10**12, rows).astype(str),
    })
    frame.to_parquet(path, row_group_size=250_000)


def keystore_and_user(work: Path) -> tuple[Any, str, str]:
    """The OS keyring if usable (where an analyst's keys are), else a cheap key file
    (opened through VAULT_PASSPHRASE_FILE, as a batch job would)."""
    from vault_app.core.keystore import Keystore

    user = f"bench-{uuid.uuid4().hex[:8]}"
    keystore = Keystore()
    if keystore.keyring_available():
        return keystore, user, "OS keyring"
    secret = work / "passphrase"
    secret.write_text("bench\n")
    os.environ["VAULT_PASSPHRASE_FILE"] = str(secret)
    return (Keystore(passphrase=lambda _p, _c: b"bench", use_key_file=True, work_factor=10),
            user, "key file")


def timed_pair(anchor: Callable[[], object], through: Callable[[], object],
               runs: int) -> tuple[float, float]:
    """Medians of both, their runs interleaved (a busy machine slows both alike)."""
    anchor()  # warm: page cache, imports, the key session
    through()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, out in ((anchor, times[0]), (through, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return median(times[0]), median(times[1])


def readers(plain: str, url: str) -> list[tuple[str, Callable[[str], object], float | None]]:
    """(figure, read(path), target ratio) for each library; ``path`` is plain or vault://."""
    import duckdb
    import fsspec
    import pandas as pd
    import polars as pl
    import pyarrow.parquet as pq

    fs = fsspec.filesystem("vault")
    con = duckdb.connect()
    con.register_filesystem(fs)

    def arrow(path: str, columns: list[str] | None = None) -> object:
        if path.startswith("vault://"):
            return pq.read_table(path[len("vault://"):], columns=columns, filesystem=fs)
        return pq.read_table(path, columns=columns)

    def dask_sum(path: str) -> object:
        import dask
        import dask.dataframe as dd

        with dask.config.set(scheduler="synchronous"):
            return dd.read_parquet(path, columns=["amount"])["amount"].sum().compute()

    return [
        ("pandas, one column", lambda p: pd.read_parquet(p, columns=["amount"]),
         ONE_COLUMN_TARGET),
        ("pandas, whole file", lambda p: pd.read_parquet(p), WHOLE_TARGET),
        ("pyarrow, one column", lambda p: arrow(p, ["amount"]), None),
        ("pyarrow, whole file", lambda p: arrow(p), None),
        ("polars (use_pyarrow), whole file",
         lambda p: pl.read_parquet(p, use_pyarrow=True), None),
        ("duckdb, sum of one column",
         lambda p: con.execute(f"SELECT sum(amount) FROM read_parquet('{p}')").fetchall(), None),
        ("dask, sum of one column", dask_sum, None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (1 M: ~35 MB)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", help="scratch folder (default: tmpfs)")
    args = parser.parse_args()

    import vault_app
    from vault_app.core.vault import Vault

    work = scratch_dir(args.dir)
    keystore, user, where = keystore_and_user(work)
    os.environ["VAULT_USER"] = user
    try:
        plain = work / "sales.parquet"
        make_parquet(plain, args.rows)
        vault, _recovery = Vault.init(work / "vault", user=user, keystore=keystore)
        shutil.copy(plain, work / "vault" / "sales.parquet")
        vault.lock(work / "vault" / "sales.parquet")
        url = f"vault://{work / 'vault' / 'sales.parquet'}"
        size = plain.stat().st_size
        rows = []
        for figure, read, target in readers(str(plain), url):
            anchor, through = timed_pair(lambda r=read: r(str(plain)), lambda r=read: r(url),
                                         args.runs)
            ratio = through / anchor
            rows.append(Row(figure, seconds(through), seconds(anchor), f"{ratio:.2f}x",
                            f"<= {target}x" if target else "",
                            None if target is None else ratio <= target))
        print(f"\n{machine()}; {size / 1e6:.1f} MB Parquet, {args.rows:,} rows; "
              f"keys in the {where}; medians of {args.runs} warm reads")
        print_table("vault:// against the plaintext file (anchor)", rows)
        vault_app.close_session()
        return 0  # the table says pass or FAIL; a timing is no error (as the other scripts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if where == "OS keyring":
            keystore.delete(user)


if __name__ == "__main__":
    sys.exit(main())
