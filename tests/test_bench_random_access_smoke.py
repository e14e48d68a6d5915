"""A quick run of benchmarks/bench_random_access.py, so the script keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_random_access_runs_and_meets_its_structural_target(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_random_access.py"), "--size-mib", "3",
         "--runs", "1", "--reads", "3", "--rss-runs", "1", "--dir", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "| figure" in done.stdout and "read 1 MiB at a random offset" in done.stdout
    result = json.loads(lines[-1])
    assert result["size_mib"] == 3
    assert all(16 <= n <= 17 for n in result["samples"]["chunks"])  # 1 MiB = 16 or 17 chunks
    assert result["samples"]["ttfb_chunks"] == [1]
    assert len(result["samples"]["rss_peak"]) == 1 and result["samples"]["rss_peak"][0] > 0
    assert result["pass"] is True
    assert list(tmp_path.iterdir()) == []  # the scratch folder was cleaned up
