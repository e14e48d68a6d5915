"""The keystore: real Secret Service round trips, passphrase wrapping, the no-keyring path."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from vault_support import REAL_KEYRING, TEST_PASSPHRASE, ask

from vault_app.core import age
from vault_app.core.errors import (
    BadPassphraseError,
    ErrorKind,
    KeyringUnavailableError,
    UnknownUserError,
)
from vault_app.core.keystore import Keystore, UserKeys, unwrap_text
from vault_app.core.recipients.scrypt import ScryptIdentity


def _needs_keyring() -> None:
    if not REAL_KEYRING:
        pytest.skip("needs the real Secret Service keyring (VAULT_TEST_REAL_KEYRING)")


def _secrets_in(text: str | bytes, keys: UserKeys) -> list[str]:
    data = text.decode() if isinstance(text, bytes) else text
    secret_lines = [line for line in keys.to_text().splitlines() if "SECRET-KEY" in line]
    return [line for line in secret_lines if line.split()[-1] in data]


@pytest.mark.keyring
def test_real_keyring_round_trip() -> None:
    _needs_keyring()
    store = Keystore(passphrase=ask, work_factor=10)
    assert store.keyring_available()
    assert type(store.backend).__name__ == "SecretService"  # os_keyring's reader of it
    created = store.create("alice")
    assert store.where("alice") == "keyring"
    fresh = Keystore()  # a new process would see the same entry
    loaded = fresh.load("alice")
    assert loaded.recipient == created.recipient
    assert loaded.signing_public == created.signing_public
    assert loaded.sign(b"m") == created.sign(b"m")  # Ed25519 is deterministic
    stored = keyring.get_password(store.service, "alice")
    assert stored is not None and stored.startswith("# dataset-vault user: alice")
    store.delete("alice")
    assert Keystore().where("alice") is None
    with pytest.raises(UnknownUserError):
        Keystore().load("alice")


@pytest.mark.keyring
def test_passphrase_protected_keyring_entry() -> None:
    """Two vault users on one OS account: the keyring alone does not open bob's keys."""
    _needs_keyring()
    store = Keystore(passphrase=ask, work_factor=10)
    bob = store.create("bob", protect=True)
    stored = keyring.get_password(store.service, "bob")
    assert stored is not None and stored.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert not _secrets_in(stored, bob)
    assert Keystore(passphrase=ask).load("bob").recipient == bob.recipient
    with pytest.raises(BadPassphraseError):
        Keystore(passphrase=lambda _p, _c: b"wrong").load("bob")
    with pytest.raises(BadPassphraseError):
        Keystore().load("bob")  # no way to ask


def test_no_keyring_is_a_clear_error(tmp_path: Path) -> None:
    store = Keystore(backend=keyring.backends.fail.Keyring(), passphrase=ask,
                     config_dir=tmp_path)
    assert not store.keyring_available()
    with pytest.raises(KeyringUnavailableError) as caught:
        store.create("alice")
    assert caught.value.kind is ErrorKind.KEYRING_UNAVAILABLE
    with pytest.raises(KeyringUnavailableError):
        store.load("alice")
    assert not list(tmp_path.rglob("*")), "nothing written"


def test_no_keyring_key_file_is_passphrase_protected(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback file lives in $XDG_CONFIG_HOME/dataset-vault/keys, scrypt-wrapped, 0600."""
    monkeypatch.setattr(keyring, "get_keyring", keyring.backends.fail.Keyring)
    store = Keystore(passphrase=ask, use_key_file=True, work_factor=10)
    keys = store.create("alice")
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "dataset-vault" / "keys" / "alice.age"
    assert store.key_file("alice") == path and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert not _secrets_in(raw, keys)
    assert unwrap_text(raw, TEST_PASSPHRASE) == keys.to_text()
    # with no keyring at all, loading finds the file even without --key-file
    again = Keystore(passphrase=ask).load("alice")
    assert again.recipient == keys.recipient
    with pytest.raises(BadPassphraseError):
        Keystore(passphrase=lambda _p, _c: b"nope").load("alice")


def test_export_import_round_trip(tmp_path: Path) -> None:
    source = Keystore(passphrase=ask, use_key_file=True, work_factor=10,
                      config_dir=tmp_path / "a")
    keys = source.create("carol")
    exported = source.export("carol", b"export pass")
    assert exported.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert not _secrets_in(exported, keys)
    # a standard scrypt age file whose plaintext is an age identity file
    plain = io.BytesIO()
    age.decrypt(io.BytesIO(exported), plain, [ScryptIdentity(b"export pass")])
    assert plain.getvalue().decode() == keys.to_text()
    target = Keystore(passphrase=ask, use_key_file=True, work_factor=10,
                      config_dir=tmp_path / "b")
    imported = target.import_keys(exported, b"export pass", name="carol2")
    assert imported.name == "carol2" and imported.recipient == keys.recipient
    assert target.load("carol2").signing_public == keys.signing_public
    with pytest.raises(BadPassphraseError):
        target.import_keys(exported, b"bad", name="carol3")


def test_user_keys_text_round_trip_and_repr() -> None:
    keys = UserKeys.generate("dora")
    assert "SECRET" not in repr(keys)
    again = UserKeys.from_text(keys.to_text())
    assert (again.name, again.recipient, again.signing_public) == (
        "dora", keys.recipient, keys.signing_public)
    with pytest.raises(UnknownUserError):
        UserKeys.generate("../etc/passwd")


@pytest.mark.keyring
def test_protect_and_unprotect_an_existing_entry() -> None:
    _needs_keyring()
    store = Keystore(passphrase=ask, work_factor=10)
    keys = store.create("erin")
    assert Keystore().load("erin").recipient == keys.recipient  # no passphrase needed yet
    assert store.set_protection("erin", True) == "keyring"
    with pytest.raises(BadPassphraseError):
        Keystore().load("erin")
    assert Keystore(passphrase=ask).load("erin").recipient == keys.recipient
    store.set_protection("erin", False)
    assert Keystore().load("erin").signing_public == keys.signing_public


def test_a_key_file_keystore_never_looks_for_a_keyring(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With --key-file (or VAULT_KEY_FILE) loading keys asks no keyring: where keyring
    has to search its backends, that search cost 0.3 s a command (it compiles a probe for
    the macOS backend)."""
    store = Keystore(passphrase=ask, use_key_file=True, work_factor=10, config_dir=tmp_path)
    keys = store.create("dora")

    def searched() -> None:
        raise AssertionError("a keyring backend was looked for")

    monkeypatch.setattr("vault_app.core.os_keyring.os_keyring", searched)
    again = Keystore(passphrase=ask, use_key_file=True, config_dir=tmp_path).load("dora")
    assert again.recipient == keys.recipient
