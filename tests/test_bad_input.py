"""Bad-input matrix through the real CLI: each case gives a clear ``error:``, a non-zero exit,
no traceback, and changes nothing on disk (the whole work folder is snapshotted before and
compared after).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import run_with_tty

from vault_app.core import age
from vault_app.core.encoding import b64encode
from vault_app.core.header import Stanza, build_header
from vault_app.core.recipients.scrypt import ScryptRecipient
from vault_app.core.recipients.x25519 import X25519Identity

VAULT = [sys.executable, "-m", "vault_app.cli"]
PASSPHRASE = b"open sesame"


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``root``: kind and content hash (or symlink target)."""
    found: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsdecode(os.path.relpath(full, os.fsencode(root)))
            if os.path.islink(full):
                found[rel] = ("link", os.fsdecode(os.readlink(full)))
            elif os.path.isdir(full):
                found[rel] = ("dir", "")
            else:
                with open(full, "rb") as handle:
                    found[rel] = ("file", hashlib.sha256(handle.read()).hexdigest())
    return found


@dataclass
class Work:
    root: Path
    identity: X25519Identity
    key: Path
    plain: Path
    locked: Path
    pass_locked: Path

    @property
    def recipient(self) -> str:
        return str(self.identity.recipient())


@pytest.fixture
def work(tmp_path: Path) -> Work:
    root = tmp_path / "work"
    root.mkdir()
    identity = X25519Identity.generate()
    key = root / "key.txt"
    key.write_text(f"# test key\n{identity}\n")
    plain = root / "data.csv"
    plain.write_bytes(b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000)))
    locked = root / "data.csv.age"
    age.encrypt_file(plain, locked, [identity.recipient()])
    pass_locked = root / "secret.csv.age"
    age.encrypt_file(plain, pass_locked, [ScryptRecipient(PASSPHRASE, work_factor=10)])
    return Work(root, identity, key, plain, locked, pass_locked)


def run(*args: str | bytes, cwd: Path | None = None) -> tuple[int, str]:
    result = subprocess.run([*VAULT, *args], capture_output=True, timeout=120, check=False,
                            cwd=cwd, stdin=subprocess.DEVNULL)
    return result.returncode, result.stderr.decode("utf-8", "replace")


def assert_refused(status: int, stderr: str, *expected: str) -> None:
    assert status != 0, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("error: "), stderr
    for text in expected:
        assert text in stderr, f"{text!r} not in {stderr!r}"


# Each case sets up what it needs and returns the CLI arguments to run.
Case = Callable[[Work], list[str | bytes]]


def _missing_encrypt(w: Work) -> list[str | bytes]:
    return ["encrypt", "-r", w.recipient, "-o", str(w.root / "x.age"), str(w.root / "nope")]


def _missing_decrypt(w: Work) -> list[str | bytes]:
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "x"), str(w.root / "nope.age")]


def _dir_encrypt(w: Work) -> list[str | bytes]:
    (w.root / "folder").mkdir()
    return ["encrypt", "-r", w.recipient, "-o", str(w.root / "f.age"), str(w.root / "folder")]


def _dir_decrypt(w: Work) -> list[str | bytes]:
    (w.root / "folder.age").mkdir()
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "x"), str(w.root / "folder.age")]


def _dir_as_output(w: Work) -> list[str | bytes]:
    (w.root / "outdir").mkdir()
    return ["encrypt", "-r", w.recipient, "-o", str(w.root / "outdir"), str(w.plain)]


def _symlink_output_to_victim(w: Work) -> list[str | bytes]:
    victim = w.root / "victim.txt"
    victim.write_text("do not overwrite")
    (w.root / "out.age").symlink_to(victim)
    return ["encrypt", "-r", w.recipient, "-o", str(w.root / "out.age"), str(w.plain)]


def _dangling_symlink_output(w: Work) -> list[str | bytes]:
    (w.root / "out.csv").symlink_to(w.root / "elsewhere.csv")
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "out.csv"), str(w.locked)]


def _zero_byte_decrypt(w: Work) -> list[str | bytes]:
    (w.root / "empty.age").write_bytes(b"")
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "x"), str(w.root / "empty.age")]


def _truncated_decrypt(w: Work) -> list[str | bytes]:
    data = w.locked.read_bytes()
    (w.root / "cut.age").write_bytes(data[: len(data) - 100])
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "x"), str(w.root / "cut.age")]


def _not_age_decrypt(w: Work) -> list[str | bytes]:
    return ["decrypt", "-i", str(w.key), "-o", str(w.root / "x"), str(w.plain)]


