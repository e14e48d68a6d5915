"""Identities and recipients: generation, parsing, cross-checks with rage, and errors
that never repeat a secret."""

from __future__ import annotations

import io

import pyrage
import pytest

from vault_app.core import age
from vault_app.core.encoding import bech32_decode, bech32_encode
from vault_app.core.errors import KeyFormatError, MalformedError, Remedy
from vault_app.core.header import Stanza
from vault_app.core.keys import (
    generate_identity,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
)
from vault_app.core.recipients.hybrid import HybridIdentity, HybridRecipient
from vault_app.core.recipients.x25519 import X25519Identity, X25519Recipient


def test_x25519_round_trip_and_rage_agrees() -> None:
    for _ in range(5):
        identity = generate_identity()
        assert isinstance(identity, X25519Identity)
        secret = str(identity)
        assert secret.startswith("AGE-SECRET-KEY-1") and secret == secret.upper()
        recipient = str(identity.recipient())
        assert recipient.startswith("age1") and len(recipient) == 62
        assert str(parse_identity(secret)) == secret
        assert parse_recipient(recipient) == identity.recipient()
        # rage derives the same public key from our secret, and the other way round.
        assert str(pyrage.x25519.Identity.from_str(secret).to_public()) == recipient
        theirs = pyrage.x25519.Identity.generate()
        assert str(parse_identity(str(theirs)).recipient()) == str(theirs.to_public())


def test_post_quantum_round_trip() -> None:
    identity = generate_identity(post_quantum=True)
    assert isinstance(identity, HybridIdentity)
    secret = str(identity)
    assert secret.startswith("AGE-SECRET-KEY-PQ-1")
    recipient = identity.recipient()
    text = str(recipient)
    assert text.startswith("age1pq1") and len(bech32_decode(text)[1]) == 1216
    assert parse_recipient(text) == recipient
    again = parse_identity(secret)
    assert isinstance(again, HybridIdentity) and again.recipient() == recipient
    sealed = io.BytesIO()
    age.encrypt(io.BytesIO(b"pq data"), sealed, [recipient])
    out = io.BytesIO()
    age.decrypt(io.BytesIO(sealed.getvalue()), out, [again])
    assert out.getvalue() == b"pq data"


def test_hybrid_stanza_for_someone_else_is_skipped() -> None:
    mine, theirs = HybridIdentity.generate(), HybridIdentity.generate()
    stanzas = theirs.recipient().wrap(bytes(16))
    assert mine.unwrap(stanzas) is None
    assert theirs.unwrap(stanzas) == bytes(16)


def test_hybrid_stanza_with_bad_lengths_is_malformed() -> None:
    identity = HybridIdentity.generate()
    good = identity.recipient().wrap(bytes(16))[0]
    for stanza in (Stanza(good.type, (*good.args, "x"), good.body),
                   Stanza(good.type, ("AAAA",), good.body),
                   Stanza(good.type, good.args, good.body[:-1])):
        with pytest.raises(MalformedError):
            identity.unwrap([stanza])


def test_x25519_stanza_with_bad_lengths_is_malformed() -> None:
    identity = X25519Identity.generate()
    good = identity.recipient().wrap(bytes(16))[0]
    for stanza in (Stanza(good.type, (*good.args, "x"), good.body),
                   Stanza(good.type, ("AAAA",), good.body),
                   Stanza(good.type, good.args, good.body + b"x")):
        with pytest.raises(MalformedError):
            identity.unwrap([stanza])
    assert identity.unwrap([good]) == bytes(16)


