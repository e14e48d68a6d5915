"""Typed errors. Each names a failure class a person can act on; none carries a secret.

Mirrors age: the class says *what* failed (wrong key, tampered, truncated, malformed),
and ``hint`` says what to try next. Messages never include key material, passphrases
or plaintext.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error this project raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class Cancelled(VaultError):
    """The user cancelled a long operation; callers treat it as a normal outcome."""

    def __init__(self, message: str = "operation cancelled") -> None:
        super().__init__(message)


class AgeError(VaultError):
    """A failure reading or writing an age file."""


class MalformedError(AgeError):
    """The header (or an identity/recipient string) does not follow the age v1 grammar."""

    hint = "the file is not a valid age file, or it is damaged"


class UnsupportedVersionError(MalformedError):
    """The file is an age file of a version this program does not read."""


class HeaderMACError(AgeError):
    """The header MAC does not verify: the header was edited after it was written."""

    hint = "the file's header was tampered with or damaged; restore it from a backup"


class NoIdentityMatchError(AgeError):
    """None of the identities given can unwrap the file key."""

    hint = "the file was not encrypted to any of your keys; ask its owner to share it with you"


class BadPassphraseError(NoIdentityMatchError):
    """The passphrase did not unwrap the file key."""

    hint = "check the passphrase and try again"


class PayloadError(AgeError):
    """A payload chunk failed authentication: the content was tampered with or damaged."""

    hint = "the file's content was tampered with or damaged; restore it from a backup"


class TruncatedError(PayloadError):
    """The payload ended before its final chunk: the file was cut short."""

    hint = "the file is incomplete (an interrupted copy or download?); copy it again"


class ArmorError(AgeError):
    """The ASCII armor is not strict, canonical PEM."""

    hint = "the armored file was altered; it must be passed on unchanged"


class KeyFormatError(VaultError):
    """An identity or recipient string could not be parsed."""

    hint = "recipients look like age1…, identities like AGE-SECRET-KEY-1…"


class FileOperationError(VaultError):
    """A file could not be read or written (missing, a directory, no space, no permission)."""
