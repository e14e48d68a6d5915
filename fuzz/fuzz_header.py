"""Coverage-guided fuzzing of the age header parser and the decrypt path, with atheris.

Run by hand (not in CI):  pip install -e ".[fuzz]" && python fuzz/fuzz_header.py [-runs=N] [DIR]
The seed corpus (valid headers of every recipient type) is written to fuzz/corpus/ on the
first run. A finding is any exception that is not a VaultError subclass, or a hang
(libFuzzer's -timeout, default here 5 s).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from vault_app.core import age
    from vault_app.core.errors import VaultError
    from vault_app.core.header import read_header
    from vault_app.core.recipients.scrypt import ScryptIdentity, ScryptRecipient
    from vault_app.core.recipients.x25519 import X25519Identity

IDENTITY = X25519Identity.parse(
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
)
PASSPHRASE = b"fuzz"
IDENTITIES = [IDENTITY, ScryptIdentity(PASSPHRASE, max_work_factor=10)]
CORPUS = Path(__file__).with_name("corpus")


def _seed() -> None:
    """Write a few valid files as the starting corpus, so the fuzzer starts deep."""
    CORPUS.mkdir(exist_ok=True)
    samples = {
        "x25519": [IDENTITY.recipient()],
        "scrypt": [ScryptRecipient(PASSPHRASE, work_factor=2)],
    }
    for name, recipients in samples.items():
        for armored in (False, True):
            out = io.BytesIO()
            age.encrypt(io.BytesIO(b"a,b\n1,2\n" * 50), out, recipients, armor=armored)
            (CORPUS / f"{name}{'-armor' if armored else ''}.age").write_bytes(out.getvalue())


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(VaultError):
        read_header(io.BytesIO(data))
    with contextlib.suppress(VaultError):
        age.decrypt(io.BytesIO(data), io.BytesIO(), IDENTITIES)


def main() -> None:
    _seed()
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(str(CORPUS))
    if not any(a.startswith("-timeout=") for a in argv):
        argv.append("-timeout=5")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
