"""Private keys of local users: the OS keyring, or a passphrase-protected key file.

A user's keys are one *identity text*: an age identity file whose comment lines also
carry the Ed25519 signing key, so the same text works with ``age -d -i``. It is kept
under service ``dataset-vault`` (``VAULT_KEYRING_SERVICE`` overrides it), username = the
user's name, either as is or passphrase-wrapped (an armored scrypt age file) so that
one OS account can hold several vault users who cannot open each other's keys. With no
usable keyring the keys live in ``<user config dir>/dataset-vault/keys/<name>.age``,
always passphrase-wrapped.
No private key is ever written to disk in plaintext, logged, or put in an error.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault_app.core import age
from vault_app.core.atomic import atomic_output, describe_os_error
from vault_app.core.encoding import bech32_decode, bech32_encode
from vault_app.core.errors import (
    BadPassphraseError,
    ErrorKind,
    KeyFormatError,
    KeyringUnavailableError,
    Remedy,
    UnknownUserError,
    VaultError,
)
from vault_app.core.keys import (
    DEFAULT_WORK_FACTOR,
    KeyPair,
    generate_identity,
    parse_identities,
    passphrase_identity,
    passphrase_recipient,
)
from vault_app.core.layout import check_name
from vault_app.core.signing import encode_signing_public
from vault_app.core.value_class import value_class

SERVICE = "dataset-vault"
APP_DIR = "dataset-vault"
SIGN_SECRET_HRP = "vault-sign-secret-key-"  # noqa: S105 (a label)
_USER_LINE = "# dataset-vault user: "
_SIGN_SECRET_LINE = "# signing secret key: "  # noqa: S105 (a label)
_WRAPPED_PREFIX = "-----BEGIN AGE ENCRYPTED FILE-----"

#: Asks for a passphrase: ``(prompt, confirm) -> passphrase``. Raise to refuse.
PassphraseFn = Callable[[str, bool], bytes]


@value_class
class UserKeys:
    """One user's private keys: an age identity and an Ed25519 signing key."""

    name: str
    identity: KeyPair
    signing: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"UserKeys({self.name!r}, {self.recipient})"

    @property
    def recipient(self) -> str:
        return str(self.identity.recipient())

    @property
    def signing_public(self) -> str:
        return encode_signing_public(self.signing.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.signing.sign(message)

    @classmethod
    def generate(cls, name: str, *, post_quantum: bool = False) -> UserKeys:
        return cls(check_name(name), generate_identity(post_quantum=post_quantum),
                   Ed25519PrivateKey.generate())

    def to_text(self) -> str:
        """The identity text (secret!): an age identity file with the signing key in comments."""
        secret = bech32_encode(SIGN_SECRET_HRP, self.signing.private_bytes_raw(), upper=True)
        return (f"{_USER_LINE}{self.name}\n"
                f"# public key: {self.recipient}\n"
                f"# signing public key: {self.signing_public}\n"
                f"{_SIGN_SECRET_LINE}{secret}\n"
                f"{self.identity}\n")

    @classmethod
    def from_text(cls, text: str, *, name: str | None = None) -> UserKeys:
        found_name = name
        signing: Ed25519PrivateKey | None = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(_USER_LINE) and found_name is None:
                found_name = line[len(_USER_LINE):].strip()
            elif line.startswith(_SIGN_SECRET_LINE):
                hrp, data = bech32_decode(line[len(_SIGN_SECRET_LINE):].strip())
                if hrp != SIGN_SECRET_HRP or len(data) != 32:
                    raise KeyFormatError("the signing secret key is malformed")
                signing = Ed25519PrivateKey.from_private_bytes(data)
        identities = parse_identities(text)
        if signing is None or found_name is None or len(identities) != 1:
            raise KeyFormatError(
                "not a Dataset Vault key file (it needs a user name, one age identity "
                "and a signing key)",
                remedy=Remedy.USE_EXPORTED_KEY_FILE,
            )
        identity = identities[0]
        assert isinstance(identity, KeyPair)
        return cls(check_name(found_name), identity, signing)


def wrap_text(text: str, passphrase: bytes, work_factor: int = DEFAULT_WORK_FACTOR) -> str:
    """Passphrase-encrypt ``text`` into an armored age (scrypt) file."""
    out = io.BytesIO()
    age.encrypt(io.BytesIO(text.encode()), out, [passphrase_recipient(passphrase, work_factor)],
                armor=True)
    return out.getvalue().decode("ascii")


def unwrap_text(data: str | bytes, passphrase: bytes) -> str:
    raw = data.encode("ascii") if isinstance(data, str) else data
    out = io.BytesIO()
    age.decrypt(io.BytesIO(raw), out, [passphrase_identity(passphrase)])
    return out.getvalue().decode("utf-8")


def default_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/dataset-vault`` on Linux (platformdirs elsewhere)."""
    if sys.platform.startswith("linux"):  # as platformdirs, without its 5 ms import
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(base) / APP_DIR
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_DIR, appauthor=False))


class Keystore:
    """Stores and loads users' private keys; caches what it has opened in memory only."""

    def __init__(self, *, backend: Any = None, config_dir: Path | None = None,
                 passphrase: PassphraseFn | None = None, use_key_file: bool = False,
                 work_factor: int = DEFAULT_WORK_FACTOR, service: str | None = None) -> None:
        self._backend = backend
        self.service = service or os.environ.get("VAULT_KEYRING_SERVICE") or SERVICE
        self.config_dir = config_dir or default_config_dir()
        self._ask = passphrase
        self.use_key_file = use_key_file
        self.work_factor = work_factor
        self._cache: dict[str, UserKeys] = {}

    # -- backends ---------------------------------------------------------------------------

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from vault_app.core.os_keyring import os_keyring  # on first use: it talks D-Bus

            self._backend = os_keyring()
        return self._backend

    def keyring_available(self) -> bool:
        # Only keyring's own detection returns its "fail" backend, and then keyring is
        # loaded: no import of keyring just to ask.
        backend = self.backend
        fail = sys.modules.get("keyring.backends.fail")
        return fail is None or not isinstance(backend, fail.Keyring)

    def _keyring_call(self, what: str, call: Callable[[], Any]) -> Any:
        if not self.keyring_available():
            raise KeyringUnavailableError("no usable OS keyring was found")
        try:
            return call()
        except VaultError:
            raise
        except Exception as exc:
            mapped = _keyring_error(exc, what)
            if mapped is None:
                raise
            raise mapped from None

    def _get(self, name: str) -> Any:
        return self.backend.get_password(self.service, name)

    def key_file(self, name: str) -> Path:
        return self.config_dir / "keys" / f"{check_name(name)}.age"

    def _passphrase(self, prompt: str, confirm: bool = False) -> bytes:
        if self._ask is None:
            raise BadPassphraseError(
                "a passphrase is needed to open these keys, and none can be asked for",
                kind=ErrorKind.USAGE, remedy=Remedy.SUPPLY_PASSPHRASE)
        return self._ask(prompt, confirm)

    # -- queries ----------------------------------------------------------------------------

    def where(self, name: str) -> str | None:
        """``"keyring"``, ``"file"`` or None: where ``name``'s keys are kept."""
        check_name(name)
        if self.keyring_available():
            try:
                if self._keyring_call("read", lambda: self._get(name)):
                    return "keyring"
            except KeyringUnavailableError:
                if not self.key_file(name).exists():
                    raise
        return "file" if self.key_file(name).exists() else None

    def exists(self, name: str) -> bool:
        return name in self._cache or self.where(name) is not None

    def load(self, name: str) -> UserKeys:
        check_name(name)
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        stored = self._read_stored(name)
        if stored.startswith(_WRAPPED_PREFIX):
            text = unwrap_text(stored, self._passphrase(f"Passphrase for {name}'s keys: "))
        else:
            text = stored
        keys = UserKeys.from_text(text, name=name)
        self._cache[name] = keys
        return keys

    def _read_stored(self, name: str) -> str:
        path = self.key_file(name)
        keyring_error: KeyringUnavailableError | None = None
        if not self.use_key_file and self.keyring_available():  # no backend search
            try:
                value = self._keyring_call("read",
                                           lambda: self.backend.get_password(self.service, name))
            except KeyringUnavailableError as exc:
                keyring_error = exc
            else:
                if value:
                    return str(value)
        if path.exists():
            try:
                return path.read_text("ascii")
            except (OSError, UnicodeDecodeError) as exc:
                if isinstance(exc, OSError):
                    raise describe_os_error(exc, path) from None
                raise KeyFormatError(f"{path}: not a key file") from None
        if keyring_error is not None:
            raise keyring_error
        if not self.keyring_available():
            raise KeyringUnavailableError(
                f"no usable OS keyring, and no key file for {name!r} at {path}")
        raise UnknownUserError(f"no keys for user {name!r} in this account's keyring",
                               remedy=Remedy.CREATE_OR_IMPORT_KEYS)

    # -- changes ----------------------------------------------------------------------------

    def create(self, name: str, *, post_quantum: bool = False, protect: bool = False) -> UserKeys:
        keys = UserKeys.generate(name, post_quantum=post_quantum)
        self.save(keys, protect=protect)
        return keys

    def save(self, keys: UserKeys, *, protect: bool = False, overwrite: bool = False) -> str:
        """Store ``keys``; returns where (``keyring`` or ``file``). Never clobbers silently."""
        name = keys.name
        if not overwrite and self.where(name) is not None:
            raise VaultError(f"keys for user {name!r} already exist here",
                             kind=ErrorKind.EXISTS, remedy=Remedy.RENAME_OR_REPLACE_KEYS)
        to_file = self.use_key_file or not self.keyring_available()
        if to_file and not self.use_key_file:
            raise KeyringUnavailableError(
                "no usable OS keyring was found to keep the new keys in")
        text = keys.to_text()
        if to_file or protect:
            passphrase = self._passphrase(f"New passphrase for {name}'s keys: ", True)
            text = wrap_text(text, passphrase, self.work_factor)
        if to_file:
            path = self.key_file(name)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with atomic_output(path, overwrite=overwrite) as out:
                out.write(text.encode("ascii"))
            where = "file"
        else:
            stored = text
            self._keyring_call("store",
                               lambda: self.backend.set_password(self.service, name, stored))
            where = "keyring"
        self._cache[name] = keys
        return where

    def set_protection(self, name: str, protect: bool) -> str:
        """Add or remove the passphrase on a keyring entry (key files always keep one)."""
        keys = self.load(name)
        where = self.where(name)
        if where == "file" and not protect:
            raise VaultError("a key file is always passphrase-protected", kind=ErrorKind.USAGE,
                             hint="move the keys into a keyring first (export, then import)")
        return self.save(keys, protect=protect, overwrite=True)

    def delete(self, name: str) -> None:
        import keyring.errors

        self._cache.pop(name, None)
        removed = False
        if self.keyring_available():
            try:
                self._keyring_call("delete",
                                   lambda: self.backend.delete_password(self.service, name))
                removed = True
            except keyring.errors.PasswordDeleteError:
                pass
        path = self.key_file(name)
        if path.exists():
            path.unlink()
            removed = True
        if not removed:
            raise UnknownUserError(f"no keys for user {name!r} here")

    def export(self, name: str, passphrase: bytes) -> bytes:
        """An armored scrypt age file whose plaintext is the identity text (``age -d -i``)."""
        return wrap_text(self.load(name).to_text(), passphrase, self.work_factor).encode()

    def import_keys(self, data: bytes, passphrase: bytes | None, *, name: str | None = None,
                    protect: bool = False, overwrite: bool = False) -> UserKeys:
        text = data.decode("utf-8", "replace")
        if text.lstrip().startswith((_WRAPPED_PREFIX, "age-encryption.org/")):
            if passphrase is None:
                passphrase = self._passphrase("Passphrase of the exported keys: ")
            text = unwrap_text(data, passphrase)
        keys = UserKeys.from_text(text)
        if name is not None:
            keys = UserKeys(check_name(name), keys.identity, keys.signing)
        self.save(keys, protect=protect, overwrite=overwrite)
        return keys


def _keyring_error(exc: Exception, what: str) -> KeyringUnavailableError | None:
    """What a keyring backend's failure means to the user; None: raise it as it is.
    (``keyring`` is loaded whenever its errors can occur: no import just to compare.)"""
    errors = sys.modules.get("keyring.errors")
    if errors is not None and isinstance(exc, errors.KeyringLocked):
        return KeyringUnavailableError("the OS keyring is locked")
    if errors is not None and isinstance(exc, errors.PasswordDeleteError):
        return None
    if isinstance(exc, OSError) or (errors is not None and isinstance(exc, errors.KeyringError)):
        return KeyringUnavailableError(f"the OS keyring could not {what} ({type(exc).__name__})")
    return None


def passphrase_from_env() -> PassphraseFn | None:
    """``VAULT_PASSPHRASE_FILE``: a file whose first line is the passphrase (for batch jobs)."""
    path = os.environ.get("VAULT_PASSPHRASE_FILE")
    if not path:
        return None

    def read(_prompt: str, _confirm: bool) -> bytes:
        try:
            first = Path(path).read_bytes().splitlines()
        except OSError as exc:
            raise describe_os_error(exc, path) from None
        if not first or not first[0]:
            raise BadPassphraseError("the passphrase file is empty")
        return first[0]

    return read
