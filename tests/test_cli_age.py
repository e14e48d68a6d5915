"""The age-compatible verbs as a user meets them: exit codes, `error:`/`hint:` lines,
and never a partial output file (nor a leftover temp file) after a failure."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from support import run_vault, run_with_tty

from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.stream import CHUNK, ENC_CHUNK

VAULT = [sys.executable, "-m", "vault_app.cli"]
PLAIN = bytes(range(256)) * (CHUNK * 3 // 256) + b"end"


def keygen(path: Path) -> str:
    proc = run_vault("keygen", "-o", str(path))
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.decode().strip().removeprefix("Public key: ")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """A key, a stranger's key, and a file encrypted to the first one."""
    folder = tmp_path_factory.mktemp("cli")
    key, other = folder / "key.txt", folder / "other.txt"
    recipient = keygen(key)
    keygen(other)
    src = folder / "data.csv"
    src.write_bytes(PLAIN)
    enc = folder / "data.csv.age"
    proc = run_vault("encrypt", "-r", recipient, "-o", str(enc), str(src))
    assert proc.returncode == 0, proc.stderr
    return {"key": key, "other": other, "recipient": recipient, "enc": enc}


def lines(stderr: bytes) -> list[str]:
    return stderr.decode().splitlines()


def assert_error(proc: subprocess.CompletedProcess[bytes], message: str,
                 hint: str | None = None, status: int = 1) -> None:
    """One `error:` line containing ``message``, then `hint:` lines; nothing else."""
    got = lines(proc.stderr)
    assert proc.returncode == status, got
    assert got and got[0].startswith("error: ") and message in got[0], got
    assert all(line.startswith("hint: ") for line in got[1:]), got
    if hint is not None:
        assert any(hint in line for line in got[1:]), got
    assert b"Traceback" not in proc.stderr


def assert_no_output(folder: Path, name: str) -> None:
    assert not (folder / name).exists()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_round_trip_and_exit_zero(setup: dict[str, Path | str], tmp_path: Path) -> None:
    out = tmp_path / "plain.csv"
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(out), str(setup["enc"]))
    assert proc.returncode == 0 and proc.stderr == b"" and proc.stdout == b""
    assert out.read_bytes() == PLAIN
    assert out.stat().st_mode & 0o777 == 0o600


def test_wrong_key(setup: dict[str, Path | str], tmp_path: Path) -> None:
    proc = run_vault("decrypt", "-i", str(setup["other"]), "-o", str(tmp_path / "out"),
                     str(setup["enc"]))
    assert_error(proc, "no identity matched", "not encrypted to any of your keys")
    assert_no_output(tmp_path, "out")


def damaged_copy(setup: dict[str, Path | str], folder: Path, offset: int,
                 cut: int = 0) -> Path:
    data = bytearray(Path(setup["enc"]).read_bytes())
    data[offset] ^= 0x40
    path = folder / "damaged.age"
    path.write_bytes(bytes(data[: len(data) - cut]))
    return path


@pytest.mark.parametrize(("where", "message", "hint"), [
    (100, "", "restore it from a backup"),  # in the header: MAC or stanza
    (-5, "failed authentication", "tampered with or damaged"),  # in the last chunk
    (-ENC_CHUNK - 100, "failed authentication", "tampered with or damaged"),
])
def test_tampered(setup: dict[str, Path | str], tmp_path: Path, where: int, message: str,
                  hint: str) -> None:
    size = Path(setup["enc"]).stat().st_size
    damaged = damaged_copy(setup, tmp_path, where % size)
    out = tmp_path / "out.csv"
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(out), str(damaged))
    if where == 100:  # a header byte: either the stanza no longer opens or the MAC fails
        assert proc.returncode == 1 and lines(proc.stderr)[0].startswith("error: ")
    else:
        assert_error(proc, message, hint)
    assert_no_output(tmp_path, "out.csv")


def test_tampered_header_mac(setup: dict[str, Path | str], tmp_path: Path) -> None:
    data = bytearray(Path(setup["enc"]).read_bytes())
    at = data.index(b"\n--- ") + 15  # inside the MAC; another valid base64 character
    data[at] = ord("A") if data[at] != ord("A") else ord("B")
    damaged = tmp_path / "damaged.age"
    damaged.write_bytes(bytes(data))
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"),
                     str(damaged))
    assert_error(proc, "header MAC", "header was tampered with")
    assert_no_output(tmp_path, "o")


