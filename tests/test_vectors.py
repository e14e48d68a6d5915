"""Conformance: every official age test vector (../shared/testkit/age/vectors)."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path

import pytest

from vault_app.core import age
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
ALL = sorted(p.name for p in VECTORS.iterdir()) if VECTORS.is_dir() else []

OUTCOME = {
    ArmorError: "armor failure",
    HeaderMACError: "HMAC failure",
    NoIdentityMatchError: "no match",
    PayloadError: "payload failure",
    MalformedError: "header failure",
}


def load(name: str) -> tuple[dict[str, list[str]], bytes]:
    raw = (VECTORS / name).read_bytes()
    head, _, body = raw.partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


def test_all_143_vectors_present() -> None:
    assert len(ALL) == 143, f"expected 143 vectors in {VECTORS}, found {len(ALL)}"


@pytest.mark.parametrize("name", ALL)
def test_vector(name: str) -> None:
    meta, body = load(name)
    identities: list[Identity] = [parse_identity(k) for k in meta.get("identity", [])]
    identities += [ScryptIdentity(p.encode()) for p in meta.get("passphrase", [])]
    out = io.BytesIO()
    outcome = "success"
    try:
        age.decrypt(io.BytesIO(body), out, identities, armored=meta.get("armored") == ["yes"])
    except tuple(OUTCOME) as exc:
        outcome = next(v for k, v in OUTCOME.items() if isinstance(exc, k))
    assert outcome == meta["expect"][0], meta.get("comment")
    if outcome in ("success", "payload failure"):
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"][0]
