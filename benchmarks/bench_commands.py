"""What users run: whole ``vault`` commands with the OS keyring, against ``age`` and ``cp``.

Every figure is a whole command (process start, imports, the keyring, the work), run
the way a user types it, with its keys in a real Secret Service: the script starts a
private D-Bus session with its own gnome-keyring (nothing of the user's keyring is
touched) and creates a vault there with ``vault init``. Where either program is missing
(a bare benchmark machine), keys go to a passphrase-protected key file instead, and the
title says so.

Three tables per core count (``--cores 1,2`` runs everything under ``taskset`` on the
first 1, then 2, of the CPUs this process may use):

* **fixed cost**: commands on a 1 kB file (what every command pays before any data:
  start-up, imports, keyring, signatures, fsync), next to ``python -c pass`` and ``age``;
* **throughput**: ``cp``, ``age`` and ``vault`` on ``--size-mib`` (512) of random data,
  interleaved in each round so noise hits every tool alike, medians of ``--runs``; the
  ratios against ``cp`` and ``age`` of the same run are what the targets name. Then the
  same without the fixed cost, as CPU time and wall time per GiB of data;
* **random access**: ``vault_app.open()`` of a ``--open-size-mib`` (1024) locked file and
  a 1 MiB read at 70% of it (keys from the keyring, the signature and the content
  checked), as the second call of an analyst's process; the first call, which also
  imports the vault code, is shown apart.

With more than one core count, a last table gives each command's speed-up.

    python benchmarks/bench_commands.py [--size-mib 512] [--runs 5] [--cores 2] [--dir /dev/shm]

Start-up is measured as users get it: with bytecode caches written (the script unsets
PYTHONDONTWRITEBYTECODE for the commands and warms the caches first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
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
    vault_command,
    write_random,
)

IN_SESSION = "VAULT_BENCH_PRIVATE_SESSION"
SMALL = 1000  # bytes: the "1 kB file" of the fixed-cost target
PASSWORD = b"bench"

# PRODUCT.md "Targets": (2 cores, 16 cores)
FIXED = 0.12  # s, `vault lock --keep` of a 1 kB file
LOCK_CP = (2.5, 1.3)
UNLOCK_CP = (2.0, 1.3)
CRYPT_CP = (1.4, 1.2)
AGE_FASTER = 1.5
OPEN_READ = 0.05  # s, vault_app.open() + 1 MiB read anywhere, verified
RSS_LIMIT = 64.0  # MiB


# -- the private keyring ----------------------------------------------------------------------


def _reexec_in_private_session(argv: Sequence[str]) -> None:
    """Run this script again inside ``dbus-run-session`` (a bus of its own)."""
    if os.environ.get(IN_SESSION) or not (shutil.which("dbus-run-session")
                                          and shutil.which("gnome-keyring-daemon")):
        return
    env = dict(os.environ, **{IN_SESSION: "1"})
    done = subprocess.run(["dbus-run-session", "--", sys.executable, __file__, *argv],
                          env=env, check=False)
    sys.exit(done.returncode)


def _start_keyring(base: Path) -> dict[str, str] | None:
    """A gnome-keyring of its own on this session's bus, unlocked; its environment."""
    if not (os.environ.get(IN_SESSION) and os.environ.get("DBUS_SESSION_BUS_ADDRESS")):
        return None
    env = {"XDG_DATA_HOME": str(base / "data"), "XDG_RUNTIME_DIR": str(base / "run")}
    for folder in env.values():
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    started = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"],
                             input=PASSWORD, capture_output=True, env={**os.environ, **env},
                             check=True)
    for line in started.stdout.decode().splitlines():
        name, _, value = line.partition("=")
        if name == "GNOME_KEYRING_CONTROL":
            env[name] = value
    return env


# -- running commands -------------------------------------------------------------------------