def test_truncated(setup: dict[str, Path | str], tmp_path: Path) -> None:
    data = Path(setup["enc"]).read_bytes()
    cut = tmp_path / "cut.age"
    cut.write_bytes(data[: len(data) - (len(PLAIN) % CHUNK + 16)])  # the final chunk dropped
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"), str(cut))
    assert_error(proc, "truncated", "incomplete")
    assert_no_output(tmp_path, "o")
    cut.write_bytes(data[:30])  # inside the header
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"), str(cut))
    assert_error(proc, "truncated", "not a valid age file")
    assert_no_output(tmp_path, "o")


def test_failed_decrypt_to_stdout_after_header_failure_writes_nothing(
        setup: dict[str, Path | str]) -> None:
    proc = run_vault("decrypt", "-i", str(setup["other"]), str(setup["enc"]))
    assert proc.returncode == 1 and proc.stdout == b""


def test_not_an_age_file(setup: dict[str, Path | str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"a,b,c\n1,2,3\n")
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"), str(junk))
    assert_error(proc, "not an age file", "not a valid age file")
    assert_no_output(tmp_path, "o")


@pytest.mark.parametrize("verb", ["encrypt", "decrypt"])
@pytest.mark.parametrize("to_file", [True, False], ids=["to-file", "to-stdout"])
def test_missing_input(setup: dict[str, Path | str], tmp_path: Path, verb: str,
                       to_file: bool) -> None:
    keyarg = ["-r", str(setup["recipient"])] if verb == "encrypt" else ["-i", str(setup["key"])]
    out = ["-o", str(tmp_path / "o")] if to_file else []
    proc = run_vault(verb, *keyarg, *out, str(tmp_path / "nope.csv"))
    assert_error(proc, "nope.csv")
    assert "no such file" in lines(proc.stderr)[0].lower()
    assert_no_output(tmp_path, "o")


@pytest.mark.parametrize("verb", ["encrypt", "decrypt"])
@pytest.mark.parametrize("to_file", [True, False], ids=["to-file", "to-stdout"])
def test_folder_as_input(setup: dict[str, Path | str], tmp_path: Path, verb: str,
                         to_file: bool) -> None:
    keyarg = ["-r", str(setup["recipient"])] if verb == "encrypt" else ["-i", str(setup["key"])]
    folder = tmp_path / "a-folder"
    folder.mkdir()
    out = ["-o", str(tmp_path / "o")] if to_file else []
    proc = run_vault(verb, *keyarg, *out, str(folder))
    assert_error(proc, "is a folder")
    assert_no_output(tmp_path, "o")


def test_folder_as_output(setup: dict[str, Path | str], tmp_path: Path) -> None:
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path),
                     str(setup["enc"]))
    assert proc.returncode == 1 and lines(proc.stderr)[0].startswith("error: ")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_output_folder_missing(setup: dict[str, Path | str], tmp_path: Path) -> None:
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o",
                     str(tmp_path / "no-such-dir" / "o"), str(setup["enc"]))
    assert_error(proc, "no such file or folder")


def test_existing_output_is_never_clobbered(setup: dict[str, Path | str],
                                            tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_bytes(b"precious")
    for args in (["decrypt", "-i", str(setup["key"])], ["encrypt", "-r", str(setup["recipient"])]):
        proc = run_vault(*args, "-o", str(out), str(setup["enc"]))
        assert_error(proc, "already exists", "choose another name")
        assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]


@pytest.mark.parametrize(("recipient", "message", "hint"), [
    ("age1qqqqqqqqqqqqqqqq", "Bech32", "recipients look like age1"),
    # age's documented example recipient with one character changed (a typo)
    ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwq", "checksum", "age1"),
    ("ssh-ed25519 AAAA", "unknown recipient type", None),
    ("hello", "unknown recipient type", None),
    ("", "unknown recipient type", None),
])
def test_bad_recipient(tmp_path: Path, recipient: str, message: str, hint: str | None) -> None:
    proc = run_vault("encrypt", "-r", recipient, "-o", str(tmp_path / "o"), input=b"x")
    assert_error(proc, message, hint)
    assert_no_output(tmp_path, "o")


def test_secret_key_given_as_recipient_is_not_echoed(setup: dict[str, Path | str],
                                                     tmp_path: Path) -> None:
    secret = next(line for line in Path(setup["key"]).read_text().splitlines()
                  if line.startswith("AGE-SECRET-KEY-1"))
    proc = run_vault("encrypt", "-r", secret, "-o", str(tmp_path / "o"), input=b"x")
    assert_error(proc, "secret key, not a recipient", "vault keygen")
    assert secret.encode() not in proc.stderr and secret[20:40].encode() not in proc.stderr
    assert_no_output(tmp_path, "o")


