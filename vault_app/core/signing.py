"""Ed25519 signatures as the vault makes them: the one place that encodes, signs and checks.

The vault config, member entries, ACL records and audit records are all signed alike: a
domain-separation prefix plus canonical JSON, an Ed25519 signature in base64, the signer's
public key as Bech32 ``vaultsig1…``. Kept here, and only here, so a change to how things
are signed (another key type, another encoding) is made once, and so the modules that
check signatures (acl, members, audit) need neither the keyring nor the age recipe.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault_app.core.encoding import bech32_decode, bech32_encode
from vault_app.core.errors import KeyFormatError

SIGN_PUBLIC_HRP = "vaultsig"

#: Where "now" comes from; injectable so signed timestamps can be fixed.
Clock = Callable[[], dt.datetime]


class Signer(Protocol):
    """Whoever signs: a member name and the matching Ed25519 key (``keystore.UserKeys``)."""

    @property
    def name(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


def canonical(data: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no spaces, ASCII only (strings, ints, bools, lists)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("malformed base64 signature") from None


def now_iso(clock: Clock | None = None) -> str:
    """The time stamp every signed record carries (UTC, whole seconds)."""
    now = clock() if clock else dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(signer: Signer, message: bytes) -> str:
    """``message`` signed by ``signer``, base64 (as every signature field holds it)."""
    return b64(signer.sign(message))


def encode_signing_public(key: Ed25519PublicKey) -> str:
    return bech32_encode(SIGN_PUBLIC_HRP, key.public_bytes_raw())


@functools.lru_cache(maxsize=1024)
def parse_signing_public(text: str) -> Ed25519PublicKey:
    """Parsed once per key: a listing checks every file's signatures against the same few
    members' keys, and Bech32 decoding (in Python) cost as much as the Ed25519 check."""
    hrp, data = bech32_decode(text.strip())
    if hrp != SIGN_PUBLIC_HRP or len(data) != 32:
        raise KeyFormatError("not a signing public key (vaultsig1…)")
    return Ed25519PublicKey.from_public_bytes(data)


def verify(key: str | Ed25519PublicKey, signature: object, message: bytes) -> bool:
    """Whether ``signature`` (base64 text) is ``key``'s over ``message``. Never raises:
    a malformed key or signature, or one of the wrong type, is simply not valid."""
    if not isinstance(signature, str):
        return False
    try:
        public = key if isinstance(key, Ed25519PublicKey) else parse_signing_public(key)
        public.verify(unb64(signature), message)
    except (InvalidSignature, KeyFormatError, ValueError):
        return False
    return True
