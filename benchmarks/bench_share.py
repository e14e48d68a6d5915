"""Sharing a locked file (adding a reader) against a full lock, plus lock/unlock vs age.

Sharing rewrites only the header (the file key is wrapped for one more reader) and
copies the payload in the kernel; the script proves the payload bytes are unchanged.
Vault operations run through the Python API (``Vault.lock``/``unlock``/``share``, keys
in a key file) in one child process, whose peak RSS is reported too; ``age`` and ``cp``
run as commands on the same file (after the child, interleaved with each other).
``bench_commands.py`` times the same operations as users run them.

    python benchmarks/bench_share.py [--size-mib 1024] [--runs 5] [--dir /dev/shm]
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

from _table import (  # noqa: E402
    Row,
    machine,
    median,
    mib,
    print_table,
    scratch_dir,
    seconds,
    timed,
    write_random,
)

OPEN_READ = 0.05  # s: vault_app.open() and a 1 MiB read anywhere (PRODUCT.md)
CP_SLOWER = {"lock": 2.5, "unlock": 2.0}  # PRODUCT.md, 2 cores: times cp of the same file


def run(size_mib: int, runs: int, base: str | None) -> list[Row]:
    age, keygen = shutil.which("age"), shutil.which("age-keygen")
    if age is None or keygen is None:
        sys.exit("bench_share: the `age` and `age-keygen` commands are required")
    work = scratch_dir(base)
    try:
        plain = work / "data.bin"
        write_random(plain, size_mib << 20)
        child = subprocess.Popen([sys.executable, str(HERE / "_vault_ops.py"), str(work),
                                  str(plain), str(runs)], stdout=subprocess.PIPE)
        output = child.stdout.read() if child.stdout else b""
        _pid, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status):
            sys.exit("bench_share: the vault operations failed (see above)")
        result = json.loads(output)
        rss = usage.ru_maxrss / 1024
        key = work / "key.txt"
        subprocess.run([keygen, "-o", str(key)], check=True, capture_output=True)
        recipient = subprocess.run([keygen, "-y", str(key)], check=True, capture_output=True,
                                   text=True).stdout.strip()
        locked, out, copy = work / "age.age", work / "age.out", work / "copy.bin"
        age_times: dict[str, list[float]] = {"encrypt": [], "decrypt": [], "cp": []}
        for _ in range(runs):
            for path in (locked, out, copy):
                path.unlink(missing_ok=True)
            age_times["cp"].append(timed(["cp", str(plain), str(copy)]))
            age_times["encrypt"].append(timed([age, "-r", recipient, "-o", str(locked),
                                               str(plain)]))
            age_times["decrypt"].append(timed([age, "-d", "-i", str(key), "-o", str(out),
                                               str(locked)]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {name: median(values) for name, values in result["times"].items()}
    age_enc, age_dec = median(age_times["encrypt"]), median(age_times["decrypt"])
    cp = median(age_times["cp"])
    share_ratio = med["share"] / med["lock"]
    open_read = med["open"] + med["random_read"]
    untouched = bool(result["payload_untouched"])
    return [
        Row("cp (command)", seconds(cp)),
        Row("age encrypt (command)", seconds(age_enc)),
        Row("age decrypt (command)", seconds(age_dec)),
        Row("vault lock (API: encrypt, sign, verify)", seconds(med["lock"]),
            f"age {seconds(age_enc)}", f"{age_enc / med['lock']:.2f}x faster"),
        Row("vault unlock (API: decrypt, check digest)", seconds(med["unlock"]),
            f"age {seconds(age_dec)}", f"{age_dec / med['unlock']:.2f}x faster"),
        *(Row(f"vault {verb} vs cp", seconds(med[verb]), f"cp {seconds(cp)}",
              f"{med[verb] / cp:.2f}x cp", f"<= {CP_SLOWER[verb]:.1f}x cp",
              med[verb] / cp <= CP_SLOWER[verb])
          for verb in ("lock", "unlock")),
        Row("vault share (add a reader)", seconds(med["share"]), f"lock {seconds(med['lock'])}",
            f"{share_ratio * 100:.1f}% of lock"),
        Row("vault_app.open() of the locked file", seconds(med["open"]),
            f"unlock {seconds(med['unlock'])}"),
        Row("  then 1 MiB read at a random offset", f"{med['random_read'] * 1000:.1f} ms"),
        Row("  open and read, together", seconds(open_read), target=f"<= {OPEN_READ:.2f} s",
            ok=open_read <= OPEN_READ),
        Row("share left the payload bytes unchanged", "yes" if untouched else "NO",
            target="re-encrypts nothing", ok=untouched),
        Row("peak RSS of the lock/unlock/share process", mib(rss), target="< 64 MiB",
            ok=rss < 64),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    args = parser.parse_args(argv)
    rows = run(args.size_mib, args.runs, args.dir)
    print_table(f"Share vs lock, {args.size_mib} MiB file, median of {args.runs} runs "
                f"({machine()})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