def _wrong_identity(w: Work) -> list[str | bytes]:
    other = w.root / "other.txt"
    other.write_text(str(X25519Identity.generate()) + "\n")
    return ["decrypt", "-i", str(other), "-o", str(w.root / "x"), str(w.locked)]


def _identity_file_garbage(w: Work) -> list[str | bytes]:
    bad = w.root / "bad-key.txt"
    bad.write_text("AGE-SECRET-KEY-1THISISNOTAREALKEYBUTLOOKSLIKEONE\n")
    return ["decrypt", "-i", str(bad), "-o", str(w.root / "x"), str(w.locked)]


def _identity_file_missing(w: Work) -> list[str | bytes]:
    return ["decrypt", "-i", str(w.root / "nokey"), "-o", str(w.root / "x"), str(w.locked)]


def _output_exists(w: Work) -> list[str | bytes]:
    return ["encrypt", "-r", w.recipient, "-o", str(w.locked), str(w.plain)]


def _output_is_input(w: Work) -> list[str | bytes]:
    return ["encrypt", "-r", w.recipient, "-o", str(w.plain), str(w.plain)]


def _bad_recipient(w: Work) -> list[str | bytes]:
    return ["encrypt", "-r", "age1notarecipient", "-o", str(w.root / "x.age"), str(w.plain)]


def _secret_key_as_recipient(w: Work) -> list[str | bytes]:
    return ["encrypt", "-r", str(w.identity), "-o", str(w.root / "x.age"), str(w.plain)]


def _non_utf8_missing(w: Work) -> list[str | bytes]:
    name = os.fsencode(w.root) + b"/\xff\xfe-missing.csv"
    return ["encrypt", "-r", w.recipient, "-o", str(w.root / "x.age"), name]


def _no_tty_for_passphrase(w: Work) -> list[str | bytes]:
    return ["decrypt", "-o", str(w.root / "x"), str(w.pass_locked)]


CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "missing file (encrypt)": (_missing_encrypt, ("no such file",)),
    "missing file (decrypt)": (_missing_decrypt, ("no such file",)),
    "directory as input (encrypt)": (_dir_encrypt, ("is a folder",)),
    "directory as input (decrypt)": (_dir_decrypt, ("is a folder",)),
    "directory as output": (_dir_as_output, ("already exists",)),
    "symlink at the output name": (_symlink_output_to_victim, ("already exists",)),
    "dangling symlink at the output name": (_dangling_symlink_output, ("already exists",)),
    "zero-byte file (decrypt)": (_zero_byte_decrypt, ("empty",)),
    "truncated file": (_truncated_decrypt, ("hint:",)),
    "plaintext given to decrypt": (_not_age_decrypt, ("not an age file",)),
    "wrong identity": (_wrong_identity, ("no identity matched", "hint:")),
    "garbage identity file": (_identity_file_garbage, ("identity file line 1",)),
    "missing identity file": (_identity_file_missing, ("cannot read identity file",)),
    "output already exists": (_output_exists, ("already exists",)),
    "output is the input": (_output_is_input, ("already exists",)),
    "malformed recipient": (_bad_recipient, ("error:",)),
    "secret key given as recipient": (_secret_key_as_recipient, ("secret key",)),
    "non-UTF-8 missing name": (_non_utf8_missing, ("no such file",)),
    "passphrase needed, no terminal": (_no_tty_for_passphrase, ("no terminal",)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_cli(work: Work, name: str) -> None:
    case, expected = CASES[name]
    args = case(work)
    before = snapshot(work.root)
    status, stderr = run(*args)
    assert snapshot(work.root) == before, "the failed command changed files"
    assert_refused(status, stderr, *expected)
    for secret in (str(work.identity), "THISISNOTAREALKEY"):
        assert secret.upper() not in stderr.upper(), "a secret key was echoed in an error"


def test_zero_byte_file_round_trips(work: Work) -> None:
    """An empty plaintext is valid: it locks and unlocks to an empty file."""
    empty = work.root / "empty.csv"
    empty.write_bytes(b"")
    status, stderr = run("encrypt", "-r", work.recipient, "-o", str(work.root / "e.age"),
                         str(empty))
    assert status == 0, stderr
    status, stderr = run("decrypt", "-i", str(work.key), "-o", str(work.root / "e.out"),
                         str(work.root / "e.age"))
    assert status == 0, stderr
    assert (work.root / "e.out").read_bytes() == b""


def test_non_utf8_names_round_trip(work: Work) -> None:
    raw = os.fsencode(work.root) + b"/caf\xe9-\xff.csv"
    with open(raw, "wb") as handle:
        handle.write(b"a,b\n1,2\n")
    status, stderr = run("encrypt", "-r", work.recipient, "-o", raw + b".age", raw)
    assert status == 0, stderr
    status, stderr = run("decrypt", "-i", str(work.key), "-o", raw + b".out", raw + b".age")
    assert status == 0, stderr
    with open(raw + b".out", "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"


def test_symlinked_input_is_encrypted_not_replaced(work: Work) -> None:
    """A symlink as *input* is read through; the link itself is left as it was."""
    link = work.root / "link.csv"
    link.symlink_to(work.plain)
    status, stderr = run("encrypt", "-r", work.recipient, "-o", str(work.root / "l.age"),
                         str(link))
    assert status == 0, stderr
    assert link.is_symlink() and link.read_bytes() == work.plain.read_bytes()


def test_wrong_passphrase_via_terminal(work: Work) -> None:
    before = snapshot(work.root)
    status, screen, stderr = run_with_tty(
        [*VAULT, "decrypt", "-o", str(work.root / "x"), str(work.pass_locked)], [b"wrong one"])
    assert_refused(status, stderr.decode(), "incorrect passphrase", "hint: check the passphrase")
    assert b"wrong one" not in screen + stderr, "the passphrase was echoed"
    assert snapshot(work.root) == before


def test_right_passphrase_via_terminal(work: Work) -> None:
    """The control for the case above: the same path with the right passphrase works."""
    status, _, stderr = run_with_tty(
        [*VAULT, "decrypt", "-o", str(work.root / "x"), str(work.pass_locked)], [PASSPHRASE])
    assert status == 0, stderr
    assert (work.root / "x").read_bytes() == work.plain.read_bytes()


def test_huge_scrypt_work_factor_refused_quickly(work: Work) -> None:
    """A file asking for 2^40 scrypt iterations must be refused at once, not hang."""
    hostile = work.root / "hostile.age"
    stanza = Stanza("scrypt", (b64encode(os.urandom(16)), "40"), os.urandom(32))
    hostile.write_bytes(build_header(os.urandom(16), [stanza]).encode() + os.urandom(200))
    before = snapshot(work.root)
    start = time.monotonic()
    status, _, stderr = run_with_tty(
        [*VAULT, "decrypt", "-o", str(work.root / "x"), str(hostile)], [PASSPHRASE],
        timeout=30)
    elapsed = time.monotonic() - start
    assert_refused(status, stderr.decode(), "work factor", "hostile")
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert snapshot(work.root) == before


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder the CLI cannot write to. Root ignores mode bits, so as root: a ro tmpfs."""
    folder = tmp_path / f"ro-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {result.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("verb", ["encrypt", "decrypt"])
def test_read_only_destination(work: Work, read_only_dir: Path, verb: str) -> None:
    before = snapshot(work.root)
    if verb == "encrypt":
        status, stderr = run("encrypt", "-r", work.recipient, "-o",
                             str(read_only_dir / "d.age"), str(work.plain))
    else:
        status, stderr = run("decrypt", "-i", str(work.key), "-o", str(read_only_dir / "d"),
                             str(work.locked))
    assert_refused(status, stderr)
    assert "read-only" in stderr or "permission denied" in stderr, stderr
    assert list(read_only_dir.iterdir()) == []
    assert snapshot(work.root) == before


# -- the vault verbs --------------------------------------------------------------------------

@dataclass
class VaultWork:
    tmp: Path
    root: Path
    env: dict[str, str]
    locked: Path
    outside: Path

    def run(self, *args: str | bytes, user: str = "alice",
            env: dict[str, str] | None = None) -> tuple[int, str]:
        result = subprocess.run([*VAULT, *args], capture_output=True, timeout=120, check=False,
                                stdin=subprocess.DEVNULL,
                                env={**self.env, "VAULT_USER": user, **(env or {})})
        return result.returncode, result.stderr.decode("utf-8", "replace")


def vault_snapshot(tmp: Path) -> dict[str, tuple[str, str]]:
    """As snapshot(), minus the (empty) inter-process lock files filelock leaves behind."""
    return {k: v for k, v in snapshot(tmp).items() if "/.vault/locks" not in f"/{k}"}


@pytest.fixture
def vw(tmp_path: Path) -> VaultWork:
    from vault_support import REAL_KEYRING, TEST_PASSPHRASE, team

    root = tmp_path / "vault"
    vaults = team(root, "alice", "bob")
    src = root / "data.csv"
    src.write_bytes(b"id,value\n1,2\n" * 100)
    locked = vaults["alice"].lock(src).path
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"secret,outside\n" * 10)
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_bytes(TEST_PASSPHRASE + b"\n")
    env = {**os.environ, "VAULT_PASSPHRASE_FILE": str(passphrase)}
    if not REAL_KEYRING:
        env["VAULT_KEY_FILE"] = "1"
    return VaultWork(tmp_path, root, env, locked, outside)


VaultCase = Callable[[VaultWork], tuple[list[str | bytes], dict[str, str], str]]


def _v(w: VaultWork, *args: str | bytes) -> list[str | bytes]:
    return [args[0], "--vault", str(w.root), *args[1:]]


def _lock_symlink_out(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    link = w.root / "link.csv"
    link.symlink_to(w.outside)
    return _v(w, "lock", str(link)), {}, "alice"


def _lock_already_locked(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "lock", str(w.locked)), {}, "alice"


def _lock_missing(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "lock", str(w.root / "nope.csv")), {}, "alice"


def _lock_directory(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    (w.root / "folder").mkdir()
    return _v(w, "lock", str(w.root / "folder")), {}, "alice"


def _share_dotdot(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "share", str(w.locked), "--with", "../bob"), {}, "alice"


def _share_separator(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "share", str(w.locked), "--with", "keys/bob"), {}, "alice"


def _user_add_dotdot(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return ["user", "add", "--vault", str(w.root), "../../evil"], {}, "alice"


def _acting_user_dotdot(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "unlock", str(w.locked), "-o", str(w.tmp / "out")), {}, "../alice"


def _unlock_onto_symlink(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    out = w.tmp / "out"
    out.mkdir()
    (out / "data.csv").symlink_to(w.outside)
    return _v(w, "unlock", str(w.locked), "-o", str(out)), {}, "alice"


def _unlock_not_shared(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "unlock", str(w.locked), "-o", str(w.tmp / "out")), {}, "bob"


def _share_not_owner(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "share", str(w.locked), "--with", "bob"), {}, "bob"


def _revoke_not_in_acl(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "revoke", str(w.locked), "--from", "bob"), {}, "alice"


def _not_a_member(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return _v(w, "unlock", str(w.locked), "-o", str(w.tmp / "out")), {}, "mallory"


def _wrong_key_passphrase(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    wrong = w.tmp / "wrong.txt"
    wrong.write_bytes(b"not the passphrase\n")
    return (_v(w, "unlock", str(w.locked), "-o", str(w.tmp / "out")),
            {"VAULT_PASSPHRASE_FILE": str(wrong), "VAULT_KEY_FILE": "1"}, "alice")


def _no_keyring_no_keys(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return (_v(w, "unlock", str(w.locked), "-o", str(w.tmp / "out")),
            {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "VAULT_KEY_FILE": "",
             "VAULT_PASSPHRASE_FILE": ""}, "alice")


def _no_keyring_init(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    return (["init", str(w.tmp / "vault2")],
            {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "VAULT_KEY_FILE": "",
             "VAULT_PASSPHRASE_FILE": ""}, "carol")


def _unlock_empty(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    (w.root / "empty.csv.age").write_bytes(b"")
    return _v(w, "unlock", str(w.root / "empty.csv.age"), "-o", str(w.tmp / "out")), {}, "alice"


def _unlock_plain_age_name(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    (w.root / "fake.csv.age").write_bytes(b"id,value\n")
    return _v(w, "unlock", str(w.root / "fake.csv.age"), "-o", str(w.tmp / "out")), {}, "alice"


def _unlock_tampered_acl(w: VaultWork) -> tuple[list[str | bytes], dict[str, str], str]:
    data = bytearray(w.locked.read_bytes())
    data[data.index(b"\n---") - 5] ^= 0x01  # inside the last (ACL) stanza body
    (w.root / "tampered.csv.age").write_bytes(bytes(data))
    return (_v(w, "unlock", str(w.root / "tampered.csv.age"), "-o", str(w.tmp / "out")), {},
            "alice")


VAULT_CASES: dict[str, tuple[VaultCase, tuple[str, ...]]] = {
    "lock a symlink pointing out of the vault": (_lock_symlink_out, ("symbolic link",)),
    "lock a file already locked": (_lock_already_locked, ("already locked",)),
    "lock a missing file": (_lock_missing, ("no such file",)),
    "lock an empty folder": (_lock_directory, ("holds no files to lock",)),
    "share with a name containing ..": (_share_dotdot, ("../bob",)),
    "share with a name containing a separator": (_share_separator, ("keys/bob",)),
    "add a member named ../../evil": (_user_add_dotdot, ("invalid user name",)),
    "act as a user named ../alice": (_acting_user_dotdot, ("invalid user name",)),
    "unlock onto a symlink pointing outside": (_unlock_onto_symlink, ("already exists",)),
    "unlock a file not shared with you": (_unlock_not_shared, ("hint:",)),
    "share a file you do not own": (_share_not_owner, ("not an owner",)),
    "revoke someone without access": (_revoke_not_in_acl, ("no access",)),
    "act as someone who is not a member": (_not_a_member, ("mallory",)),
    "wrong passphrase for the key file": (_wrong_key_passphrase, ("hint:",)),
    "no keyring and no key file": (_no_keyring_no_keys, ("hint:",)),
    "init with no keyring": (_no_keyring_init, ("no usable OS keyring", "--key-file")),
    "unlock a zero-byte .age file": (_unlock_empty, ("empty",)),
    "unlock a plaintext named .age": (_unlock_plain_age_name, ("not an age file",)),
    "unlock a file with an edited ACL": (_unlock_tampered_acl, ("hint:",)),
}


@pytest.mark.parametrize("name", sorted(VAULT_CASES))
def test_bad_input_vault_cli(vw: VaultWork, name: str) -> None:
    case, expected = VAULT_CASES[name]
    args, env, user = case(vw)
    before = vault_snapshot(vw.tmp)
    status, stderr = vw.run(*args, user=user, env=env)
    assert vault_snapshot(vw.tmp) == before, f"the failed command changed files: {stderr}"
    assert_refused(status, stderr, *expected)


def test_vault_unlock_to_read_only_folder(vw: VaultWork, read_only_dir: Path) -> None:
    before = vault_snapshot(vw.tmp)
    status, stderr = vw.run("unlock", "--vault", str(vw.root), str(vw.locked), "-o",
                            str(read_only_dir))
    assert_refused(status, stderr)
    assert "read-only" in stderr or "permission denied" in stderr, stderr
    assert vault_snapshot(vw.tmp) == before


def test_vault_non_utf8_name_round_trips(vw: VaultWork) -> None:
    raw = os.fsencode(vw.root) + b"/caf\xe9-\xff.csv"
    with open(raw, "wb") as handle:
        handle.write(b"a,b\n1,2\n")
    status, stderr = vw.run("lock", "--vault", str(vw.root), raw)
    assert status == 0, stderr
    assert not os.path.exists(raw)
    out = vw.tmp / "out"
    status, stderr = vw.run("unlock", "--vault", str(vw.root), raw + b".age", "-o", str(out))
    assert status == 0, stderr
    with open(os.fsencode(out) + b"/caf\xe9-\xff.csv", "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"


_LOCKED_KEYRING = r"""
set -e
export XDG_DATA_HOME="$WORK/kdata" XDG_RUNTIME_DIR="$WORK/krun"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'pw' | gnome-keyring-daemon --unlock --components=secrets)"
"$PY" -m vault_app.cli init "$WORK/v" --recovery-out "$WORK/rec.txt" >/dev/null
"$PY" -c "import secretstorage; c = secretstorage.dbus_init(); \
secretstorage.get_default_collection(c).lock()"
set +e
"$PY" -m vault_app.cli lock --vault "$WORK/v" "$WORK/v/a.csv" 2>"$WORK/stderr"
echo $? > "$WORK/status"
"""


def test_locked_keyring_is_a_clear_error(tmp_path: Path) -> None:
    """A real gnome-keyring in a private D-Bus session, locked: a clear error, nothing lost."""
    import shutil

    if not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")):
        pytest.skip("needs dbus-run-session and gnome-keyring-daemon (installed by .ci/run)")
    (tmp_path / "v").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
                        "VAULT_KEY_FILE", "VAULT_PASSPHRASE_FILE")}
    env.update(WORK=str(tmp_path), PY=sys.executable, VAULT_USER="alice")
    script = tmp_path / "locked.sh"
    script.write_text(_LOCKED_KEYRING)
    (tmp_path / "v" / "a.csv").write_bytes(b"a,b\n")
    subprocess.run(["dbus-run-session", "--", "bash", str(script)], env=env, timeout=120,
                   capture_output=True, check=True)
    status = int((tmp_path / "status").read_text())
    stderr = (tmp_path / "stderr").read_text()
    assert_refused(status, stderr, "keyring is locked", "hint:")
    assert (tmp_path / "v" / "a.csv").read_bytes() == b"a,b\n"
    assert not (tmp_path / "v" / "a.csv.age").exists()
