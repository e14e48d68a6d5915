"""Conformance: every official age test vector (../shared/testkit/age/vectors)."""

from __future__ import annotations

import hashlib
import io

import pytest
from vector_support import (
    OUTCOME_ERRORS,
    VECTOR_NAMES,
    VECTORS,
    load_vector,
    outcome_of,
    vector_identities,
)

from vault_app.core import age


def test_all_143_vectors_present() -> None:
    assert len(VECTOR_NAMES) == 143, f"expected 143 vectors in {VECTORS}, found {len(VECTOR_NAMES)}"


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector(name: str) -> None:
    meta, body = load_vector(name)
    identities = vector_identities(meta)
    out = io.BytesIO()
    outcome = "success"
    try:
        age.decrypt(io.BytesIO(body), out, identities, armored=meta.get("armored") == ["yes"])
    except OUTCOME_ERRORS as exc:
        outcome = outcome_of(exc)
    assert outcome == meta["expect"][0], meta.get("comment")
    if outcome in ("success", "payload failure"):
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"][0]
