"""Which vault a folder is: pinned on first use, by its id and by its path.

The vault config is signed by the first admin, and names that admin's key; someone who
can write the folder can rebuild ``.vault/`` around a new id and their own key (keeping
the real recovery recipient, say), and a client that trusted whatever it found would
share the next file with them. So each account remembers, in its own config folder:

* for every vault id, its first admin's key (a changed key under a known id is refused);
* for every folder path it opened, the vault id and first admin's key found there (a
  different vault at a known path is refused, loudly: the metadata was replaced).

A vault seen for the first time is reported as such, with its first admin's name and key
fingerprint, so a person can compare it with that admin (trust on first use). Vaults
inside vaults are refused: a ``.vault/`` planted in a subfolder would otherwise become
"the vault" of the files below it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from vault_app.core import safe_json
from vault_app.core.atomic import atomic_output
from vault_app.core.digests import sha256_hex
from vault_app.core.errors import ConflictError, ErrorKind, NotAVaultError, Remedy, VaultError
from vault_app.core.layout import CONFIG, META
from vault_app.core.value_class import value_class

_PINS = "known-vaults.json"


@value_class
class FirstUse:
    """A vault this account had not opened before: what to compare with its admin."""

    path: Path
    vault_id: str
    root_admin: str
    fingerprint: str

    def message(self) -> str:
        return (f"first use of the vault at {self.path}: its first admin is "
                f"{self.root_admin}, signing key fingerprint {self.fingerprint}; compare "
                f"it with {self.root_admin} before you trust it")


def key_fingerprint(signing_key: str) -> str:
    """A short digest of a signing public key, to read out and compare."""
    digest = sha256_hex(signing_key.encode())
    return ":".join(digest[i:i + 4] for i in range(0, 16, 4))


def _load(path: Path) -> dict[str, Any]:
    try:
        data = safe_json.loads(path.read_bytes(), what=str(path), max_bytes=16 << 20)
    except (OSError, VaultError):
        return {}
    return data if isinstance(data, dict) else {}


def pin(config: dict[str, Any], root: Path, config_dir: Path) -> FirstUse | None:
    """Check the vault at ``root`` against what this account pinned; pin it if new.

    Raises ``ConflictError`` if its id or first admin's key differs from what was pinned
    for this id or this folder. Returns a ``FirstUse`` the first time a vault is seen.
    """
    pins_path = config_dir / _PINS
    pins = _load(pins_path)
    by_id: dict[str, Any] = pins["by_id"] if isinstance(pins.get("by_id"), dict) else {
        k: v for k, v in pins.items() if isinstance(v, str)}  # the first format: id -> key
    by_path: dict[str, Any] = pins["by_path"] if isinstance(pins.get("by_path"),
                                                             dict) else {}
    vault_id, key = str(config["vault_id"]), str(config["root_signing_key"])
    where = os.path.realpath(root)
    known_key = by_id.get(vault_id)
    if known_key is not None and known_key != key:
        raise ConflictError(
            f"{root}: this vault's first-admin key changed since you last used it (it was "
            f"{key_fingerprint(known_key)}, now {key_fingerprint(key)}): someone replaced "
            "the vault's metadata", hint="do not trust it; ask the vault's admin")
    known_here = by_path.get(where)
    if isinstance(known_here, dict) and (known_here.get("vault_id"), known_here.get("key")) \
            != (vault_id, key):
        raise ConflictError(
            f"{root}: this is not the vault you used in this folder before (it had vault id "
            f"{known_here.get('vault_id')} with first-admin key "
            f"{key_fingerprint(str(known_here.get('key')))}; it now claims id {vault_id} "
            f"with key {key_fingerprint(key)}): its metadata was replaced",
            hint="do not trust it", remedy=Remedy.FORGET_VAULT)
    if known_key is not None and known_here is not None:
        return None
    by_id[vault_id], by_path[where] = key, {"vault_id": vault_id, "key": key}
    with contextlib.suppress(OSError, VaultError):
        pins_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with atomic_output(pins_path, overwrite=True) as out:
            out.write(json.dumps({"by_id": by_id, "by_path": by_path}, indent=2).encode())
    if known_key is not None:
        return None  # the same vault reached by another path: nothing new to compare
    return FirstUse(root, vault_id, str(config["root_admin"]), key_fingerprint(key))


def forget(root: Path, config_dir: Path) -> bool:
    """Drop the pin of the folder ``root`` (a vault really made again there)."""
    pins_path = config_dir / _PINS
    pins = _load(pins_path)
    by_path = pins.get("by_path")
    if not isinstance(by_path, dict) or by_path.pop(os.path.realpath(root), None) is None:
        return False
    pins["by_path"] = by_path
    with atomic_output(pins_path, overwrite=True) as out:
        out.write(json.dumps(pins, indent=2).encode())
    return True


def _is_vault(folder: Path) -> bool:
    return os.path.lexists(folder / META)


def find_vault(start: Path | str) -> Path | None:
    """The vault at or above ``start``; refused if another vault sits above it."""
    here = Path(os.path.abspath(start))
    found = [f for f in (here, *here.parents) if (f / META / CONFIG).is_file()]
    if len(found) > 1:
        raise nested(found[0], found[1])
    return found[0] if found else None


def nested(inner: Path, outer: Path) -> NotAVaultError:
    return NotAVaultError(
        f"{inner}: is a vault inside the vault at {outer}; vaults inside vaults are "
        "refused (one may have been planted to capture the files below it)",
        kind=ErrorKind.CONFLICT,
        hint=f"use the vault at {outer}, and tell its admin about {inner / META}")


def check_not_nested(root: Path) -> None:
    """Refuse a vault (to be made or opened) at ``root`` inside another vault."""
    for folder in Path(os.path.abspath(root)).parents:
        if _is_vault(folder) and (folder / META / CONFIG).is_file():
            raise nested(root, folder)
