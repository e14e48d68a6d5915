"""The window: cold start with 10,000 files, UI stalls while locking 1 GiB, CSV preview.

Each figure is measured in a fresh child process (``_gui_probe.py``) running the real
window code, on the offscreen Qt platform when there is no display:

* cold start: from spawning the process to the first paint of the main window, and to
  the first paint of the file list holding all the vault's files (10,000 by default);
* UI stall: the largest gap between ticks of a 5 ms timer while the window locks a
  1 GiB file on the change lane of its ``Tasks`` (target: never more than 50 ms);
* preview: the first 100 rows of a 1 GiB locked CSV, in the preview dialog (until its
  ``loaded`` signal) and through the core calls it makes (target: under 0.3 s).

    python benchmarks/bench_gui.py [--files 10000] [--size-mib 1024] [--runs 5] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench_vault import bench_keystore  # noqa: E402
from _table import Row, machine, median, print_table, scratch_dir, seconds  # noqa: E402

START_LIMIT = 1.0
STALL_LIMIT = 0.050
PREVIEW_LIMIT = 0.3



def write_csv(path: Path, size: int) -> None:
    """A CSV of about ``size`` bytes: a header, then the same 1 MiB of rows repeated."""
    lines, n = [], 0
    while n < 1 << 20:
        line = f"{len(lines)},sample-{len(lines):07d},{len(lines) * 0.25:.2f},2026-11-27\n"
        lines.append(line)
        n += len(line)
    block = "".join(lines).encode()
    with path.open("wb") as out:
        out.write(b"id,name,value,date\n")
        written = 0
        while written < size:
            out.write(block)
            written += len(block)


def write_bytes(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for _ in range(max(1, size >> 20)):
            out.write(block)


def probe(env: dict[str, str], *args: str) -> tuple[dict[str, object], float]:
    """Run one probe; return its JSON figures and the parent's clock at spawn."""
    spawned = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / "_gui_probe.py"), *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        print(f"probe {args[0]} failed (exit {done.returncode}):\n{done.stderr[-2000:]}",
              file=sys.stderr)
        return {}, spawned
    return json.loads(lines[-1]), spawned


def run(files: int, size_mib: int, runs: int, base: str | None) -> list[Row]:
    from vault_app.core.vault import Vault

    work = scratch_dir(base)
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "xdg"),
           "VAULT_DATA_HOME": str(work / "data"), "VAULT_USER": "alice"}
    os.environ.update({k: env[k] for k in ("XDG_CONFIG_HOME", "VAULT_DATA_HOME")})
    config = work / "config"
    rows: list[Row] = []
    try:
        # A vault of ``files`` locked files: one real lock, copied (the list reads names
        # first and headers only for the rows on screen).
        many, _ = Vault.init(work / "many", user="alice", keystore=bench_keystore(config))
        sample = work / "sample.csv"
        sample.write_text("id,value\n1,alpha\n2,beta\n")
        first = many.path / "d000" / "f0000.csv.age"
        first.parent.mkdir()
        many.lock(sample, keep=True, dest=first)
        for i in range(files):
            target = many.path / f"d{i // 100:03d}" / f"f{i:04d}.csv.age"
            if target != first:
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(first, target)
        first_paint, rows_paint = [], []
        for _ in range(runs):
            figures, spawned = probe(env, "start", str(config), str(many.path), str(files))
            if figures:
                first_paint.append(float(figures["first_paint"]) - spawned)  # type: ignore[arg-type]
                rows_paint.append(float(figures["rows_paint"]) - spawned)  # type: ignore[arg-type]
        if first_paint:
            rows += [
                Row(f"cold start to first paint ({files} files)", seconds(median(first_paint)),
                    target=f"< {START_LIMIT:.1f} s", ok=median(first_paint) < START_LIMIT),
                Row(f"cold start to first paint with all {files} rows",
                    seconds(median(rows_paint)), target=f"< {START_LIMIT:.1f} s",
                    ok=median(rows_paint) < START_LIMIT),
            ]
        else:
            rows.append(Row("cold start", "MISSING (the probe failed)", ok=False))

        work_vault, _ = Vault.init(work / "work", user="alice", keystore=bench_keystore(config))
        stalls, elapsed = [], []
        for n in range(runs):
            src = work / f"big{n}.bin"
            write_bytes(src, size_mib << 20)
            figures, _ = probe(env, "stall", str(config), str(work_vault.path), str(src))
            if figures.get("locked") and not figures.get("failures"):
                stalls.append(float(figures["max_gap"]))  # type: ignore[arg-type]
                elapsed.append(float(figures["elapsed"]))  # type: ignore[arg-type]
            src.unlink(missing_ok=True)
            (work_vault.path / f"{src.name}.age").unlink(missing_ok=True)
        if stalls:
            rows.append(Row(f"UI event loop, longest stall while locking {size_mib} MiB",
                            f"{median(stalls) * 1000:.1f} ms",
                            f"lock took {seconds(median(elapsed))}", "",
                            f"< {STALL_LIMIT * 1000:.0f} ms", median(stalls) < STALL_LIMIT))
            rows.append(Row("  worst run of the above", f"{max(stalls) * 1000:.1f} ms"))
        else:
            rows.append(Row("UI stall while locking", "MISSING (the probe failed)", ok=False))

        csv = work / "table.csv"
        write_csv(csv, size_mib << 20)
        locked = work_vault.path / "table.csv.age"
        work_vault.lock(csv, dest=locked)
        results: dict[str, list[float]] = {"dialog": [], "core_quick": [], "core_verified": []}
        got_rows = 0
        for _ in range(runs):
            figures, _ = probe(env, "preview", str(config), str(work_vault.path), str(locked))
            got_rows = int(figures.get("rows", 0))  # type: ignore[call-overload]
            for key in results:
                if figures.get(key) is not None:
                    results[key].append(float(figures[key]))  # type: ignore[arg-type]
        labels = {"dialog": "preview dialog, first 100 rows",
                  "core_quick": "  core: open_reader(verify_content=False) + preview_rows",
                  "core_verified": "  core: open_reader (payload digest checked) + preview_rows"}
        for key, label in labels.items():
            if results[key]:
                value = median(results[key])
                gate = key != "core_verified"  # a whole-file digest: informational only
                rows.append(Row(f"{label} ({size_mib} MiB CSV)", seconds(value),
                                f"{got_rows} rows", "",
                                f"< {PREVIEW_LIMIT:.1f} s" if gate else "(for reference)",
                                value < PREVIEW_LIMIT if gate else None))
            else:
                rows.append(Row(label, "MISSING (the probe failed)", ok=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the vault")
    parser.add_argument("--size-mib", type=int, default=1024, help="locked/previewed file size")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    args = parser.parse_args(argv)
    rows = run(args.files, args.size_mib, args.runs, args.dir)
    print_table(f"Window, median of {args.runs} runs ({machine()})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
