"""core/digests.py: SHA-256, SHAKE256 and HMAC-SHA-256 from `cryptography` give what the
standard algorithms give (checked against Python's own implementations), in every way
the vault calls them."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import digests


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_sha256_matches_the_standard_whole_and_in_pieces(pieces: list[bytes]) -> None:
    whole = b"".join(pieces)
    running = digests.sha256(pieces[0] if pieces else b"")
    for piece in pieces[1:]:
        running.update(memoryview(piece))
    expected = hashlib.sha256(whole)
    assert running.digest() == expected.digest()
    assert running.hexdigest() == expected.hexdigest()  # digest() did not end it
    running.update(b"more")
    assert running.digest() == hashlib.sha256(whole + b"more").digest()
    assert digests.sha256_hex(bytearray(whole)) == expected.hexdigest()


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=200))
def test_shake256_matches_the_standard(data: bytes, length: int) -> None:
    assert digests.shake256(data, length) == hashlib.shake_256(data).digest(length)


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=300))
def test_hmac_matches_the_standard_and_a_changed_mac_is_refused(key: bytes,
                                                                data: bytes) -> None:
    mac = digests.hmac_sha256(key, data)
    assert mac == hmac.new(key, data, hashlib.sha256).digest()
    assert digests.hmac_sha256_matches(key, data, mac)
    for wrong in (bytes([mac[0] ^ 1]) + mac[1:], mac[:-1], b""):
        assert not digests.hmac_sha256_matches(key, data, wrong)
