"""Keys unlocked once per process, for the analyst's entry points (``vault_app.open``,
``vault://`` paths).

Every open used to build a new keystore and vault: with a passphrase-protected key file
that meant one scrypt unlock (about 1 s) and one prompt per file read. A ``KeySession``
keeps each opened vault, and with it the acting user's checked keys, for the life of
the process (or until :meth:`KeySession.close`), so a notebook asks once and a dask
worker unlocks once. It holds keys in memory only; nothing is written.

Where the passphrase comes from is the caller's choice (``ask``); this module only
makes sure it is asked for once, even when several threads open files at the same time.

It also remembers which files had their signed content checked (the whole-payload
digest, one read of the file): pyarrow opens a Parquet file twice per read, and a
notebook reads the same file again and again; an unchanged file is not hashed again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.core.errors import NotAVaultError
from vault_app.core.keystore import Keystore, PassphraseFn
from vault_app.core.session import default_user

if TYPE_CHECKING:
    from vault_app.core.vault import Vault


class KeySession:
    """Opened vaults and their users' keys, shared by every open in this process.

    ``user`` is the default acting user (else ``VAULT_USER`` or the login name); ``ask``
    gives a passphrase for protected keys (None: protected keys cannot be opened).
    """

    def __init__(self, *, user: str | None = None, ask: PassphraseFn | None = None,
                 keystore: Keystore | None = None) -> None:
        self.user = user
        self._ask = ask
        self._given = keystore
        # one keystore per keyring service and config folder (both come from the
        # environment, which a test or a script may change between opens)
        self._keystores: dict[tuple[str, Path], Keystore] = {}
        self._vaults: dict[tuple[Path, str], Vault] = {}
        self._verified: dict[Path, tuple[int, ...]] = {}
        self._lock = threading.Lock()
        self.closed = False

    def vault_for(self, path: Path | str, *, vault: os.PathLike[str] | str | None = None,
                  user: str | None = None) -> Vault:
        """The vault holding ``path`` (or ``vault``), opened as ``user``, keys unlocked.

        The first call for a vault and user opens it and unlocks the keys (one prompt,
        one scrypt with a key file); later calls, from any thread, reuse them.
        """
        from vault_app.core.vault import Vault  # the vault code loads only when used

        path = Path(path).absolute()
        root = Path(vault).absolute() if vault is not None else Vault.find(path.parent)
        if root is None:
            raise NotAVaultError(
                f"{path}: is not inside a vault",
                hint="pass vault=DIR, or identities= / identity_file= to read a plain age file")
        name = user or self.user or default_user()
        with self._lock:
            if self.closed:
                raise ValueError("the key session is closed")
            opened = self._vaults.get((root, name))
            if opened is None:
                opened = Vault.open(root, user=name, keystore=self._keystore())
                opened.keys()  # here, under the lock: one prompt, whatever the threads
                self._vaults[(root, name)] = opened
            return opened

    def verified(self, locked: Path, stamp: tuple[int, ...]) -> bool:
        """Whether ``locked``, as ``stamp`` (:func:`file_stamp`) describes it, had its
        signed content checked in this session: a rewrite or replacement changes the
        stamp (the inode, or the change time, which no user can set), so it is checked
        again."""
        with self._lock:
            return self._verified.get(locked) == stamp

    def remember_verified(self, locked: Path, stamp: tuple[int, ...]) -> None:
        with self._lock:
            self._verified[locked] = stamp

    def close(self) -> None:
        """Forget every opened vault and key; later opens raise ``ValueError``."""
        with self._lock:
            self.closed = True
            self._vaults.clear()  # the vaults hold the checked keys, the keystores the rest
            self._verified.clear()
            self._keystores.clear()
            self._given = None

    def _keystore(self) -> Keystore:
        if self._given is not None:
            return self._given
        probe = Keystore(passphrase=self._ask)
        return self._keystores.setdefault((probe.service, probe.config_dir), probe)

    def __enter__(self) -> KeySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_stamp(path: Path) -> tuple[int, ...] | None:
    """What identifies one version of a file: device, inode, size, modification and
    change times (None if it cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
