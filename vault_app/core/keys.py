"""Parse and make identities and recipients of every native type.

With ``age.py`` (the recipe), the only module that knows all recipient types; everything
else goes through it, passphrases included, so a new type is added in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vault_app.core.errors import KeyFormatError, Remedy
from vault_app.core.recipients import Identity, Recipient
from vault_app.core.recipients.hybrid import HybridIdentity, HybridRecipient
from vault_app.core.recipients.scrypt import DEFAULT_WORK_FACTOR as DEFAULT_WORK_FACTOR
from vault_app.core.recipients.scrypt import (
    PromptingScryptIdentity,
    ScryptIdentity,
    ScryptRecipient,
)
from vault_app.core.recipients.x25519 import X25519Identity, X25519Recipient

KeyPair = X25519Identity | HybridIdentity


def generate_identity(*, post_quantum: bool = False) -> KeyPair:
    return HybridIdentity.generate() if post_quantum else X25519Identity.generate()


def parse_recipient(text: str) -> X25519Recipient | HybridRecipient:
    text = text.strip()
    if text.startswith("age1pq1"):
        return HybridRecipient.parse(text)
    if text.startswith("age1"):
        return X25519Recipient.parse(text)
    if text.startswith("AGE-SECRET-KEY-"):
        raise KeyFormatError(
            "that is a secret key, not a recipient",
            remedy=Remedy.USE_PUBLIC_RECIPIENT,
        )
    raise KeyFormatError("unknown recipient type (expected age1… or age1pq1…)")


def is_post_quantum(recipient: str) -> bool:
    """Whether ``recipient`` is a post-quantum hybrid one (a vault's policy may require it)."""
    return isinstance(parse_recipient(recipient), HybridRecipient)


def passphrase_recipient(passphrase: bytes,
                         work_factor: int = DEFAULT_WORK_FACTOR) -> Recipient:
    """Encrypt to a passphrase (scrypt); it must be a file's only recipient."""
    return ScryptRecipient(passphrase, work_factor)


def passphrase_identity(passphrase: bytes) -> Identity:
    return ScryptIdentity(passphrase)


def prompting_passphrase_identity(ask: Callable[[], bytes]) -> Identity:
    """A passphrase identity that calls ``ask`` only for a passphrase-encrypted file, so
    it can sit beside key identities without prompting needlessly."""
    return PromptingScryptIdentity(ask)


def parse_identity(text: str) -> KeyPair:
    text = text.strip()
    if text.startswith("AGE-SECRET-KEY-PQ-1"):
        return HybridIdentity.parse(text)
    if text.startswith("AGE-SECRET-KEY-1"):
        return X25519Identity.parse(text)
    raise KeyFormatError("unknown identity type (expected AGE-SECRET-KEY-1… or -PQ-1…)")


def _key_lines(text: str) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_identities(text: str) -> list[Identity]:
    """Parse an identity file (one key a line, ``#`` comments); no secret in errors."""
    found: list[Identity] = []
    for number, line in _key_lines(text):
        try:
            found.append(parse_identity(line))
        except KeyFormatError as exc:
            raise KeyFormatError(f"identity file line {number}: {exc}", hint=exc.hint,
                                 remedy=exc.remedy) from None
    if not found:
        raise KeyFormatError("no identities found in the identity file")
    return found


def parse_recipients(text: str) -> list[Recipient]:
    found: list[Recipient] = []
    for number, line in _key_lines(text):
        try:
            found.append(parse_recipient(line))
        except KeyFormatError as exc:
            raise KeyFormatError(f"recipients file line {number}: {exc}",
                                 hint=exc.hint, remedy=exc.remedy) from None
    if not found:
        raise KeyFormatError("no recipients found in the recipients file")
    return found
