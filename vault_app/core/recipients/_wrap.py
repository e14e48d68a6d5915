"""Shared file-key wrapping: ChaCha20-Poly1305 with a zero nonce under a one-time key."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault_app.core.errors import MalformedError

_ZERO_NONCE = bytes(12)
WRAPPED_SIZE = 32  # 16-byte file key + 16-byte tag


def seal(wrap_key: bytes, file_key: bytes) -> bytes:
    return ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)


def open_(wrap_key: bytes, body: bytes) -> bytes | None:
    """Unwrap; None when the tag fails (not this identity)."""
    if len(body) != WRAPPED_SIZE:
        raise MalformedError("a recipient stanza body has the wrong length")
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None
