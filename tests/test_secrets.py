"""No secret leaks: every CLI verb runs with VAULT_DEBUG=1 (logging at DEBUG), then every
byte it printed and every file on disk is searched for private keys, passphrases and file
keys, in every encoding they could take (raw, hex, base64, Bech32).

The only files allowed to hold a secret are the ones a user explicitly asks for: an
identity written by ``vault keygen -o`` and a recovery key written by
``vault init --recovery-out`` (both 0600), and the test's own passphrase files.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from support import run_with_tty

from vault_app.core.age import unwrap_file_key
from vault_app.core.atomic import TEMP_SUFFIX
from vault_app.core.header import read_header
from vault_app.core.keys import parse_identities
from vault_app.core.keystore import Keystore
from vault_app.core.recipients import Identity
from vault_app.core.recipients.scrypt import ScryptIdentity

VAULT = [sys.executable, "-m", "vault_app.cli"]
AGE_PASSPHRASE = b"tr0ub4dor&3 file passphrase"
KEY_PASSPHRASE = b"keyfile passphrase 9f2c"
WRONG_PASSPHRASE = b"definitely-not-it-77"


def encodings(secret: bytes) -> list[bytes]:
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode(),
             base64.b64encode(secret), base64.b64encode(secret).rstrip(b"=")]
    return [f for f in forms if len(f) >= 8]


def key_encodings(text: str) -> list[bytes]:
    return [text.encode(), text.lower().encode(), text.upper().encode()]


class Session:
    """Runs verbs with DEBUG logging and keeps everything they printed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.output = b""
        self.verbs: list[str] = []
        pw = root / "key-passphrase.txt"
        pw.write_bytes(KEY_PASSPHRASE + b"\n")
        self.env = {**os.environ, "VAULT_DEBUG": "1", "VAULT_KEY_FILE": "1",
                    "VAULT_PASSPHRASE_FILE": str(pw), "VAULT_USER": "alice",
                    "PYTHONDONTWRITEBYTECODE": "1"}

    def run(self, *args: str, ok: bool = True, tty: list[bytes] | None = None,
            env: dict[str, str] | None = None) -> bytes:
        import subprocess

        full_env = {**self.env, **(env or {})}
        if tty is not None:
            status, out, err = run_with_tty([*VAULT, *args], tty, env=full_env)
        else:
            result = subprocess.run([*VAULT, *args], capture_output=True, env=full_env,
                                    cwd=self.root, timeout=300, check=False)
            status, out, err = result.returncode, result.stdout, result.stderr
        self.output += out + err
        self.verbs.append(" ".join(args[:2]))
        assert (status == 0) == ok, (args, err.decode(errors="replace"))
        assert b"Traceback" not in err
        return out


def file_key_of(path: Path, identities: list[Identity]) -> bytes:
    with path.open("rb") as handle:
        return unwrap_file_key(read_header(handle), identities)


