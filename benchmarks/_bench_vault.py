"""Keys and a small team for the benchmark scripts (imported by child processes too,
so it imports nothing heavy at module level: start-up figures stay clean)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def bench_keystore(config: Path) -> Any:
    """The real passphrase-protected key-file keystore, with a cheap scrypt work factor
    so that unwrapping keys once does not dominate a figure."""
    from vault_app.core.keystore import Keystore

    return Keystore(config_dir=config, passphrase=lambda _p, _c: b"bench", use_key_file=True,
                    work_factor=10)


def bench_team(work: Path) -> tuple[Any, Any]:
    """A vault at ``work/vault`` administered by alice, with bob as a member:
    (the vault as alice, the keystore holding both)."""
    from vault_app.core.vault import Vault

    keystore = bench_keystore(work / "config")
    vault, _recovery = Vault.init(work / "vault", user="alice", keystore=keystore)
    bob = keystore.create("bob")
    vault.add_member("bob", bob.recipient, bob.signing_public)
    return vault, keystore
