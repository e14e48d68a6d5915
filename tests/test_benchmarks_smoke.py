"""Smoke runs of the benchmark scripts at tiny sizes, so they keep working.

Not a timing gate (the machine is shared and noisy): each script must run to the end,
exit 0 and print its full table with every figure measured (none missing). The
pass/fail column is deliberately not checked here; docs/performance.md has the figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows, f"{name} printed no table:\n{done.stdout}"
    assert rows[0].split("|")[1].strip() == "figure", rows[0]
    assert not any("MISSING" in row for row in rows), "\n".join(rows)
    return rows[2:]  # the figures, after the header and its rule


def figure_names(rows: list[str]) -> list[str]:
    return [row.split("|")[1].strip() for row in rows]


@pytest.mark.interop
def test_bench_throughput_smoke(tmp_path: Path, age_cli: str) -> None:
    rows = run_script("bench_throughput.py", "--size-mib", "2", "--runs", "1",
                      "--dir", str(tmp_path))
    names = figure_names(rows)
    for verb in ("encrypt", "decrypt"):
        assert f"vault {verb} vs age" in names and f"vault {verb} vs cp" in names


@pytest.mark.interop
def test_bench_throughput_armored_smoke(tmp_path: Path, age_cli: str) -> None:
    rows = run_script("bench_throughput.py", "--size-mib", "1", "--runs", "1", "--armor",
                      "--dir", str(tmp_path))
    assert "vault decrypt vs age" in figure_names(rows)


@pytest.mark.interop
def test_bench_memory_smoke(age_cli: str) -> None:
    rows = run_script("bench_memory.py", "--sizes-mib", "1,3", "--runs", "1")
    names = figure_names(rows)
    assert "vault encrypt peak RSS, 3 MiB" in names
    assert "vault decrypt growth 1 -> 3 MiB" in names


@pytest.mark.interop
def test_bench_share_smoke(tmp_path: Path, age_cli: str) -> None:
    rows = run_script("bench_share.py", "--size-mib", "2", "--runs", "1", "--dir", str(tmp_path))
    by_name = {row.split("|")[1].strip(): row for row in rows}
    assert "vault share (add a reader)" in by_name
    # Sharing must not touch the payload: that is correctness, not timing.
    assert "pass" in by_name["share left the payload bytes unchanged"]


def test_bench_listing_smoke(tmp_path: Path) -> None:
    rows = run_script("bench_listing.py", "--files", "40", "--runs", "1", "--dir", str(tmp_path))
    by_name = {row.split("|")[1].strip(): row for row in rows}
    assert "pass" in by_name["files listed with a valid signature"]


def test_bench_gui_smoke(tmp_path: Path) -> None:
    rows = run_script("bench_gui.py", "--files", "20", "--size-mib", "2", "--runs", "1",
                      "--dir", str(tmp_path))
    names = " ".join(figure_names(rows))
    for figure in ("cold start to first paint", "longest stall", "preview dialog"):
        assert figure in names


@pytest.mark.interop
def test_bench_commands_smoke(tmp_path: Path, age_cli: str) -> None:
    """Whole commands, with a keyring of the script's own (or a key file where there is
    no Secret Service), at one and two cores."""
    rows = run_script("bench_commands.py", "--size-mib", "2", "--open-size-mib", "3", "--runs",
                      "1", "--warmup", "0", "--cores", "1,2", "--dir", str(tmp_path))
    by_name = {row.split("|")[1].strip(): row for row in rows}
    for figure in ("vault lock --keep (1 kB)", "vault unlock vs cp", "vault encrypt vs age",
                   "peak RSS: vault lock --keep", "vault_app.open() of 3 MiB + 1 MiB read at 70%"):
        assert figure in by_name, figure
    assert "pass" in by_name["the bytes read are the plaintext"]
    assert any(row.split("|")[1].strip() == "vault lock --keep" and "on 2" in row
               for row in rows), "no scaling table"


@pytest.mark.slow
def test_bench_analyst_smoke(tmp_path: Path) -> None:
    rows = run_script("bench_analyst.py", "--rows", "20000", "--runs", "1", "--dir",
                      str(tmp_path))
    names = figure_names(rows)
    assert names[:2] == ["pandas, one column", "pandas, whole file"]
    assert {"duckdb, sum of one column", "dask, sum of one column"} <= set(names)


def test_bench_floor_smoke(tmp_path: Path) -> None:
    """The work's floor: each piece measured, and a bound for every command with a target."""
    rows = run_script("bench_floor.py", "--size-mib", "4", "--runs", "1", "--dir",
                      str(tmp_path))
    names = figure_names(rows)
    assert "SHA-256, CPU" in names and "start-up: vault lock's imports" in names
    for command in ("encrypt", "decrypt", "lock", "unlock"):
        assert f"vault {command}, start-up = least imports" in names
