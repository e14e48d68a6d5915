"""Run commands as another real OS account, in that user's own D-Bus session and keyring.

Each call is a fresh login-like environment: ``runuser`` to the user, an empty environment
but for HOME/USER/PATH (the team venv first) and a private XDG_RUNTIME_DIR, a new D-Bus
session whose gnome-keyring is unlocked with the user's keyring password ("pw", set by
.ci/team-setup), and the umask asked for. The keyring persists in the user's home between
calls, as a real login keyring does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

TEAM = Path(os.environ.get("VAULT_TEAM_HOME", "/opt/dataset-vault-team"))
VENV_BIN = TEAM / "venv" / "bin"
USERS = ("alice", "bob", "carol")
GROUP = "analysts"

_INNER = ('printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; '
          'umask "$0"; cd "$1" || exit 99; shift; exec "$@"')


def ready() -> str | None:
    """Why the team tests cannot run here (None if they can)."""
    if os.geteuid() != 0:
        return "the team tests run as root (they switch to alice, bob and carol)"
    if not (VENV_BIN / "vault").exists():
        return f"no team venv at {TEAM} (run: bash .ci/team-setup)"
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"no OS user {user} (run: bash .ci/team-setup)"
    return None


def runtime_dir(user: str) -> Path:
    """A fresh XDG_RUNTIME_DIR for one session: a keyring daemon left from an earlier
    session must not answer for this one (its D-Bus session is gone)."""
    entry = pwd.getpwnam(user)
    folder = Path(tempfile.mkdtemp(prefix=f"vault-team-run-{user}-"))
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    return folder


def run_as(user: str, *argv: str, umask: str = "002", cwd: Path | str | None = None,
           input: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 180) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(user)
    runtime = runtime_dir(user)
    base = {
        "HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "XDG_RUNTIME_DIR": str(runtime),
        **(env or {}),
    }
    command = ["runuser", "-u", user, "--", "env", "-i",
               *(f"{k}={v}" for k, v in base.items()),
               "dbus-run-session", "--", "sh", "-c", _INNER, umask,
               str(cwd or entry.pw_dir), *argv]
    try:
        return subprocess.run(command, input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)
    finally:  # the keyring daemon outlives its D-Bus session: stop it (calls are serial)
        subprocess.run(["pkill", "-u", user, "-x", "gnome-keyring-d"], check=False)
        shutil.rmtree(runtime, ignore_errors=True)


def vault(user: str, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The real ``vault`` command line, as ``user``."""
    return run_as(user, "vault", *args, **kwargs)  # type: ignore[arg-type]