def test_bad_identity_file_does_not_echo_it(setup: dict[str, Path | str],
                                            tmp_path: Path) -> None:
    secret = next(line for line in Path(setup["key"]).read_text().splitlines()
                  if line.startswith("AGE-SECRET-KEY-1"))
    typo = secret[:-3] + ("Q" if secret[-3] != "Q" else "P") + secret[-2:]
    bad = tmp_path / "bad-key.txt"
    bad.write_text(f"# my key\n{typo}\n")
    proc = run_vault("decrypt", "-i", str(bad), "-o", str(tmp_path / "o"), str(setup["enc"]))
    assert_error(proc, "line 2")
    assert typo[16:].encode() not in proc.stderr
    assert_no_output(tmp_path, "o")
    proc = run_vault("decrypt", "-i", str(tmp_path / "missing.txt"), str(setup["enc"]))
    assert_error(proc, "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n")
    proc = run_vault("decrypt", "-i", str(empty), str(setup["enc"]))
    assert_error(proc, "no identities")


def test_passphrase_with_recipients(setup: dict[str, Path | str], tmp_path: Path) -> None:
    proc = run_vault("encrypt", "-p", "-r", str(setup["recipient"]), "-o", str(tmp_path / "o"),
                     input=b"x")
    assert_error(proc, "-p cannot be combined")
    assert_no_output(tmp_path, "o")


def test_no_recipients(tmp_path: Path) -> None:
    proc = run_vault("encrypt", "-o", str(tmp_path / "o"), input=b"x")
    assert_error(proc, "no recipients", "-r RECIPIENT")
    assert_no_output(tmp_path, "o")


def test_empty_recipients_file(tmp_path: Path) -> None:
    empty = tmp_path / "team.txt"
    empty.write_text("# nobody yet\n")
    proc = run_vault("encrypt", "-R", str(empty), "-o", str(tmp_path / "o"), input=b"x")
    assert_error(proc, "no recipients")
    proc = run_vault("encrypt", "-R", str(tmp_path / "nope.txt"), input=b"x")
    assert_error(proc, "nope.txt")


def test_usage_errors_exit_2() -> None:
    assert run_vault().returncode == 2
    assert run_vault("encrypt", "--bogus").returncode == 2
    assert run_vault("frobnicate").returncode == 2


