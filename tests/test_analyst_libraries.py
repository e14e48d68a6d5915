"""Each analyst library reads and writes ``vault://`` paths, with no import of ours first.

pandas, polars, pyarrow (a partitioned dataset), duckdb (``register_filesystem``) and a
``dask.distributed`` cluster of worker processes, each reading what another wrote.
The ``analyst`` fixture's keys come from the real keyring in CI (see analyst_support),
and it checks afterwards that the vault folder holds only locked files.
"""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
import sys

import fsspec
import pandas as pd
import pytest
from analyst_support import MARKER, AnalystVault, analyst, frame, vault_files

__all__ = ["analyst"]  # the fixture, imported for pytest


def test_the_vault_protocol_is_an_fsspec_entry_point() -> None:
    """``vault://`` works without importing vault_app: fsspec finds it installed."""
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="fsspec.specs")}
    assert found.get("vault") == "vault_app.fs:VaultFileSystem"
    code = ("import sys, fsspec; cls = fsspec.get_filesystem_class('vault'); "
            "print(cls.__module__, 'vault_app.cli' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["vault_app.fs", "False"]


def test_pandas(analyst: AnalystVault) -> None:
    df = frame()
    df.to_parquet(analyst.url("sales.parquet"), row_group_size=1_000)
    df.to_csv(analyst.url("sales.csv"), index=False)
    df.to_excel(analyst.url("sales.xlsx"), index=False)
    assert [p.name for p in vault_files(analyst.root)] == [
        "sales.csv.age", "sales.parquet.age", "sales.xlsx.age"]
    pd.testing.assert_frame_equal(pd.read_parquet(analyst.url("sales.parquet")), df)
    pd.testing.assert_frame_equal(
        pd.read_parquet(analyst.url("sales.parquet"), columns=["score"]), df[["score"]])
    pd.testing.assert_frame_equal(pd.read_csv(analyst.url("sales.csv")), df)
    pd.testing.assert_frame_equal(pd.read_excel(analyst.url("sales.xlsx")), df)
    info = analyst.vault.info(analyst.root / "sales.parquet.age")
    assert (info.owner, info.signature) == (analyst.user, "valid")


def test_polars(analyst: AnalystVault) -> None:
    pl = pytest.importorskip("polars")
    df = pl.from_pandas(frame())
    with fsspec.open(analyst.url("p.parquet"), "wb") as out:
        df.write_parquet(out)
    with fsspec.open(analyst.url("p.csv"), "wb") as out:
        df.write_csv(out)
    assert pl.read_parquet(analyst.url("p.parquet"), use_pyarrow=True).equals(df)
    one = pl.read_parquet(analyst.url("p.parquet"), columns=["score"], use_pyarrow=True)
    assert one.equals(df.select("score"))
    with fsspec.open(analyst.url("p.csv")) as src:
        assert pl.read_csv(src).equals(df)


def test_pyarrow_dataset_over_a_partitioned_folder(analyst: AnalystVault) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds

    fs = fsspec.filesystem("vault")
    table = pa.Table.from_pandas(frame(), preserve_index=False)
    ds.write_dataset(table, str(analyst.root / "parts"), format="parquet", filesystem=fs,
                     partitioning=["group"], partitioning_flavor="hive")
    assert sorted(p.relative_to(analyst.root).as_posix() for p in vault_files(analyst.root)) == [
        f"parts/group=g{i}/part-0.parquet.age" for i in range(3)]
    dataset = ds.dataset(str(analyst.root / "parts"), format="parquet", filesystem=fs,
                         partitioning="hive")
    assert dataset.count_rows() == table.num_rows
    g1 = dataset.to_table(columns=["id"], filter=ds.field("group") == "g1")
    assert g1.column("id").to_pylist() == list(range(1, table.num_rows, 3))
    got = pd.read_parquet(analyst.url("parts")).sort_values("id", ignore_index=True)
    assert got["note"].tolist() == table.column("note").to_pylist()


def test_duckdb_sql_on_vault_paths(analyst: AnalystVault) -> None:
    duckdb = pytest.importorskip("duckdb")
    frame().to_parquet(analyst.url("s.parquet"))
    con = duckdb.connect()
    con.register_filesystem(fsspec.filesystem("vault"))
    src = analyst.url("s.parquet")

    def one(sql: str) -> tuple[object, ...]:
        row: tuple[object, ...] = con.execute(sql).fetchone()
        return row

    assert one(f"SELECT count(*), sum(id) FROM read_parquet('{src}')") == (
        3_000, sum(range(3_000)))
    con.execute(f"COPY (SELECT id, note FROM read_parquet('{src}') WHERE id % 2 = 0) "
            f"TO '{analyst.url('even.parquet')}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT id FROM read_parquet('{src}') WHERE id < 10) "
            f"TO '{analyst.url('small.csv')}' (FORMAT csv)")
    assert one(f"SELECT count(*) FROM '{analyst.url('even.parquet')}'") == (1_500,)
    assert one(f"SELECT sum(id) FROM read_csv('{analyst.url('small.csv')}')") == (45,)
    assert one(f"SELECT count(*) FROM read_parquet('{analyst.url('*.parquet')}')") == (4_500,)
    con.close()


@pytest.mark.slow
def test_dask_distributed_worker_processes(analyst: AnalystVault) -> None:
    """Workers are other processes: they get the filesystem by pickle, not the keys, and
    unlock the keys themselves (keyring, or VAULT_PASSPHRASE_FILE)."""
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import os

    df = frame()
    df.to_parquet(analyst.url("in.parquet"), row_group_size=1_000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        workers = client.run(os.getpid)
        assert os.getpid() not in workers.values()
        ddf = dd.read_parquet(analyst.url("in.parquet"), split_row_groups=True)
        assert ddf.npartitions == 3
        assert int(ddf["id"].sum().compute()) == sum(range(3_000))
        ddf.assign(double=ddf["id"] * 2).to_parquet(analyst.url("out"), write_index=False)
        dd.from_pandas(df, npartitions=3).to_csv(analyst.url("csv/part-*.csv"), index=False)
        back = dd.read_parquet(analyst.url("out"))
        assert int(back["double"].sum().compute()) == 2 * sum(range(3_000))
        notes = dd.read_csv(analyst.url("csv/part-*.csv"))["note"].compute()
        assert sorted(notes) == sorted(df["note"])
    written = {p.relative_to(analyst.root).as_posix() for p in vault_files(analyst.root)}
    assert {"csv/part-0.csv.age", "csv/part-2.csv.age", "out/part.0.parquet.age"} <= written
    for path in vault_files(analyst.root):
        assert analyst.vault.info(path).signature == "valid"
        assert MARKER.encode() not in path.read_bytes()


def test_vault_app_open_still_reads_a_file_object(analyst: AnalystVault) -> None:
    import vault_app

    frame(100).to_csv(analyst.url("small.csv"), index=False)
    with vault_app.open(analyst.root / "small.csv.age") as handle:
        assert isinstance(handle, io.BufferedReader)
        pd.testing.assert_frame_equal(pd.read_csv(handle), frame(100))
