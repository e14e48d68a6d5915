"""The vault verbs end to end through the real CLI (subprocesses), and the stock `age`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from vault_support import REAL_KEYRING, TEST_PASSPHRASE, run_vault

from vault_app.cli import exit_codes
from vault_app.core import age
from vault_app.core.errors import ErrorKind
from vault_app.core.recipients.scrypt import ScryptIdentity


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Batch-mode environment: passphrases from a file; keys in the keyring if CI has one."""
    secret = tmp_path / "passphrase"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    values = {"VAULT_PASSPHRASE_FILE": str(secret)}
    if not REAL_KEYRING:
        values["VAULT_KEY_FILE"] = "1"
    return values


def ok(*args: str, env: dict[str, str], cwd: Path | None = None) -> str:
    result = run_vault(*args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def fails(*args: str, env: dict[str, str], kind: str) -> str:
    """Run a verb that must fail with an error of ``kind``: its documented exit status."""
    result = run_vault(*args, env=env)
    assert result.returncode == exit_codes.BY_KIND[ErrorKind(kind)], (result.stdout,
                                                                      result.stderr)
    err = result.stderr.decode()
    assert err.startswith("error: "), err
    return err


@pytest.fixture
def vault(tmp_path: Path, env: dict[str, str]) -> Path:
    root = tmp_path / "vault"
    out = json.loads(ok("init", str(root), "--user", "alice", "--json",
                        "--recovery-out", str(tmp_path / "recovery.txt"), env=env))
    assert out["admin"] == "alice" and out["recovery_recipient"].startswith("age1")
    assert "recovery_identity" not in out
    for name in ("bob", "carol"):  # each asks to join; alice compares the fingerprint
        asked = json.loads(ok("join", str(root), "--user", name, "--json", env=env))
        ok("user", "approve", name, "--fingerprint", asked["fingerprint"], "--vault",
           str(root), "--user", "alice", env=env)
    return root


def test_lock_share_unlock_revoke_verify(vault: Path, tmp_path: Path,
                                         env: dict[str, str]) -> None:
    v = ["--vault", str(vault)]
    data = os.urandom(150_000)
    src = tmp_path / "results.parquet"
    src.write_bytes(data)
    locked_json = json.loads(ok("lock", str(src), *v, "--user", "alice", "--json", env=env))
    assert not src.exists()
    locked = Path(locked_json[0]["path"])
    assert locked == vault / "results.parquet.age"
    assert locked_json[0]["signature"] == "valid" and locked_json[0]["readers"] == ["alice"]

    listing = json.loads(ok("ls", *v, "--user", "bob", "--json", env=env))
    assert [(f["name"], f["size"], f["owner"], f["signature"]) for f in listing] == [
        ("results.parquet", len(data), "alice", "valid")]

    err = fails("unlock", str(locked), *v, "--user", "bob", "-o", str(tmp_path / "b"), env=env,
                kind="no-access")
    assert "not shared with bob" in err and "hint:" in err
    shared = json.loads(ok("share", str(locked), "--with", "bob", *v, "--user", "alice",
                           "--json", env=env))
    assert shared["acl"] == {"alice": "owner", "bob": "reader"}
    ok("unlock", str(locked), *v, "--user", "bob", "-o", str(tmp_path / "b"), env=env)
    assert (tmp_path / "b" / "results.parquet").read_bytes() == data
    # a reader may not share onwards
    err = fails("share", str(locked), "--with", "carol", *v, "--user", "bob", env=env,
                kind="no-access")
    assert "not an owner" in err

    ok("revoke", str(locked), "--from", "bob", *v, "--user", "alice", env=env)
    fails("unlock", str(locked), *v, "--user", "bob", "-o", str(tmp_path / "b2"), env=env,
          kind="no-access")
    verified = json.loads(ok("verify", *v, "--user", "carol", "--json", env=env))
    assert [r["status"] for r in verified] == ["valid"]

    # the recovery key (written at init) opens it
    ok("recover", str(locked), "-i", str(tmp_path / "recovery.txt"), "-o",
       str(tmp_path / "r"), *v, env=env)
    assert (tmp_path / "r" / "results.parquet").read_bytes() == data
    # with the vault's metadata lost, the recovery key still opens it (digest checked)
    shutil.copy(locked, tmp_path / "lost.age")
    err = fails("recover", str(tmp_path / "lost.age"), "-i", str(tmp_path / "recovery.txt"),
                "-o", str(tmp_path / "r2"), env=env, kind="bad-signature")
    assert "signature" in err
    assert (tmp_path / "r2" / "lost").read_bytes() == data
    # and so does the stock age tool with the same recovery key file
    result = subprocess.run(["age", "-d", "-i", str(tmp_path / "recovery.txt"), str(locked)],
                            capture_output=True, check=False)
    assert result.returncode == 0 and result.stdout == data


def test_vault_found_from_cwd_and_env(vault: Path, tmp_path: Path, env: dict[str, str]) -> None:
    sub = vault / "raw"
    sub.mkdir()
    (sub / "a.csv").write_bytes(b"a\n1\n")
    ok("lock", "a.csv", "--keep", "--user", "alice", env=env, cwd=sub)
    assert (sub / "a.csv.age").is_file() and (sub / "a.csv").is_file()
    names = [f["name"] for f in json.loads(ok("ls", "--json", env={**env, "VAULT_USER": "alice"},
                                               cwd=sub))]
    assert names == ["raw/a.csv"]
    listed = ok("ls", env={**env, "VAULT_DIR": str(vault), "VAULT_USER": "bob"}, cwd=tmp_path)
    assert listed.startswith("raw/a.csv\t") and "valid" in listed
    err = fails("ls", env=env, kind="not-a-vault")  # run from the repository: no vault above it
    assert "no vault" in err or "not a vault" in err


@pytest.mark.interop
def test_user_export_identity_decrypts_with_stock_age(vault: Path, tmp_path: Path,
                                                       env: dict[str, str],
                                                       age_cli: str) -> None:
    """`vault user export` + the stock `age -d -i` read a vault file (ACL stanza ignored)."""
    v = ["--vault", str(vault)]
    src = tmp_path / "table.csv"
    src.write_bytes(b"id,value\n" + b"1,2\n" * 50_000)
    expected = src.read_bytes()
    locked = Path(json.loads(ok("lock", str(src), *v, "--user", "alice", "--json",
                                env=env))[0]["path"])
    ok("share", str(locked), "--with", "bob", *v, "--user", "alice", env=env)
    assert b"-> dataset-vault.org/acl\n" in locked.read_bytes()[:4096]

    exported = tmp_path / "bob-keys.age"
    ok("user", "export", "bob", "--user", "bob", "-o", str(exported), env=env)
    # it is a standard passphrase age file; its plaintext is an identity file for age -i
    identity = tmp_path / "bob.txt"
    with exported.open("rb") as src_file, identity.open("wb") as out:
        age.decrypt(src_file, out, [ScryptIdentity(TEST_PASSPHRASE)])
    assert identity.read_text().count("AGE-SECRET-KEY-1") == 1
    result = subprocess.run([age_cli, "-d", "-i", str(identity), str(locked)],
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    # carol's identity does not open it with the stock tool either
    ok("user", "export", "carol", "--user", "carol", "-o", str(tmp_path / "carol-keys.age"),
       env=env)
    carol = tmp_path / "carol.txt"
    with (tmp_path / "carol-keys.age").open("rb") as src_file, carol.open("wb") as out:
        age.decrypt(src_file, out, [ScryptIdentity(TEST_PASSPHRASE)])
    result = subprocess.run([age_cli, "-d", "-i", str(carol), str(locked)],
                            capture_output=True, check=False)
    assert result.returncode != 0 and not result.stdout


def test_export_to_outside_recipient_is_plain_age(vault: Path, tmp_path: Path,
                                                  env: dict[str, str], age_cli: str) -> None:
    v = ["--vault", str(vault), "--user", "alice"]
    src = tmp_path / "d.bin"
    data = os.urandom(70_000)
    src.write_bytes(data)
    locked = Path(json.loads(ok("lock", str(src), *v, "--json", env=env))[0]["path"])
    keygen = subprocess.run(["age-keygen", "-o", str(tmp_path / "outsider.txt")],
                            capture_output=True, check=True)
    recipient = keygen.stderr.decode().split("Public key: ")[1].strip()
    ok("export", str(locked), "--to", recipient, "-o", str(tmp_path / "out.age"), *v, env=env)
    copy = (tmp_path / "out.age").read_bytes()
    assert b"dataset-vault.org" not in copy[:2000]
    result = subprocess.run([age_cli, "-d", "-i", str(tmp_path / "outsider.txt"),
                             str(tmp_path / "out.age")], capture_output=True, check=False)
    assert result.returncode == 0 and result.stdout == data


def test_user_list_import_remove(vault: Path, tmp_path: Path, env: dict[str, str]) -> None:
    v = ["--vault", str(vault)]
    members = json.loads(ok("user", "list", *v, "--user", "bob", "--json", env=env))
    assert [(m["name"], m["admin"]) for m in members["members"]] == [
        ("alice", True), ("bob", False), ("carol", False)]
    assert members["problems"] == []
    fails("user", "add", "dave", *v, "--user", "bob", env=env,
          kind="usage")  # no keys given (and bob is not an admin)
    # dave made his keys elsewhere; an admin adds his public keys
    ok("user", "export", "carol", "--user", "carol", "-o", str(tmp_path / "c.age"), env=env)
    shown = json.loads(ok("user", "import", str(tmp_path / "c.age"), "--name", "dave",
                          "--json", env=env))
    src = tmp_path / "c.csv"
    src.write_bytes(b"c\n")
    locked = vault / "c.csv.age"
    ok("lock", str(src), *v, "--user", "alice", env=env)
    ok("share", str(locked), "--with", "carol", *v, "--user", "alice", env=env)
    removed = json.loads(ok("user", "remove", "carol", "--revoke", *v, "--user", "alice",
                            "--json", env=env))
    assert removed["revoked"] == [str(locked)] and removed["skipped"] == []
    fails("unlock", str(locked), "-o", str(tmp_path / "co"), *v, "--user", "carol", env=env,
          kind="unknown-user")
    ok("user", "add", "dave", "--recipient", shown["recipient"], "--signing-key",
       shown["signing_key"], *v, "--user", "alice", env=env)
    names = [m["name"] for m in json.loads(ok("user", "list", *v, "--user", "alice", "--json",
                                              env=env))["members"]]
    assert names == ["alice", "bob", "dave"]
    err = fails("lock", str(tmp_path / "missing.csv"), *v, "--user", "carol", env=env,
                kind="not-found")
    assert "carol" in err or "missing" in err


def test_no_keyring_gives_clear_error(tmp_path: Path) -> None:
    """On a machine with no keyring, init says so and names the way out."""
    result = run_vault("init", str(tmp_path / "v"), "--user", "alice",
                       env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                            "VAULT_KEY_FILE": ""})
    assert result.returncode == exit_codes.BY_KIND[ErrorKind.KEYRING_UNAVAILABLE]
    err = result.stderr.decode()
    assert "error: no usable OS keyring" in err and "hint:" in err and "--key-file" in err
    assert not (tmp_path / "v" / ".vault").exists()


def test_key_file_when_there_is_no_keyring(tmp_path: Path) -> None:
    """No keyring: --key-file keeps passphrase-protected keys in the config folder."""
    secret = tmp_path / "passphrase"
    secret.write_bytes(TEST_PASSPHRASE + b"\n")
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "VAULT_PASSPHRASE_FILE": str(secret), "VAULT_KEY_FILE": ""}
    root = tmp_path / "v"
    ok("init", str(root), "--user", "alice", "--key-file", "--recovery-out",
       str(tmp_path / "r.txt"), env=env)
    key_file = Path(os.environ["XDG_CONFIG_HOME"]) / "dataset-vault" / "keys" / "alice.age"
    assert key_file.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    (tmp_path / "a.csv").write_bytes(b"x,y\n")
    # once the key file exists, it is found without --key-file
    ok("lock", str(tmp_path / "a.csv"), "--vault", str(root), "--user", "alice", env=env)
    ok("unlock", str(root / "a.csv.age"), "-o", str(tmp_path / "o"), "--vault", str(root),
       "--user", "alice", env=env)
    assert (tmp_path / "o" / "a.csv").read_bytes() == b"x,y\n"
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"not it\n")
    err = fails("unlock", str(root / "a.csv.age"), "-o", str(tmp_path / "o2"), "--vault",
                str(root), "--user", "alice", env={**env, "VAULT_PASSPHRASE_FILE": str(wrong)},
                kind="bad-passphrase")
    assert "passphrase" in err
