"""Lock/unlock throughput: ``vault encrypt``/``decrypt`` against ``age`` 1.1.1 and ``cp``.

Each run times whole commands (process start and imports included), interleaved so
that machine noise hits every tool alike; the table quotes medians. One uncounted
warm-up round comes first: on a fresh VM the first writes of a run fault in memory
pages for tmpfs and slow every tool alike. Targets
(PRODUCT.md, 2 cores): at least 1.5x faster than age, and within 1.4x of cp. The keys
are plain age keys (no keyring): ``bench_commands.py`` times what users run.

    python benchmarks/bench_throughput.py [--size-mib 512] [--runs 5] [--dir /dev/shm] [--armor]

With ``--armor`` both tools write (and then read) ASCII-armored files; the targets
are for binary files, so there the table is for information.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import (
    Row,
    machine,
    median,
    print_table,
    scratch_dir,
    seconds,
    timed_cpu,
    vault_command,
    write_random,
)

AGE_FASTER = 1.5  # age takes at least 1.5x vault's time
CP_SLOWER = 1.4  # and vault at most 1.4x the time of cp


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def run(size_mib: int, runs: int, base: str | None, warmup: int = 1,
        armor: bool = False) -> list[Row]:
    age = shutil.which("age")
    keygen = shutil.which("age-keygen")
    if age is None or keygen is None:
        sys.exit("bench_throughput: the `age` and `age-keygen` commands are required")
    vault = vault_command()
    work = scratch_dir(base)
    try:
        plain = work / "data.bin"
        key = work / "key.txt"
        write_random(plain, size_mib << 20)
        subprocess.run([keygen, "-o", str(key)], check=True, capture_output=True)
        recipient = subprocess.run([keygen, "-y", str(key)], check=True, capture_output=True,
                                   text=True).stdout.strip()
        locked_age, locked_vault = work / "age.age", work / "vault.age"
        armored = ["-a"] if armor else []
        copy, out_age, out_vault = work / "copy.bin", work / "age.out", work / "vault.out"
        commands = {
            "cp": [["cp", str(plain), str(copy)]],
            "age encrypt": [[age, *armored, "-r", recipient, "-o", str(locked_age),
                             str(plain)]],
            "vault encrypt": [[*vault, "encrypt", *armored, "-r", recipient, "-o",
                               str(locked_vault), str(plain)]],
            "age decrypt": [[age, "-d", "-i", str(key), "-o", str(out_age), str(locked_age)]],
            "vault decrypt": [[*vault, "decrypt", "-i", str(key), "-o", str(out_vault),
                               str(locked_vault)]],
        }
        outputs = {"cp": copy, "age encrypt": locked_age, "vault encrypt": locked_vault,
                   "age decrypt": out_age, "vault decrypt": out_vault}
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for n in range(warmup + runs):  # warm-up rounds fault in tmpfs pages; not counted
            round_: dict[str, float] = {}
            for name, (cmd,) in commands.items():
                outputs[name].unlink(missing_ok=True)
                round_[name], used = timed_cpu(cmd)
                if n >= warmup:
                    cpu[name].append(used)
            if n >= warmup:
                for name, value in round_.items():
                    times[name].append(value)
            label = f"run {n + 1 - warmup}/{runs}" if n >= warmup else "warm-up"
            print(f"{label}: " + ", ".join(f"{name} {value:.3f}"
                                           for name, value in round_.items()), file=sys.stderr)
        want = digest(plain)
        for name in ("age decrypt", "vault decrypt"):
            if digest(outputs[name]) != want:
                sys.exit(f"bench_throughput: {name} did not give back the original")
        med = {name: median(values) for name, values in times.items()}
        med_cpu = {name: median(values) for name, values in cpu.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [Row("cp", seconds(med["cp"])),
            Row("age encrypt", seconds(med["age encrypt"]), "cp " + seconds(med["cp"]),
                f"{med['age encrypt'] / med['cp']:.2f}x cp"),
            Row("age decrypt", seconds(med["age decrypt"]), "cp " + seconds(med["cp"]),
                f"{med['age decrypt'] / med['cp']:.2f}x cp")]
    for verb in ("encrypt", "decrypt"):
        ours, theirs = med[f"vault {verb}"], med[f"age {verb}"]
        # The targets are for binary files; armored figures are for information.
        rows.append(Row(f"vault {verb} vs age", seconds(ours), f"age {seconds(theirs)}",
                        f"{theirs / ours:.2f}x faster",
                        "" if armor else f">= {AGE_FASTER:.1f}x faster",
                        None if armor else theirs / ours >= AGE_FASTER))
        rows.append(Row(f"vault {verb} vs cp", seconds(ours), f"cp {seconds(med['cp'])}",
                        f"{ours / med['cp']:.2f}x cp", "" if armor else f"<= {CP_SLOWER:.1f}x cp",
                        None if armor else ours / med["cp"] <= CP_SLOWER))
    # CPU time (user + system) does not depend on how busy the machine is: on a loaded
    # machine wall time follows it; on a quiet one, vault spreads it over both cores.
    for name in commands:
        anchor = "" if name == "cp" else f"cp {seconds(med_cpu['cp'])}"
        ratio = "" if name == "cp" else f"{med_cpu[name] / med_cpu['cp']:.2f}x cp"
        rows.append(Row(f"CPU time: {name}", seconds(med_cpu[name]), anchor, ratio))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512, help="file size (default 512)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    parser.add_argument("--armor", action="store_true",
                        help="ASCII-armored files (for information; targets are binary)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="uncounted warm-up rounds first (default 1)")
    args = parser.parse_args(argv)
    rows = run(args.size_mib, args.runs, args.dir, args.warmup, args.armor)
    kind = "armored " if args.armor else ""
    print_table(f"Throughput, {args.size_mib} MiB {kind}file, median of {args.runs} runs "
                f"({machine()})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
