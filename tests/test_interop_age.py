"""Interoperation with the stock `age` 1.1.1 command line (and rage, through pyrage).

Files from `vault encrypt` open with `age -d`, files from `age` open with
`vault decrypt`: X25519, several recipients, armor, recipients files, identity
files from either key generator, pipes, and passphrases typed on a pseudo-terminal.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
from support import run_vault, run_with_tty

from vault_app.core import age
from vault_app.core.armor import BEGIN
from vault_app.core.header import read_header
from vault_app.core.keys import generate_identity, parse_identity
from vault_app.core.recipients.scrypt import ScryptRecipient
from vault_app.core.stream import CHUNK

pytestmark = pytest.mark.interop

MIB = 1 << 20
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * MIB + 123]
VAULT = [sys.executable, "-m", "vault_app.cli"]


def plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def run(*argv: str | Path, input: bytes | None = None) -> bytes:
    """Run a command that must succeed; return its stdout."""
    proc = subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, (argv, proc.stderr.decode(errors="replace"))
    return proc.stdout


def vault_ok(*args: str | Path, input: bytes | None = None) -> bytes:
    proc = run_vault(*(str(a) for a in args), input=input)
    assert proc.returncode == 0, (args, proc.stderr.decode(errors="replace"))
    assert proc.stderr == b""
    return proc.stdout


@dataclass(frozen=True)
class Keys:
    age_identity: Path  # written by age-keygen
    age_recipient: str
    vault_identity: Path  # written by vault keygen
    vault_recipient: str


def public_key_from(stderr: bytes) -> str:
    line = stderr.decode().strip()
    assert line.startswith("Public key: age1"), line
    return line.removeprefix("Public key: ")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    if shutil.which("age") is None or shutil.which("age-keygen") is None:
        pytest.fail("the `age` command line is required (installed by .ci/run)")
    folder = tmp_path_factory.mktemp("keys")
    age_key = folder / "age-key.txt"
    proc = subprocess.run(["age-keygen", "-o", str(age_key)], capture_output=True, check=True)
    age_recipient = public_key_from(proc.stderr)
    vault_key = folder / "vault-key.txt"
    proc = run_vault("keygen", "-o", str(vault_key))
    assert proc.returncode == 0 and proc.stdout == b""
    vault_recipient = public_key_from(proc.stderr)
    assert vault_key.stat().st_mode & 0o077 == 0  # the secret key is private
    return Keys(age_key, age_recipient, vault_key, vault_recipient)


def test_key_generators_agree(keys: Keys) -> None:
    """Each tool derives the same public key from the other's identity file."""
    assert run("age-keygen", "-y", keys.vault_identity).decode().strip() == keys.vault_recipient
    text = keys.age_identity.read_text()
    secret = next(line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    assert str(parse_identity(secret).recipient()) == keys.age_recipient


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
@pytest.mark.parametrize("size", SIZES)
def test_vault_encrypts_age_decrypts(keys: Keys, age_cli: str, tmp_path: Path, size: int,
                                     armor: bool) -> None:
    plain = plaintext(size)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    enc = tmp_path / "data.bin.age"
    vault_ok("encrypt", "-r", keys.age_recipient, "-r", keys.vault_recipient,
             *(["-a"] if armor else []), "-o", enc, src)
    assert enc.read_bytes().startswith(BEGIN if armor else b"age-encryption.org/v1\n")
    out = tmp_path / "out.bin"
    run(age_cli, "-d", "-i", keys.age_identity, "-o", out, enc)
    # age opens its -o file lazily, on the first byte: an empty plaintext makes none.
    assert (out.read_bytes() if size or out.exists() else b"") == plain
    # The identity file written by `vault keygen` works with age as well.
    assert run(age_cli, "-d", "-i", keys.vault_identity, enc) == plain


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
@pytest.mark.parametrize("size", SIZES)
def test_age_encrypts_vault_decrypts(keys: Keys, age_cli: str, tmp_path: Path, size: int,
                                     armor: bool) -> None:
    plain = plaintext(size)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    enc = tmp_path / "data.bin.age"
    run(age_cli, "-r", keys.age_recipient, "-r", keys.vault_recipient,
        *(["-a"] if armor else []), "-o", enc, src)
    out = tmp_path / "out.bin"
    vault_ok("decrypt", "-i", keys.vault_identity, "-o", out, enc)
    assert out.read_bytes() == plain
    assert out.stat().st_mode & 0o077 == 0  # decrypted data is private too
    # The identity file written by `age-keygen` works with vault, output to stdout.
    assert vault_ok("decrypt", "-i", keys.age_identity, enc) == plain


def test_recipients_files_both_ways(keys: Keys, age_cli: str, tmp_path: Path) -> None:
    plain = plaintext(CHUNK + 7)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    recipients = tmp_path / "team.txt"
    recipients.write_text(f"# the team\n\n{keys.age_recipient}\n# vault user\n"
                          f"{keys.vault_recipient}\n")
    by_vault = tmp_path / "by-vault.age"
    vault_ok("encrypt", "-R", recipients, "-o", by_vault, src)
    by_age = tmp_path / "by-age.age"
    run(age_cli, "-R", recipients, "-o", by_age, src)
    for enc in (by_vault, by_age):
        assert run(age_cli, "-d", "-i", keys.age_identity, enc) == plain
        assert run(age_cli, "-d", "-i", keys.vault_identity, enc) == plain
        assert vault_ok("decrypt", "-i", keys.age_identity, enc) == plain
        assert vault_ok("decrypt", "-i", keys.vault_identity, enc) == plain


def test_several_identities_in_one_file(keys: Keys, age_cli: str, tmp_path: Path) -> None:
    """An identity file holding both keys (as age allows) works with both tools."""
    both = tmp_path / "both.txt"
    both.write_text(keys.age_identity.read_text() + keys.vault_identity.read_text())
    plain = plaintext(100)
    enc = tmp_path / "x.age"
    run(age_cli, "-r", keys.vault_recipient, "-o", enc, input=plain)
    assert vault_ok("decrypt", "-i", both, enc) == plain
    enc2 = tmp_path / "y.age"
    vault_ok("encrypt", "-r", keys.age_recipient, "-o", enc2, input=plain)
    assert run(age_cli, "-d", "-i", both, enc2) == plain


def pipe(first: list[str], second: list[str], data: bytes) -> bytes:
    """Run ``first | second`` with ``data`` on stdin; both must succeed."""
    one = subprocess.Popen(first, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    two = subprocess.Popen(second, stdin=one.stdout, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    assert one.stdout is not None and one.stdin is not None
    one.stdout.close()  # only `second` reads it now
    feeder = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=one.stdin)
    one.stdin.close()
    feeder.communicate(data, timeout=300)
    out, err2 = two.communicate(timeout=300)
    err1 = one.stderr.read() if one.stderr else b""
    assert one.wait(timeout=300) == 0, err1
    assert two.returncode == 0, err2
    for stream in (one.stderr,):
        if stream:
            stream.close()
    return out


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_streaming_through_pipes(keys: Keys, age_cli: str, armor: bool) -> None:
    plain = plaintext(3 * MIB + 5)
    flag = ["-a"] if armor else []
    vault_encrypt = [*VAULT, "encrypt", "-r", keys.age_recipient, *flag]
    age_decrypt = [age_cli, "-d", "-i", str(keys.age_identity)]
    assert pipe(vault_encrypt, age_decrypt, plain) == plain
    age_encrypt = [age_cli, "-r", keys.vault_recipient, *flag]
    vault_decrypt = [*VAULT, "decrypt", "-i", str(keys.vault_identity)]
    assert pipe(age_encrypt, vault_decrypt, plain) == plain
    # The explicit `-` spelling for standard input and output.
    vault_encrypt_dash = [*VAULT, "encrypt", "-r", keys.vault_recipient, *flag, "-o", "-", "-"]
    vault_decrypt_dash = [*VAULT, "decrypt", "-i", str(keys.vault_identity), "-o", "-", "-"]
    assert pipe(vault_encrypt_dash, vault_decrypt_dash, plain) == plain


def test_stdin_to_output_file(keys: Keys, age_cli: str, tmp_path: Path) -> None:
    plain = plaintext(2 * CHUNK + 3)
    enc = tmp_path / "in.age"
    vault_ok("encrypt", "-r", keys.age_recipient, "-o", enc, input=plain)
    assert run(age_cli, "-d", "-i", keys.age_identity, enc) == plain
    out = tmp_path / "out.bin"
    vault_ok("decrypt", "-i", keys.age_identity, "-o", out,
             input=run(age_cli, "-r", keys.age_recipient, input=plain))
    assert out.read_bytes() == plain


PASSPHRASE = b"correct horse battery staple"


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_passphrase_age_to_vault(age_cli: str, tmp_path: Path, armor: bool) -> None:
    plain = plaintext(CHUNK + 1)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    enc = tmp_path / "data.bin.age"
    status, screen, err = run_with_tty(
        [age_cli, "-p", *(["-a"] if armor else []), "-o", str(enc), str(src)],
        [PASSPHRASE, PASSPHRASE])
    assert status == 0, (screen, err)
    with enc.open("rb") as handle:
        header = read_header(age.open_source(handle))
    assert [s.type for s in header.stanzas] == ["scrypt"]
    out = tmp_path / "out.bin"
    status, screen, err = run_with_tty([*VAULT, "decrypt", "-o", str(out), str(enc)],
                                       [PASSPHRASE])
    assert status == 0, (screen, err)
    assert b"Enter passphrase" in screen
    assert out.read_bytes() == plain
    # A wrong passphrase: a clear error, and no output file.
    out2 = tmp_path / "out2.bin"
    status, screen, err = run_with_tty([*VAULT, "decrypt", "-o", str(out2), str(enc)],
                                       [b"wrong"])
    assert status == 1
    assert err.startswith(b"error: incorrect passphrase\nhint: ")
    assert not out2.exists()
    assert not list(tmp_path.glob(".*.vault-tmp"))


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_passphrase_vault_to_age(age_cli: str, tmp_path: Path, armor: bool) -> None:
    plain = plaintext(3 * CHUNK)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    enc = tmp_path / "data.bin.age"
    status, screen, err = run_with_tty(
        [*VAULT, "encrypt", "-p", *(["-a"] if armor else []), "-o", str(enc), str(src)],
        [PASSPHRASE, PASSPHRASE])
    assert status == 0, (screen, err)
    assert b"Confirm passphrase" in screen and PASSPHRASE not in screen  # not echoed
    out = tmp_path / "out.bin"
    status, screen, err = run_with_tty([age_cli, "-d", "-o", str(out), str(enc)],
                                       [PASSPHRASE])
    assert status == 0, (screen, err)
    assert out.read_bytes() == plain


def test_passphrase_through_pipes(age_cli: str, tmp_path: Path) -> None:
    """Data on stdin/stdout while the passphrase comes from the terminal."""
    plain = plaintext(CHUNK + 2)
    src = tmp_path / "data.bin"
    src.write_bytes(plain)
    enc = tmp_path / "data.age"
    with src.open("rb") as fin, enc.open("wb") as fout:
        status, screen, err = run_with_tty([age_cli, "-p"], [PASSPHRASE, PASSPHRASE],
                                           stdin=fin.fileno(), stdout=fout.fileno())
    assert status == 0, (screen, err)
    out = tmp_path / "out.bin"
    with enc.open("rb") as fin, out.open("wb") as fout:
        status, screen, err = run_with_tty([*VAULT, "decrypt"], [PASSPHRASE],
                                           stdin=fin.fileno(), stdout=fout.fileno())
    assert status == 0, (screen, err)
    assert out.read_bytes() == plain


def test_passphrase_protected_identity_file(keys: Keys, age_cli: str, tmp_path: Path) -> None:
    """age can encrypt an identity file with a passphrase; vault reads it (asking on the tty)."""
    protected = tmp_path / "key.age"
    status, screen, err = run_with_tty(
        [age_cli, "-p", "-a", "-o", str(protected), str(keys.age_identity)],
        [PASSPHRASE, PASSPHRASE])
    assert status == 0, (screen, err)
    plain = plaintext(1000)
    enc = tmp_path / "x.age"
    run(age_cli, "-r", keys.age_recipient, "-o", enc, input=plain)
    out = tmp_path / "out.bin"
    status, screen, err = run_with_tty(
        [*VAULT, "decrypt", "-i", str(protected), "-o", str(out), str(enc)], [PASSPHRASE])
    assert status == 0, (screen, err)
    assert b"identity file" in screen
    assert out.read_bytes() == plain


def test_post_quantum_round_trip_and_age_fallback(keys: Keys, age_cli: str,
                                                  tmp_path: Path) -> None:
    """age 1.1.1 and rage (pyrage) have no post-quantum keys: only vault round-trips them.

    A file for a post-quantum and an X25519 recipient still opens with stock age and
    the X25519 key, since age skips stanza types it does not know.
    """
    pq_key = tmp_path / "pq.txt"
    proc = run_vault("keygen", "--pq", "-o", str(pq_key))
    assert proc.returncode == 0
    pq_recipient = proc.stderr.decode().strip().removeprefix("Public key: ")
    assert pq_recipient.startswith("age1pq1")
    plain = plaintext(CHUNK + 9)
    enc = tmp_path / "pq.age"
    vault_ok("encrypt", "-r", pq_recipient, "-r", keys.age_recipient, "-o", enc, input=plain)
    assert b"-> mlkem768x25519 " in enc.read_bytes()[:4000]
    assert vault_ok("decrypt", "-i", pq_key, enc) == plain
    assert run(age_cli, "-d", "-i", keys.age_identity, enc) == plain
    only_pq = tmp_path / "only-pq.age"
    vault_ok("encrypt", "-r", pq_recipient, "-a", "-o", only_pq, input=plain)
    assert vault_ok("decrypt", "-i", pq_key, only_pq) == plain
    proc = subprocess.run([age_cli, "-d", "-i", str(keys.age_identity), str(only_pq)],
                          capture_output=True, check=False)
    assert proc.returncode != 0 and proc.stdout == b""


@pytest.mark.parametrize("size", [0, CHUNK, 2 * CHUNK + 1])
def test_rage_interop(size: int) -> None:
    """A second, independent implementation (rage, through pyrage), in process."""
    ours = generate_identity()
    theirs = pyrage.x25519.Identity.generate()
    plain = plaintext(size)
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(plain), sealed, [ours.recipient(),
                                            parse_identity(str(theirs)).recipient()])
    assert pyrage.decrypt(sealed.getvalue(), [theirs]) == plain
    from_rage = pyrage.encrypt(plain, [pyrage.x25519.Recipient.from_str(
        str(ours.recipient()))])
    out = io.BytesIO()
    age.decrypt(io.BytesIO(from_rage), out, [ours])
    assert out.getvalue() == plain


def test_rage_passphrase_interop() -> None:
    """Our passphrase files open with rage (the other way is covered by age above:
    rage calibrates its work factor to seconds of CPU, too slow for CI)."""
    plain = plaintext(CHUNK + 3)
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(plain), sealed, [ScryptRecipient(b"pw", work_factor=12)])
    assert pyrage.passphrase.decrypt(sealed.getvalue(), "pw") == plain
