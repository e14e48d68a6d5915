"""Child process for bench_commands: ``vault_app.open()`` of a locked file, then 1 MiB
read at a given fraction of it, as an analyst's script does it (keys from the OS keyring).

Run as ``python _open_probe.py LOCKED PLAIN FRACTION``; prints one JSON object: the
seconds from the call to ``vault_app.open`` to the end of the read, for the first call
of the process (which also imports the vault code: ``import vault_app`` alone loads
nothing of it) and for a second call (each call opens the vault, fetches the keys from
the keyring and checks the signature again), and whether the bytes read equal the
plaintext at that offset.
"""

from __future__ import annotations

import json
import os
import sys
import time

import vault_app

READ = 1 << 20


def one(locked: str, offset: int) -> tuple[float, bytes]:
    start = time.perf_counter()
    with vault_app.open(locked) as reader:
        reader.seek(offset)
        got = reader.read(READ)
    return time.perf_counter() - start, got


def main(locked: str, plain: str, fraction: float) -> dict[str, object]:
    offset = int(os.path.getsize(plain) * fraction)
    first, got = one(locked, offset)
    again, _ = one(locked, offset)
    with open(plain, "rb") as handle:
        handle.seek(offset)
        want = handle.read(READ)
    return {"first": first, "again": again, "same": got == want}


if __name__ == "__main__":
    json.dump(main(sys.argv[1], sys.argv[2], float(sys.argv[3])), sys.stdout)
