"""The official age test vectors (../shared/testkit/age/vectors), for the tests that run
them: through the streaming recipe (test_vectors) and the random-access reader
(test_reader)."""

from __future__ import annotations

import zlib
from pathlib import Path

from vault_app.core.errors import (
    ArmorError,
    HeaderMACError,
    MalformedError,
    NoIdentityMatchError,
    PayloadError,
)
from vault_app.core.keys import parse_identity
from vault_app.core.recipients import Identity
from vault_app.core.recipients.scrypt import ScryptIdentity

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "testkit" / "age" / "vectors"
VECTOR_NAMES = sorted(p.name for p in VECTORS.iterdir()) if VECTORS.is_dir() else []

#: The vectors' "expect" values, by error class (checked in this order).
OUTCOMES: list[tuple[type[Exception], str]] = [
    (ArmorError, "armor failure"), (HeaderMACError, "HMAC failure"),
    (NoIdentityMatchError, "no match"), (PayloadError, "payload failure"),
    (MalformedError, "header failure")]
OUTCOME_ERRORS = tuple(kind for kind, _ in OUTCOMES)


def outcome_of(exc: BaseException) -> str:
    return next(verdict for kind, verdict in OUTCOMES if isinstance(exc, kind))


def load_vector(name: str) -> tuple[dict[str, list[str]], bytes]:
    """A vector's metadata lines (each key may repeat) and its (decompressed) file."""
    head, _, body = (VECTORS / name).read_bytes().partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


def vector_identities(meta: dict[str, list[str]]) -> list[Identity]:
    identities: list[Identity] = [parse_identity(k) for k in meta.get("identity", [])]
    identities += [ScryptIdentity(p.encode()) for p in meta.get("passphrase", [])]
    return identities
