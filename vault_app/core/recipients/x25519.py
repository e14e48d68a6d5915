"""The native X25519 recipient type (``age1…`` / ``AGE-SECRET-KEY-1…``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from vault_app.core.encoding import b64decode, b64encode, bech32_decode, bech32_encode
from vault_app.core.errors import KeyFormatError, MalformedError
from vault_app.core.header import Stanza
from vault_app.core.kdf import hkdf_sha256
from vault_app.core.recipients import _wrap

STANZA_TYPE = "X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"
_INFO = b"age-encryption.org/v1/X25519"


def _key_constructors() -> tuple[Callable[[], X25519PrivateKey],
                                 Callable[[bytes], X25519PrivateKey],
                                 Callable[[bytes], X25519PublicKey]]:
    """``generate``, ``from_private_bytes`` and ``from_public_bytes``.

    cryptography's public constructors first ask its OpenSSL backend whether X25519 is
    supported, and importing that backend (with RSA, EC, padding and ``random``) costs
    about 10 ms of every ``vault`` command that wraps or unwraps a key; then they call
    the Rust functions below, which need no such check (X25519 is in every library
    cryptography builds with, and they raise if it were not). So those functions are
    called directly where cryptography has them, else (another version's layout) the
    public constructors."""
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        found = rust_openssl.x25519
        return found.generate_key, found.from_private_bytes, found.from_public_bytes
    except (ImportError, AttributeError):
        return (X25519PrivateKey.generate, X25519PrivateKey.from_private_bytes,
                X25519PublicKey.from_public_bytes)


_generate, _private_from_bytes, _public_from_bytes = _key_constructors()


def _public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def _exchange(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        shared = private.exchange(_public_from_bytes(public))
    except ValueError as exc:  # all-zero output: a low-order point
        raise MalformedError("an X25519 stanza uses a low-order point") from exc
    if shared == bytes(32):
        raise MalformedError("an X25519 stanza uses a low-order point")
    return shared


class X25519Recipient:
    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise KeyFormatError("an X25519 recipient is 32 bytes")
        self.public = public

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        hrp, data = bech32_decode(text)
        if hrp != RECIPIENT_HRP or text != text.lower():
            raise KeyFormatError("not an X25519 recipient (age1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode(RECIPIENT_HRP, self.public)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other.public == self.public

    def __hash__(self) -> int:
        return hash(self.public)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = _generate()
        share = _public_bytes(ephemeral.public_key())
        shared = _exchange(ephemeral, self.public)
        wrap_key = hkdf_sha256(shared, share + self.public, _INFO)
        return [Stanza(STANZA_TYPE, (b64encode(share),), _wrap.seal(wrap_key, file_key))]


class X25519Identity:
    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise KeyFormatError("an X25519 identity is 32 bytes")
        self._key = _private_from_bytes(secret)
        self._secret = secret

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(_generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        hrp, data = bech32_decode(text)
        if hrp != IDENTITY_HRP or text != text.upper():
            raise KeyFormatError("not an X25519 identity (AGE-SECRET-KEY-1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode(IDENTITY_HRP, self._secret, upper=True)

    def __repr__(self) -> str:
        return f"X25519Identity({self.recipient()})"

    def recipient(self) -> X25519Recipient:
        return X25519Recipient(_public_bytes(self._key.public_key()))

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        ours = _public_bytes(self._key.public_key())
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanza.args) != 1:
                raise MalformedError("an X25519 stanza must have exactly one argument")
            share = b64decode(stanza.args[0])
            if len(share) != 32:
                raise MalformedError("an X25519 stanza share must be 32 bytes")
            if len(stanza.body) != _wrap.WRAPPED_SIZE:
                raise MalformedError("an X25519 stanza body has the wrong length")
            shared = _exchange(self._key, share)
            file_key = _wrap.open_(hkdf_sha256(shared, share + ours, _INFO), stanza.body)
            if file_key is not None:
                return file_key
        return None
