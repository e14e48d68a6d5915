"""Helpers for the vault tests: a keystore on the real keyring when CI provides one.

With ``VAULT_TEST_REAL_KEYRING`` set (CI, and `.ci/run-tests`) keys go to the real
Secret Service; otherwise to the real passphrase-protected key-file backend, with a
cheap scrypt work factor so the tests stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path

from vault_app.core.keystore import Keystore
from vault_app.core.vault import Vault

REAL_KEYRING = bool(os.environ.get("VAULT_TEST_REAL_KEYRING"))
TEST_PASSPHRASE = b"correct horse battery staple"


def ask(_prompt: str, _confirm: bool) -> bytes:
    return TEST_PASSPHRASE


def make_keystore() -> Keystore:
    if REAL_KEYRING:
        return Keystore(passphrase=ask, work_factor=10)
    return Keystore(passphrase=ask, use_key_file=True, work_factor=10)


def team(root: Path, *names: str, keystore: Keystore | None = None) -> dict[str, Vault]:
    """A vault whose first admin is ``names[0]``, with the others as members."""
    keystore = keystore or make_keystore()
    admin, _recovery = Vault.init(root, user=names[0], keystore=keystore)
    for name in names[1:]:
        keys = keystore.create(name)
        admin.add_member(name, keys.recipient, keys.signing_public)
    return {name: (admin if name == names[0] else Vault.open(root, user=name, keystore=keystore))
            for name in names}


from support import run_vault  # noqa: E402,F401 - re-exported for vault tests
