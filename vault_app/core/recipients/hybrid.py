"""The post-quantum hybrid MLKEM768-X25519 recipient type (``age1pq1…``).

HPKE (RFC 9180) with the MLKEM768-X25519 KEM, HKDF-SHA256 and ChaCha20-Poly1305,
all from ``cryptography.hazmat.primitives.hpke``. The identity is a 32-byte seed
expanded with SHAKE256 into the ML-KEM-768 seed (64 bytes) and the X25519 key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from vault_app.core.digests import shake256
from vault_app.core.encoding import b64decode, b64encode, bech32_decode, bech32_encode
from vault_app.core.errors import KeyFormatError, MalformedError
from vault_app.core.header import Stanza
from vault_app.core.recipients import _wrap

STANZA_TYPE = "mlkem768x25519"
RECIPIENT_HRP = "age1pq"
IDENTITY_HRP = "age-secret-key-pq-"
_INFO = b"age-encryption.org/mlkem768x25519"
_MLKEM_PK = 1184
_MLKEM_CT = 1088
ENC_SIZE = _MLKEM_CT + 32
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


class HybridRecipient:
    def __init__(self, public: bytes) -> None:
        if len(public) != _MLKEM_PK + 32:
            raise KeyFormatError("an ML-KEM-768 + X25519 recipient is 1216 bytes")
        try:
            self._key = hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(public[:_MLKEM_PK]),
                X25519PublicKey.from_public_bytes(public[_MLKEM_PK:]),
            )
        except ValueError as exc:
            raise KeyFormatError("invalid post-quantum recipient") from exc
        self.public = public

    @classmethod
    def parse(cls, text: str) -> HybridRecipient:
        hrp, data = bech32_decode(text)
        if hrp != RECIPIENT_HRP or text != text.lower():
            raise KeyFormatError("not a post-quantum recipient (age1pq1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode(RECIPIENT_HRP, self.public)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HybridRecipient) and other.public == self.public

    def __hash__(self) -> int:
        return hash(self.public)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        sealed = _SUITE.encrypt(file_key, self._key, info=_INFO)
        enc, body = sealed[:ENC_SIZE], sealed[ENC_SIZE:]
        return [Stanza(STANZA_TYPE, (b64encode(enc),), body)]


class HybridIdentity:
    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("a post-quantum identity is a 32-byte seed")
        expanded = shake256(seed, 96)
        self._mlkem = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
        self._x25519 = X25519PrivateKey.from_private_bytes(expanded[64:])
        self._key = hpke.MLKEM768X25519PrivateKey(self._mlkem, self._x25519)
        self._seed = seed

    @classmethod
    def generate(cls) -> HybridIdentity:
        return cls(os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> HybridIdentity:
        hrp, data = bech32_decode(text)
        if hrp != IDENTITY_HRP or text != text.upper():
            raise KeyFormatError("not a post-quantum identity (AGE-SECRET-KEY-PQ-1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32_encode(IDENTITY_HRP, self._seed, upper=True)

    def __repr__(self) -> str:
        return "HybridIdentity(…)"

    def recipient(self) -> HybridRecipient:
        return HybridRecipient(
            self._mlkem.public_key().public_bytes_raw()
            + self._x25519.public_key().public_bytes_raw()
        )

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != STANZA_TYPE:
                continue
            if len(stanza.args) != 1:
                raise MalformedError("an mlkem768x25519 stanza must have exactly one argument")
            enc = b64decode(stanza.args[0])
            if len(enc) != ENC_SIZE:
                raise MalformedError("an mlkem768x25519 stanza share has the wrong length")
            if len(stanza.body) != _wrap.WRAPPED_SIZE:
                raise MalformedError("an mlkem768x25519 stanza body has the wrong length")
            try:
                shared = self._x25519.exchange(X25519PublicKey.from_public_bytes(enc[_MLKEM_CT:]))
            except ValueError as exc:
                raise MalformedError("an mlkem768x25519 stanza uses a low-order point") from exc
            if shared == bytes(32):
                raise MalformedError("an mlkem768x25519 stanza uses a low-order point")
            try:
                return _SUITE.decrypt(enc + stanza.body, self._key, info=_INFO)
            except (InvalidTag, ValueError):  # not addressed to this identity
                continue
        return None