@pytest.mark.parametrize(("text", "message"), [
    ("", "unknown recipient type"),
    ("age2qqqq", "unknown recipient type"),
    ("AGE1" + "Q" * 58, "unknown recipient type"),  # uppercase: age refuses it too
    ("age1" + "q" * 58, "checksum"),
    (bech32_encode("age", bytes(31)), "32 bytes"),
    (bech32_encode("age", bytes(33)), "32 bytes"),
    (bech32_encode("age1pq", bytes(100)), "1216 bytes"),
    ("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqsAbcdef", "mixes upper and lower"),
])
def test_bad_recipients(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        parse_recipient(text)
    assert message in str(info.value)
    assert info.value.hint


def test_uppercase_recipient_of_a_real_key_is_refused() -> None:
    """As in age: recipients are lowercase Bech32, identities uppercase."""
    identity = generate_identity()
    with pytest.raises(KeyFormatError):
        parse_recipient(str(identity.recipient()).upper())
    with pytest.raises(KeyFormatError):
        parse_identity(str(identity).lower())


def test_secret_key_as_recipient_is_refused_without_echo() -> None:
    secret = str(generate_identity())
    with pytest.raises(KeyFormatError) as info:
        parse_recipient(secret)
    assert "secret key" in str(info.value)
    assert secret[16:] not in str(info.value) and secret[16:] not in (info.value.hint or "")


def test_identity_file_parsing() -> None:
    one, two = generate_identity(), generate_identity(post_quantum=True)
    text = (f"# created: today\r\n# public key: {one.recipient()}\r\n{one}\r\n\n"
            f"   {two}   \n# trailing comment\n")
    parsed = parse_identities(text)
    assert [str(i) for i in parsed] == [str(one), str(two)]


def test_identity_file_errors_name_the_line_not_the_secret() -> None:
    secret = str(generate_identity())
    typo = secret[:-1] + ("Q" if secret[-1] != "Q" else "P")
    with pytest.raises(KeyFormatError) as info:
        parse_identities(f"# comment\n{secret}\n{typo}\n")
    assert "line 3" in str(info.value)
    assert typo[16:] not in str(info.value)
    with pytest.raises(KeyFormatError, match="no identities"):
        parse_identities("# only comments\n\n")
    with pytest.raises(KeyFormatError, match="line 1"):
        parse_identities(str(generate_identity().recipient()))  # a public key, not a secret


def test_recipients_file_parsing() -> None:
    a, b = generate_identity().recipient(), generate_identity(post_quantum=True).recipient()
    assert parse_recipients(f"# team\n{a}\n\n{b}\n") == [a, b]
    with pytest.raises(KeyFormatError, match="line 2"):
        parse_recipients(f"{a}\nnot-a-key\n")
    with pytest.raises(KeyFormatError, match="no recipients"):
        parse_recipients("")


def test_reprs_never_show_secrets() -> None:
    for identity in (generate_identity(), generate_identity(post_quantum=True)):
        secret = str(identity)
        assert secret not in repr(identity)
        assert bech32_decode(secret)[1].hex() not in repr(identity)


def test_low_order_x25519_recipient_is_refused_on_wrap() -> None:
    """Encrypting to an all-zero public key would give a predictable shared secret."""
    with pytest.raises(MalformedError):
        X25519Recipient(bytes(32)).wrap(bytes(16))


def test_wrong_lengths() -> None:
    with pytest.raises(KeyFormatError):
        X25519Identity(bytes(31))
    with pytest.raises(KeyFormatError):
        HybridIdentity(bytes(33))
    with pytest.raises(KeyFormatError):
        HybridRecipient(bytes(1215))


def test_file_errors_keep_the_specific_remedy() -> None:
    """A secret key pasted into a recipients file keeps the 'pass the public key' remedy."""
    secret = str(generate_identity())
    with pytest.raises(KeyFormatError) as info:
        parse_recipients(f"# team\n{secret}\n")
    assert "line 2" in str(info.value) and "secret key" in str(info.value)
    assert info.value.remedy is Remedy.USE_PUBLIC_RECIPIENT
    assert secret[16:] not in str(info.value)


def test_x25519_keys_made_without_the_openssl_backend_match_cryptographys_public_api(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """recipients/x25519.py calls cryptography's Rust constructors directly (importing its
    OpenSSL backend for a support check costs ~10 ms of every command): the keys are the
    public API's, and where a cryptography lays them out otherwise the public API is used."""
    import os
    import subprocess
    import sys

    from cryptography.hazmat.bindings._rust import openssl as rust_openssl
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )

    from vault_app.core.recipients import x25519

    secret, peer = os.urandom(32), X25519PrivateKey.generate()
    ours, theirs = x25519._private_from_bytes(secret), X25519PrivateKey.from_private_bytes(secret)
    assert isinstance(ours, X25519PrivateKey) and isinstance(x25519._generate(), X25519PrivateKey)
    assert ours.public_key().public_bytes_raw() == theirs.public_key().public_bytes_raw()
    peer_public = peer.public_key().public_bytes_raw()
    assert ours.exchange(x25519._public_from_bytes(peer_public)) == \
        theirs.exchange(X25519PublicKey.from_public_bytes(peer_public))

    monkeypatch.delattr(rust_openssl, "x25519")
    assert x25519._key_constructors() == (X25519PrivateKey.generate,
                                          X25519PrivateKey.from_private_bytes,
                                          X25519PublicKey.from_public_bytes)
    monkeypatch.undo()

    probe = ("import sys\nfrom vault_app.core import age\n"
             "from vault_app.core.recipients.x25519 import X25519Identity\n"
             "me = X25519Identity.generate()\nkey = age.new_file_key()\n"
             "stanzas = age.wrap_stanzas(key, [me.recipient()])\n"
             "assert me.unwrap(stanzas) == key\n"
             "print('cryptography.hazmat.backends.openssl.backend' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