@pytest.mark.slow
def test_no_secret_in_output_logs_or_files(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    s = Session(work)
    data = work / "data.csv"
    data.write_bytes(b"name,score\n" + b"".join(b"p%d,%d\n" % (i, i) for i in range(20000)))

    # -- the age-compatible verbs ---------------------------------------------------------
    s.run("keygen", "-o", "ident.txt")
    identity = parse_identities((work / "ident.txt").read_text())[0]
    recipient = str(identity.recipient())  # type: ignore[attr-defined]
    s.run("encrypt", "-r", recipient, "-o", "a.age", "data.csv")
    s.run("encrypt", "-a", "-r", recipient, "-o", "a.pem.age", "data.csv")
    s.run("decrypt", "-i", "ident.txt", "-o", "a.out", "a.age")
    s.run("encrypt", "-p", "-o", str(work / "p.age"), str(data),
          tty=[AGE_PASSPHRASE, AGE_PASSPHRASE])
    s.run("decrypt", "-o", str(work / "p.out"), str(work / "p.age"), tty=[AGE_PASSPHRASE])
    s.run("decrypt", "-o", str(work / "p.bad"), str(work / "p.age"), tty=[WRONG_PASSPHRASE],
          ok=False)
    s.run("decrypt", "-i", "data.csv", "-o", "x.out", "a.age", ok=False)

    # -- the vault verbs (keys in passphrase-protected key files) --------------------------
    v = ["--vault", str(work / "vault")]
    # keys made up front with a cheap scrypt work factor, so the many runs below stay fast
    for name in ("alice", "bob"):
        Keystore(passphrase=lambda _p, _c: KEY_PASSPHRASE, use_key_file=True,
                 work_factor=10).create(name)
    s.run("init", str(work / "vault"), "--recovery-out", "recovery.txt")
    s.run("join", *v, "--user", "bob")
    fingerprint = s.run("user", "requests", *v, "--json")  # the CLI prints it; read it here
    s.run("user", "approve", "bob", "--fingerprint",
          json.loads(fingerprint)["requests"][0]["fingerprint"], *v)
    s.run("lock", "--keep", *v, "data.csv")
    locked = work / "vault" / "data.csv.age"
    s.run("ls", *v, "--json")
    s.run("share", str(locked), "--with", "bob", *v)
    s.run("unlock", str(locked), "-o", str(work / "unlocked"), *v)
    s.run("unlock", str(locked), "-o", str(work / "bob-out"), *v, "--user", "bob")
    s.run("revoke", str(locked), "--from", "bob", *v)
    s.run("export", str(locked), "--to", recipient, "-o", str(work / "exported.age"), *v)
    s.run("verify", *v)
    s.run("user", "list", *v)
    s.run("user", "show", "alice", *v)
    s.run("user", "export", "bob", "--user", "bob", "-o", str(work / "bob.keys"), *v)
    s.run("audit", "--verify", *v)
    s.run("recover", str(locked), "-i", "recovery.txt", "-o", str(work / "recovered"), *v)
    wrong = work / "wrong-passphrase.txt"
    wrong.write_bytes(WRONG_PASSPHRASE + b"\n")
    s.run("unlock", str(locked), "-o", str(work / "never"), *v, ok=False,
          env={"VAULT_PASSPHRASE_FILE": str(wrong)})
    s.run("user", "remove", "bob", *v)

    # -- every secret that existed during the session ---------------------------------------
    store = Keystore(passphrase=lambda _p, _c: KEY_PASSPHRASE, use_key_file=True)
    alice, bob = store.load("alice"), store.load("bob")
    recovery = parse_identities((work / "recovery.txt").read_text())[0]
    secrets: dict[str, list[bytes]] = {
        "age passphrase": [AGE_PASSPHRASE],
        "key-file passphrase": [KEY_PASSPHRASE],
        "wrong passphrase": [WRONG_PASSPHRASE],
        "keygen identity": key_encodings(str(identity)),
        "recovery identity": key_encodings(str(recovery)),
    }
    for who in (alice, bob):
        secrets[f"{who.name}'s identity"] = key_encodings(str(who.identity))
        secrets[f"{who.name}'s signing key"] = encodings(who.signing.private_bytes_raw())
    for name, ids in (("a.age", [identity]), ("a.pem.age", None),
                      ("p.age", [ScryptIdentity(AGE_PASSPHRASE)]),
                      ("vault/data.csv.age", [alice.identity]),
                      ("exported.age", [identity])):
        if ids is None:
            continue
        secrets[f"file key of {name}"] = encodings(file_key_of(work / name, ids))

    # -- search: everything printed, every file under the work folder and the home ------------
    allowed = {work / "ident.txt", work / "recovery.txt", work / "key-passphrase.txt",
               wrong}
    roots = [work, Path(os.environ["XDG_CONFIG_HOME"]), Path(os.environ["VAULT_DATA_HOME"])]
    files = [p for r in roots if r.exists() for p in r.rglob("*")
             if p.is_file() and not p.is_symlink()]
    assert len(files) > 20
    leaks: list[str] = []
    for label, forms in secrets.items():
        if any(f in s.output for f in forms):
            leaks.append(f"{label} in the output of the verbs")
        for path in files:
            if path in allowed:
                continue
            content = path.read_bytes()
            if any(f in content for f in forms):
                leaks.append(f"{label} in {path}")
    generic = (b"AGE-SECRET-KEY-1", b"VAULT-SIGN-SECRET-KEY-1")
    for path in files:
        if path not in allowed and any(g in path.read_bytes().upper() for g in generic):
            leaks.append(f"a private key in {path}")
    assert leaks == [], leaks

    # -- files holding secrets or plaintext are private; no temp file is left ------------------
    for path in [work / "ident.txt", work / "recovery.txt", work / "a.out", work / "p.out",
                 work / "bob.keys", *(work / "unlocked").iterdir(),
                 *(work / "recovered").iterdir(), *store.key_file("alice").parent.iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is readable by others ({oct(mode)})"
    assert not [p for p in files if p.name.endswith(TEMP_SUFFIX)]
    assert len(s.verbs) >= 25