def run_without_terminal(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """No controlling terminal at all (a new session), as under cron or CI."""
    return subprocess.run([*VAULT, *args], input=stdin, capture_output=True, timeout=120,
                          start_new_session=True, check=False)


def test_passphrase_needs_a_terminal(tmp_path: Path) -> None:
    proc = run_without_terminal("encrypt", "-p", "-o", str(tmp_path / "o"), stdin=b"data")
    assert_error(proc, "no terminal", "run the command in a terminal")
    assert_no_output(tmp_path, "o")


def test_passphrase_is_never_read_from_stdin(tmp_path: Path) -> None:
    """Piping a passphrase into stdin does not work: stdin is the data."""
    enc = tmp_path / "x.age"
    with open(os.devnull, "rb") as empty:
        status, _, err = run_with_tty([*VAULT, "encrypt", "-p", "-o", str(enc)],
                                      [b"pw", b"pw"], stdin=empty.fileno())
    assert status == 0, err
    proc = run_without_terminal("decrypt", "-o", str(tmp_path / "o"), str(enc), stdin=b"pw\n")
    assert_error(proc, "no terminal")
    assert_no_output(tmp_path, "o")


def test_passphrase_mismatch_and_empty(tmp_path: Path) -> None:
    status, _, err = run_with_tty([*VAULT, "encrypt", "-p", "-o", str(tmp_path / "o"),
                                   os.devnull], [b"one", b"two"])
    assert status == 1 and err.startswith(b"error: the passphrases did not match")
    status, _, err = run_with_tty([*VAULT, "encrypt", "-p", "-o", str(tmp_path / "o"),
                                   os.devnull], [b"", b""])
    assert status == 1 and b"must not be empty" in err
    assert_no_output(tmp_path, "o")


def test_wrong_passphrase(tmp_path: Path) -> None:
    enc = tmp_path / "x.age"
    src = tmp_path / "x.csv"
    src.write_bytes(PLAIN)
    status, _, err = run_with_tty([*VAULT, "encrypt", "-p", "-o", str(enc), str(src)],
                                  [b"right", b"right"])
    assert status == 0, err
    status, _, err = run_with_tty([*VAULT, "decrypt", "-o", str(tmp_path / "o"), str(enc)],
                                  [b"wrong"])
    assert status == 1
    assert lines(err) == ["error: incorrect passphrase", "hint: check the passphrase and try again"]
    assert_no_output(tmp_path, "o")
    assert b"wrong" not in err


def test_key_file_given_for_passphrase_file(setup: dict[str, Path | str], tmp_path: Path) -> None:
    enc = tmp_path / "x.age"
    status, _, err = run_with_tty([*VAULT, "encrypt", "-p", "-o", str(enc), os.devnull],
                                  [b"pw", b"pw"])
    assert status == 0, err
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"), str(enc))
    assert_error(proc, "")
    assert_no_output(tmp_path, "o")


def test_no_identity_for_key_file(setup: dict[str, Path | str], tmp_path: Path) -> None:
    """Without -i, a file encrypted to keys gets a hint to pass one (no passphrase asked)."""
    proc = run_without_terminal("decrypt", "-o", str(tmp_path / "o"), str(setup["enc"]))
    assert_error(proc, "encrypted to keys, not to a passphrase", "-i FILE")
    assert_no_output(tmp_path, "o")


def test_binary_to_terminal_is_refused(setup: dict[str, Path | str]) -> None:
    status, screen, err = run_with_tty(
        [*VAULT, "encrypt", "-r", str(setup["recipient"]), os.devnull], [])
    assert status == 1
    assert lines(err)[0] == "error: refusing to write binary output to the terminal"
    assert "-a" in lines(err)[1]
    assert b"age-encryption.org" not in screen
    # Armored output is text: fine on a terminal.
    status, screen, err = run_with_tty(
        [*VAULT, "encrypt", "-a", "-r", str(setup["recipient"]), os.devnull], [])
    assert status == 0, err
    assert b"-----BEGIN AGE ENCRYPTED FILE-----" in screen


def test_keygen(tmp_path: Path) -> None:
    proc = run_vault("keygen")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert text.startswith("# created: ") and "\n# public key: age1" in text
    assert text.splitlines()[-1].startswith("AGE-SECRET-KEY-1")
    public = text.splitlines()[1].removeprefix("# public key: ")
    assert proc.stderr.decode() == f"Public key: {public}\n"
    key = tmp_path / "k.txt"
    keygen(key)
    assert key.stat().st_mode & 0o777 == 0o600
    proc = run_vault("keygen", "-o", str(key))
    assert_error(proc, "already exists")
    proc = run_vault("keygen", "--pq")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines()[-1].startswith("AGE-SECRET-KEY-PQ-1")
    assert proc.stderr.startswith(b"Public key: age1pq1")


def test_armor_round_trip_through_files(setup: dict[str, Path | str], tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_bytes(PLAIN)
    enc = tmp_path / "t.csv.age"
    proc = run_vault("encrypt", "-a", "-r", str(setup["recipient"]), "-o", str(enc), str(src))
    assert proc.returncode == 0
    text = enc.read_text()
    assert text.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert text.endswith("-----END AGE ENCRYPTED FILE-----\n")
    proc = run_vault("decrypt", "-i", str(setup["key"]), str(enc))
    assert proc.returncode == 0 and proc.stdout == PLAIN


def test_damaged_armor(setup: dict[str, Path | str], tmp_path: Path) -> None:
    enc = tmp_path / "t.age"
    proc = run_vault("encrypt", "-a", "-r", str(setup["recipient"]), "-o", str(enc),
                     input=b"hello")
    assert proc.returncode == 0
    enc.write_bytes(enc.read_bytes().replace(b"\n-----END", b"\n\n-----END"))
    proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"), str(enc))
    assert_error(proc, "armor", "passed on unchanged")
    assert_no_output(tmp_path, "o")


def waiting_for_input(proc: subprocess.Popen[bytes], settled: int) -> bool:
    """The pipe is drained and the process sleeps in a pipe read (Linux /proc; where
    wchan is hidden, as in some containers, the output having settled will do)."""
    assert proc.stdin is not None
    unread = struct.unpack("i", fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD,
                                            b"\0\0\0\0"))[0]
    try:
        wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
    except OSError:
        wchan = ""
    return unread == 0 and ("pipe_read" in wchan or settled >= 6)


def wait_for_partial_temp(folder: Path, proc: subprocess.Popen[bytes]) -> None:
    """Poll until decrypted data sits in the temp file and the process awaits more input."""
    last, settled = -1, 0
    for _ in range(600):
        temps = [p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]
        size = temps[0].stat().st_size if temps else 0
        settled = settled + 1 if size == last else 0
        last = size
        if size >= CHUNK and waiting_for_input(proc, settled):
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        time.sleep(0.05)
    pytest.fail("the temp file never filled")


def _default_signals() -> None:
    """The child starts with the default action for the ending signals, whatever the test
    runner inherited: under ``nohup`` SIGHUP is ignored, and vault rightly leaves an
    ignored signal ignored, so a SIGHUP test would wait for input that never comes."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _stalled_decrypt(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, bytes]:
    """A ``vault decrypt`` to a file in a fresh folder, from a pipe; returns the process,
    the folder and the first 5 MiB of a 6 MiB locked file, for the caller to write."""
    key = tmp_path / "key.txt"
    recipient = keygen(key)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(1 << 20) * 6)
    enc = tmp_path / "big.age"
    assert run_vault("encrypt", "-r", recipient, "-o", str(enc), str(src)).returncode == 0
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([*VAULT, "decrypt", "-i", str(key), "-o", str(work / "out")],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_signals)
    assert proc.stdin is not None and proc.stderr is not None
    return proc, work, enc.read_bytes()[: 5 << 20]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                                (signal.SIGHUP, 129)])
def test_signal_mid_decrypt_leaves_nothing(tmp_path: Path, signum: int, status: int) -> None:
    """Killed half-way (input still arriving), the temp file with plaintext is removed."""
    proc, work, head = _stalled_decrypt(tmp_path)
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(head)  # the rest never comes
    proc.stdin.flush()
    try:
        wait_for_partial_temp(work, proc)
        proc.send_signal(signum)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # CPython runs the handler only when the blocking C read returns; the
            # signal may have landed just before the read began. End of input
            # releases it (and would otherwise end in "truncated", exit status 1).
            proc.stdin.close()
        assert proc.wait(timeout=60) == status
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not proc.stdin.closed:
            proc.stdin.close()
        err = proc.stderr.read()  # read and closed even when an assertion failed
        proc.stderr.close()
    assert err.startswith(b"error: "), err
    assert os.listdir(work) == []


def _blocked_signals(pid: int, tid: str) -> set[int]:
    for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    raise AssertionError("no SigBlk line")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_helper_threads_leave_termination_signals_to_the_main_thread(tmp_path: Path) -> None:
    """A signal the kernel gave a helper thread would not interrupt the main thread's
    wait for input: the command would not stop, and its temp file would stay."""
    proc, work, head = _stalled_decrypt(tmp_path)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(head)  # the rest never comes
        proc.stdin.flush()
        wait_for_partial_temp(work, proc)
        helpers = [t for t in os.listdir(f"/proc/{proc.pid}/task") if t != str(proc.pid)]
        assert helpers, "the pipeline started no helper thread"
        for tid in helpers:
            blocked = _blocked_signals(proc.pid, tid)
            assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= blocked, (tid, blocked)
        assert not {signal.SIGTERM, signal.SIGHUP} & _blocked_signals(proc.pid, str(proc.pid))
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stderr.close()


def test_failed_decrypt_from_stdin_to_file_leaves_nothing(setup: dict[str, Path | str],
                                                          tmp_path: Path) -> None:
    data = Path(setup["enc"]).read_bytes()
    for damaged, message in ((data[:-1], "failed authentication"),
                             (data[: len(data) - len(PLAIN) % CHUNK - 16], "truncated")):
        proc = run_vault("decrypt", "-i", str(setup["key"]), "-o", str(tmp_path / "o"),
                         input=damaged)
        assert_error(proc, message)
        assert_no_output(tmp_path, "o")


def test_stdin_used_twice_is_refused(setup: dict[str, Path | str], tmp_path: Path) -> None:
    """Before: the identity file swallowed all of stdin, then 'the file is empty'."""
    data = Path(setup["key"]).read_bytes() + Path(setup["enc"]).read_bytes()
    proc = run_vault("decrypt", "-i", "-", "-o", str(tmp_path / "o"), input=data)
    assert_error(proc, "standard input cannot be both", "file name")
    proc = run_vault("encrypt", "-R", "-", input=str(setup["recipient"]).encode())
    assert_error(proc, "standard input cannot be both")
    assert_no_output(tmp_path, "o")
    # Standard input for the key alone is fine.
    proc = run_vault("decrypt", "-i", "-", str(setup["enc"]),
                     input=Path(setup["key"]).read_bytes())
    assert proc.returncode == 0 and proc.stdout == PLAIN
