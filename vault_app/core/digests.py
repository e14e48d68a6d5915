"""SHA-256, SHAKE256 and HMAC-SHA-256, all from ``cryptography``.

Why not ``hashlib`` and ``hmac``: PRODUCT.md decides that all cryptography comes from
``cryptography`` (HMAC included), and importing ``hashlib`` loads a second copy of
OpenSSL (the system's ``libcrypto``, beside the one ``cryptography`` carries): 7 ms of
every command's start-up on the machine the benchmarks run on. ``cryptography``'s
SHA-256 is as fast (the same SHA extensions) and releases the GIL while it hashes, so the
pipeline's workers hash segments side by side.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac

Buffer = bytes | bytearray | memoryview


class Sha256:
    """A running SHA-256 (the part of ``hashlib.sha256()`` the vault uses): ``update``
    any number of times, ``digest``/``hexdigest`` at any point (the state is kept)."""

    __slots__ = ("_hash",)

    def __init__(self, data: Buffer = b"") -> None:
        self._hash = hashes.Hash(hashes.SHA256())
        if data:
            self._hash.update(data)

    def update(self, data: Buffer, /) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()


def sha256(data: Buffer = b"") -> Sha256:
    return Sha256(data)


def sha256_hex(data: Buffer) -> str:
    """The hex SHA-256 of ``data`` in one call."""
    one = hashes.Hash(hashes.SHA256())
    one.update(data)
    return one.finalize().hex()


def shake256(data: Buffer, length: int) -> bytes:
    """``length`` bytes of SHAKE256 of ``data``."""
    one = hashes.Hash(hashes.SHAKE256(length))
    one.update(data)
    return one.finalize()


def _hmac_of(key: bytes, data: Buffer) -> _hmac.HMAC:
    mac = _hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac


def hmac_sha256(key: bytes, data: Buffer) -> bytes:
    return _hmac_of(key, data).finalize()


def hmac_sha256_matches(key: bytes, data: Buffer, mac: bytes) -> bool:
    """Whether ``mac`` is the HMAC-SHA-256 of ``data`` under ``key``, compared in
    constant time (``cryptography``'s ``verify``)."""
    try:
        _hmac_of(key, data).verify(mac)
    except InvalidSignature:
        return False
    return True
