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


# -- vaults, members, keys, access control (owned by the vault module) -------------------


class NotAVaultError(VaultError):
    """The folder is not a vault (no ``.vault/`` metadata), or its metadata is unreadable."""

    hint = "run `vault init DIR` to create one, or pass --vault DIR"


class VaultFormatError(NotAVaultError):
    """The vault's metadata is damaged, of an unknown version, or its signature fails."""

    hint = "the .vault/ folder was edited or damaged; restore it from a backup"


class KeyringUnavailableError(VaultError):
    """No usable OS keyring (no backend, no D-Bus session, or the keyring is locked)."""

    hint = ("unlock your keyring, or keep your keys in a passphrase-protected key file "
            "instead (--key-file)")


class UnknownUserError(VaultError):
    """The user has no keys here, or is not a member of this vault."""


class MemberKeyMismatchError(VaultError):
    """A member's keys differ from the signed registry: a swapped or tampered key."""

    hint = "someone edited the member registry, or your keys changed; ask a vault admin"


class AccessDeniedError(VaultError):
    """The acting user may not do this (not a reader, not an owner, not an admin)."""

    hint = "ask the file's owner (or a vault admin) to share it with you"


class SignatureError(VaultError):
    """A signature on a file's ACL, header or content, or on the registry, does not hold."""

    hint = ("the file or its access list was changed by someone not allowed to; "
            "restore it from a backup or ask its owner")


class VaultBusyError(VaultError):
    """Another process holds the vault's lock for too long."""

    hint = "another vault operation is running on this file; try again in a moment"