class Runner:
    """Runs commands pinned to a set of CPUs, with the benchmark's environment."""

    def __init__(self, env: dict[str, str], cpus: list[int], cwd: Path) -> None:
        self.env = env
        self.cpus = cpus
        self.cwd = cwd  # inside the vault, as a user runs them

    def prefix(self) -> list[str]:
        return ["taskset", "-c", ",".join(map(str, self.cpus))]

    def run(self, cmd: Sequence[str], **kwargs: object) -> tuple[float, float, float]:
        """Wall time, CPU time (user + system) and peak RSS (MiB) of one command."""
        start = time.perf_counter()
        proc = subprocess.Popen([*self.prefix(), *cmd], env=self.env, cwd=self.cwd,
                                stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code:
            raise subprocess.CalledProcessError(code, list(cmd))
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024

    def output(self, cmd: Sequence[str]) -> str:
        return subprocess.run([*self.prefix(), *cmd], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, check=True).stdout


class Work:
    """The scratch folder: a vault, its files, age's keys."""

    def __init__(self, root: Path, size: int) -> None:
        self.root = root
        self.vault = root / "vault"
        self.out = root / "out"
        self.small = self.vault / "small.bin"
        self.big = self.vault / "big.bin"
        self.size = size
        self.key = root / "age-key.txt"


def _environment(work: Work, keyring: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(VAULT_USER="alice", XDG_CONFIG_HOME=str(work.root / "config"),
               VAULT_KEYRING_SERVICE="dataset-vault-bench")
    if keyring is not None:
        env.update(keyring)
    else:  # no Secret Service here: a passphrase-protected key file
        passphrase = work.root / "passphrase.txt"
        passphrase.write_bytes(PASSWORD + b"\n")
        env.update(VAULT_KEY_FILE="1", VAULT_PASSPHRASE_FILE=str(passphrase))
    return env


def _make_vault(work: Work, env: dict[str, str], keyring: bool) -> None:
    vault = vault_command()
    if keyring:
        subprocess.run([*vault, "init", str(work.vault), "--recovery-out",
                        str(work.root / "recovery.txt")], env=env, check=True,
                       capture_output=True)
        return
    code = ("import sys; from pathlib import Path;"
            "from vault_app.core.keystore import Keystore; from vault_app.core.vault import Vault;"
            "ks = Keystore(passphrase=lambda p, c: b'bench', use_key_file=True, work_factor=10);"
            "Vault.init(Path(sys.argv[1]), user='alice', keystore=ks)")
    subprocess.run([sys.executable, "-c", code, str(work.vault)], env=env, check=True)


# -- the figures ------------------------------------------------------------------------------


def _commands(work: Work, recipient: str, plain: Path) -> dict[str, list[str]]:
    vault, age = vault_command(), shutil.which("age") or "age"
    name = plain.name
    return {
        "cp": ["cp", str(plain), str(work.root / f"{name}.copy")],
        "age encrypt": [age, "-r", recipient, "-o", str(work.root / f"{name}.age-enc"),
                        str(plain)],
        "age decrypt": [age, "-d", "-i", str(work.key), "-o", str(work.root / f"{name}.age-dec"),
                        str(work.root / f"{name}.age-enc")],
        "vault encrypt": [*vault, "encrypt", "-r", recipient, "-o",
                          str(work.root / f"{name}.vault-enc"), str(plain)],
        "vault decrypt": [*vault, "decrypt", "-i", str(work.key), "-o",
                          str(work.root / f"{name}.vault-dec"),
                          str(work.root / f"{name}.vault-enc")],
        "vault lock --keep": [*vault, "lock", "--keep", str(plain)],
        "vault unlock": [*vault, "unlock", "--force", "-o", str(work.out),
                         str(plain) + ".age"],
    }


def _outputs(work: Work, plain: Path) -> dict[str, Path]:
    """What each command of ``_commands`` writes (the same keys)."""
    name = plain.name
    return {"cp": work.root / f"{name}.copy", "age encrypt": work.root / f"{name}.age-enc",
            "age decrypt": work.root / f"{name}.age-dec",
            "vault encrypt": work.root / f"{name}.vault-enc",
            "vault decrypt": work.root / f"{name}.vault-dec",
            "vault lock --keep": Path(str(plain) + ".age"), "vault unlock": work.out / name}


#: after a command, the outputs (by the command that wrote them) nothing later reads
SPENT = {"cp": ("cp",), "age decrypt": ("age encrypt", "age decrypt"),
         "vault decrypt": ("vault encrypt", "vault decrypt"),
         "vault unlock": ("vault lock --keep", "vault unlock")}


def _rounds(runner: Runner, commands: dict[str, list[str]], outputs: dict[str, Path],
            runs: int, warmup: int) -> dict[str, list[tuple[float, float, float]]]:
    """Each command once per round, in order (decrypt after encrypt, unlock after lock).

    Each command's own output is removed just before it runs, and every output as soon
    as no later command reads it, so every command, like ``cp``, writes into a file
    system that has just freed the size it needs, and the scratch files never hold more
    than three copies of the data (rather than all seven, removed at the start of a
    round, to the first command's benefit)."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for n in range(warmup + runs):
        line = []
        for name, cmd in commands.items():
            outputs[name].unlink(missing_ok=True)
            measured = runner.run(cmd)
            for spent in SPENT.get(name, ()):
                outputs[spent].unlink(missing_ok=True)
            line.append(f"{name} {measured[0]:.3f}")
            if n >= warmup:
                results[name].append(measured)
        label = f"run {n + 1 - warmup}/{runs}" if n >= warmup else "warm-up"
        print(f"  {label}: " + ", ".join(line), file=sys.stderr)
    return results


def _open_probe(runner: Runner, work: Work, open_size: int) -> dict[str, object]:
    plain = work.vault / "open.bin"
    if not plain.exists():
        write_random(plain, open_size)
        subprocess.run([*vault_command(), "lock", "--keep", str(plain)], env=runner.env,
                       cwd=runner.cwd, check=True, stdout=subprocess.DEVNULL)
    found = runner.output([sys.executable, str(HERE / "_open_probe.py"), str(plain) + ".age",
                           str(plain), "0.7"])
    result: dict[str, object] = json.loads(found)
    return result


def _med(values: list[tuple[float, float, float]], field: int) -> float:
    return median([v[field] for v in values])


def fixed_rows(small: dict[str, list[tuple[float, float, float]]],
               floor: list[tuple[float, float, float]]) -> list[Row]:
    age = _med(small["age encrypt"], 0)
    lock = _med(small["vault lock --keep"], 0)
    rows = [Row("python -c pass", seconds(_med(floor, 0))),
            Row("age encrypt (1 kB)", seconds(age))]
    rows.append(Row("vault lock --keep (1 kB)", seconds(lock), f"age {seconds(age)}",
                    f"{lock / age:.0f}x age", f"<= {FIXED:.2f} s", lock <= FIXED))
    for name in ("vault unlock", "vault encrypt", "vault decrypt"):
        rows.append(Row(f"{name} (1 kB)", seconds(_med(small[name], 0))))
    return rows


def throughput_rows(big: dict[str, list[tuple[float, float, float]]],
                    small: dict[str, list[tuple[float, float, float]]], size: int,
                    many_cores: bool) -> list[Row]:
    wall = {name: _med(values, 0) for name, values in big.items()}
    cp = wall["cp"]
    pick = 1 if many_cores else 0
    rows = [Row("cp", seconds(cp))]
    for name in ("age encrypt", "age decrypt"):
        rows.append(Row(name, seconds(wall[name]), f"cp {seconds(cp)}",
                        f"{wall[name] / cp:.2f}x cp"))
    limits = {"vault lock --keep": LOCK_CP[pick], "vault unlock": UNLOCK_CP[pick],
              "vault encrypt": CRYPT_CP[pick], "vault decrypt": CRYPT_CP[pick]}
    for name, limit in limits.items():
        ratio = wall[name] / cp
        rows.append(Row(f"{name} vs cp", seconds(wall[name]), f"cp {seconds(cp)}",
                        f"{ratio:.2f}x cp", f"<= {limit:.1f}x cp", ratio <= limit))
    if not many_cores:
        for verb in ("encrypt", "decrypt"):
            ours, theirs = wall[f"vault {verb}"], wall[f"age {verb}"]
            rows.append(Row(f"vault {verb} vs age", seconds(ours), f"age {seconds(theirs)}",
                            f"{theirs / ours:.2f}x faster", f">= {AGE_FASTER:.1f}x faster",
                            theirs / ours >= AGE_FASTER))
    gib = size / (1 << 30)
    for name, values in big.items():  # the data's own cost: minus the same command on 1 kB
        fixed_wall, fixed_cpu = _med(small[name], 0), _med(small[name], 1)
        per_wall = (wall[name] - fixed_wall) / gib
        per_cpu = (_med(values, 1) - fixed_cpu) / gib
        rows.append(Row(f"per GiB without fixed cost: {name}", f"{per_wall:.3f} s",
                        f"CPU {per_cpu:.3f} s", f"{per_cpu / per_wall:.2f} cores busy"))
    for name in ("vault lock --keep", "vault unlock", "vault encrypt", "vault decrypt"):
        rss = max(v[2] for v in big[name])
        rows.append(Row(f"peak RSS: {name}", mib(rss), target=f"< {RSS_LIMIT:.0f} MiB",
                        ok=rss < RSS_LIMIT))
    return rows


def open_rows(probe: dict[str, object], open_size_mib: int) -> list[Row]:
    first, again = float(probe["first"]), float(probe["again"])  # type: ignore[arg-type]
    same = bool(probe["same"])
    return [Row(f"vault_app.open() of {open_size_mib} MiB + 1 MiB read at 70%", seconds(again),
                target=f"<= {OPEN_READ:.2f} s", ok=again <= OPEN_READ),
            Row("  the same, first call in a fresh process (imports the vault code)",
                seconds(first)),
            Row("the bytes read are the plaintext", "yes" if same else "NO", ok=same)]


def measure(runner: Runner, work: Work, recipient: str, runs: int, warmup: int,
            open_size_mib: int) -> tuple[list[Row], list[Row], list[Row], dict[str, float]]:
    cores = len(runner.cpus)
    print(f"{cores} core(s): fixed cost", file=sys.stderr)
    small_cmds = _commands(work, recipient, work.small)
    small = _rounds(runner, small_cmds, _outputs(work, work.small), runs, warmup)
    floor = [runner.run([sys.executable, "-c", "pass"]) for _ in range(runs)]
    print(f"{cores} core(s): throughput, {work.size >> 20} MiB", file=sys.stderr)
    big = _rounds(runner, _commands(work, recipient, work.big), _outputs(work, work.big), runs,
                  warmup)
    probe = _open_probe(runner, work, open_size_mib << 20)
    speeds = {name: _med(values, 0) for name, values in big.items()}
    return (fixed_rows(small, floor), throughput_rows(big, small, work.size, cores >= 16),
            open_rows(probe, open_size_mib), speeds)


def scaling_rows(by_cores: dict[int, dict[str, float]]) -> list[Row]:
    counts = sorted(by_cores)
    base = counts[0]
    rows = []
    for name in by_cores[base]:
        times = ", ".join(f"{c}: {by_cores[c][name]:.3f} s" for c in counts)
        gain = by_cores[base][name] / by_cores[counts[-1]][name]
        rows.append(Row(name, times, f"{base} core(s)",
                        f"{gain:.2f}x faster on {counts[-1]}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512, help="file size (default 512)")
    parser.add_argument("--open-size-mib", type=int, default=1024,
                        help="locked file for vault_app.open (default 1024)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds (default 1)")
    parser.add_argument("--cores", default="",
                        help="comma-separated core counts, e.g. 1,2 (default: all allowed)")
    parser.add_argument("--dir", default=None, help="scratch folder (default /dev/shm)")
    parser.add_argument("--vault", default=None, metavar="EXE",
                        help="the vault to time (default: the one beside this Python), e.g. "
                        "/opt/dataset-vault/vault from the .deb")
    args = parser.parse_args(argv)
    if args.vault:
        os.environ["VAULT_BENCH_EXE"] = str(Path(args.vault).resolve())
    for tool in ("age", "age-keygen", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_commands: the `{tool}` command is required")
    allowed = sorted(os.sched_getaffinity(0))
    counts = [int(c) for c in args.cores.split(",") if c] or [len(allowed)]
    if max(counts) > len(allowed):
        sys.exit(f"bench_commands: only {len(allowed)} CPUs are allowed here")
    _reexec_in_private_session(argv)
    work = Work(scratch_dir(args.dir), args.size_mib << 20)
    try:
        keyring = _start_keyring(work.root)
        env = _environment(work, keyring)
        _make_vault(work, env, keyring is not None)
        work.out.mkdir()
        work.small.write_bytes(os.urandom(SMALL))
        write_random(work.big, work.size)
        subprocess.run(["age-keygen", "-o", str(work.key)], check=True, capture_output=True)
        recipient = subprocess.run(["age-keygen", "-y", str(work.key)], check=True,
                                   capture_output=True, text=True).stdout.strip()
        keys = "OS keyring (gnome-keyring, private D-Bus session)" if keyring else \
            "key file (no Secret Service on this machine)"
        load = os.getloadavg()
        by_cores: dict[int, dict[str, float]] = {}
        for count in counts:
            runner = Runner(env, allowed[:count], work.vault)
            fixed, through, opened, speeds = measure(runner, work, recipient, args.runs,
                                                     args.warmup, args.open_size_mib)
            by_cores[count] = speeds
            where = (f"{count} core(s) of {machine()}; keys: {keys}; "
                     f"vault: {' '.join(vault_command())}")
            print_table(f"Fixed cost, median of {args.runs} ({where})", fixed)
            print_table(f"Throughput, {args.size_mib} MiB, median of {args.runs} ({where})",
                        through)
            print_table(f"Random access ({where})", opened)
        if len(counts) > 1:
            print_table(f"Scaling, {args.size_mib} MiB, medians", scaling_rows(by_cores),
                        value="time per core count")
        end = os.getloadavg()
        print(f"\nload average at start {load[0]:.2f}, at end {end[0]:.2f}")
    finally:
        shutil.rmtree(work.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
