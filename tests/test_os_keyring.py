"""The OS keyring found without keyring's plugin scan: same entries, keyring's choice kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from vault_support import REAL_KEYRING, ask

from vault_app.core import os_keyring
from vault_app.core.keystore import Keystore


def _needs_keyring() -> None:
    if not REAL_KEYRING:
        pytest.skip("needs the real Secret Service keyring (VAULT_TEST_REAL_KEYRING)")


@pytest.mark.keyring
def test_reads_what_keyring_writes_and_nothing_else() -> None:
    _needs_keyring()
    direct = os_keyring.os_keyring()
    assert isinstance(direct, os_keyring.SecretService)
    service = "dataset-vault-test-os-keyring"
    keyring.set_password(service, "ann", "secret ännä\n")
    try:
        assert direct.get_password(service, "ann") == "secret ännä\n"
        assert direct.get_password(service, "bob") is None
        assert direct.get_password(service + "-other", "ann") is None
        direct.set_password(service, "bob", "b")  # stored by keyring's own backend
        assert keyring.get_password(service, "bob") == "b"
        direct.delete_password(service, "bob")
        assert keyring.get_password(service, "bob") is None
    finally:
        keyring.delete_password(service, "ann")


_LOAD = """
import json, sys
from vault_app.core.keystore import Keystore
keys = Keystore().load("alice")
print(json.dumps([keys.recipient, sorted(m for m in sys.modules if m.split(".")[0] in
                  ("keyring", "secretstorage", "importlib_metadata"))]))
"""


@pytest.mark.keyring
def test_loading_keys_skips_keyrings_detection() -> None:
    """A command that only reads its keys loads neither keyring nor its plugins."""
    _needs_keyring()
    keys = Keystore(passphrase=ask).create("alice")
    out = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True,
                         check=True).stdout
    recipient, loaded = json.loads(out)
    assert recipient == keys.recipient
    assert loaded == []


@pytest.mark.parametrize("setting", ["env", "config", "kde", "no-bus"])
def test_keyrings_own_choice_where_the_user_made_one(
        setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured backend, KDE (KWallet may rank first) or no session bus: keyring decides."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "GNOME")
    if setting == "env":
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    elif setting == "config":
        config = Path(tmp_path / "config" / "python_keyring")
        config.mkdir(parents=True)
        (config / "keyringrc.cfg").write_text("[backend]\n")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    elif setting == "kde":
        monkeypatch.setenv("XDG_CURRENT_DESKTOP", "KDE")
    else:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    assert not os_keyring._secret_service_is_keyrings_choice()
    sentinel = object()
    monkeypatch.setattr(keyring, "get_keyring", lambda: sentinel)
    assert os_keyring.os_keyring() is sentinel


def test_no_secret_service_on_the_bus_leaves_the_choice_to_keyring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "GNOME")
    assert os_keyring._secret_service_is_keyrings_choice()
    sentinel = object()
    monkeypatch.setattr(keyring, "get_keyring", lambda: sentinel)
    assert os_keyring.os_keyring() is sentinel
