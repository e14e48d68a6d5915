"""Typed errors. Each names a failure class a person can act on; none carries a secret.

Mirrors age: the class says *what* failed (wrong key, tampered, truncated, malformed).
Every error also carries a ``kind`` (a closed set, :class:`ErrorKind`) so that clients
decide titles, wording and exit codes from data, never from the message text; the
message itself is for people and may change.

``hint`` is optional advice in neutral words (no command-line syntax, no window
controls), fit for any client. Advice that only a client can word (which flag to pass,
which menu to open) is a ``remedy`` instead: a code each client words in its own terms.
Messages never include key material, passphrases or plaintext.
"""

from __future__ import annotations

import os
from enum import StrEnum


class ErrorKind(StrEnum):
    """What kind of failure this is, for programs: stable, documented values.

    Several classes may share a kind (a header MAC and a payload chunk that fail are both
    ``tampered``), and one class may raise more than one (a file error is ``no-space`` or
    ``permission`` by its errno). Clients map kinds to exit codes, JSON and dialog titles.
    """

    NO_ACCESS = "no-access"            # the acting user may not do this (not shared, not owner)
    WRONG_KEY = "wrong-key"            # none of the given identities opens the file
    BAD_PASSPHRASE = "bad-passphrase"  # noqa: S105 - a passphrase opened nothing
    TAMPERED = "tampered"              # a header MAC, a payload chunk or the armor fails
    BAD_SIGNATURE = "bad-signature"    # a signature (ACL, header, content) does not hold
    TRUNCATED = "truncated"            # the file was cut short
    MALFORMED = "malformed"            # not the age grammar, or a version we do not read
    NOT_FOUND = "not-found"            # no such file or folder
    EXISTS = "exists"                  # the name (file, vault, member, keys) is taken
    PERMISSION = "permission"          # the operating system refused access
    READ_ONLY = "read-only"            # the file system is mounted read-only
    NO_SPACE = "no-space"              # the disk or the quota is full
    IS_A_FOLDER = "is-a-folder"        # a folder where a file was expected
    NOT_A_FILE = "not-a-file"          # a symbolic link or a device where a file was expected
    IO = "io"                          # any other read or write failure
    NOT_A_VAULT = "not-a-vault"        # no vault metadata in that folder
    VAULT_DAMAGED = "vault-damaged"    # the vault's metadata or audit log is damaged
    KEYRING_UNAVAILABLE = "keyring-unavailable"  # no usable or unlocked OS keyring
    KEY_MISMATCH = "key-mismatch"      # a member's keys differ from the signed registry
    UNKNOWN_USER = "unknown-user"      # no keys for that user, or not a member
    BUSY = "busy"                      # another process holds the lock or changed the file
    BAD_KEY = "bad-key"                # a key or recipient string does not parse or fit
    USAGE = "usage"                    # the request cannot be carried out as asked
    CANCELLED = "cancelled"            # the user cancelled; a normal outcome
    CONFLICT = "conflict"              # reserved: sync conflicts, forks, rollbacks
    INTERNAL = "internal"              # a broken invariant: a bug, not the user's doing


class Remedy(StrEnum):
    """Situation-specific advice that each client words itself (a flag, a menu, a verb)."""

    ADD_MEMBER = "add-member"                        # an admin adds the user to the vault
    CREATE_OR_IMPORT_KEYS = "create-or-import-keys"  # the user has no keys here yet
    USE_EXPORTED_KEY_FILE = "use-exported-key-file"  # import wants an exported key file
    SUPPLY_PASSPHRASE = "supply-passphrase"  # noqa: S105 - needed, and none can be asked
    RENAME_OR_REPLACE_KEYS = "rename-or-replace-keys"  # keys of that name exist already
    USE_PUBLIC_RECIPIENT = "use-public-recipient"    # a secret key was given as a recipient
    LOCK_AS_NEW_VERSION = "lock-as-new-version"      # the locked file exists; replace it
    VERIFY_AUDIT_LOG = "verify-audit-log"            # find which audit record is damaged
    RESOLVE_CONFLICTS = "resolve-conflicts"          # an admin repairs a fork or rollback
    ASK_TO_JOIN = "ask-to-join"                      # not a member: ask, an admin approves
    REJOIN = "rejoin"                                # the keyring's keys are not the member's
    ADOPT_ORPHAN = "adopt-orphan"                    # every owner left: an admin takes it over
    JOIN_GROUP = "join-group"                        # the OS refused: not in the vault's group
    FORGET_VAULT = "forget-vault"                    # a vault really made again at a known path


class VaultError(Exception):
    """Base of every error this project raises on purpose.

    A bare ``VaultError`` is ``internal`` unless its raise site names a kind, so an
    unclassified failure never passes for a user mistake.
    """

    kind: ErrorKind = ErrorKind.INTERNAL
    hint: str | None = None
    remedy: Remedy | None = None

    def __init__(self, message: str, *, hint: str | None = None,
                 kind: ErrorKind | None = None, remedy: Remedy | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        if kind is not None:
            self.kind = kind
        if remedy is not None:
            self.remedy = remedy


class Cancelled(VaultError):
    """The user cancelled a long operation; callers treat it as a normal outcome."""

    kind = ErrorKind.CANCELLED

    def __init__(self, message: str = "operation cancelled") -> None:
        super().__init__(message)


class AgeError(VaultError):
    """A failure reading or writing an age file."""

    kind = ErrorKind.MALFORMED


class MalformedError(AgeError):
    """The header (or an identity/recipient string) does not follow the age v1 grammar."""

    kind = ErrorKind.MALFORMED
    hint = "the file is not a valid age file, or it is damaged"


class UnsupportedVersionError(MalformedError):
    """The file is an age file of a version this program does not read."""

    kind = ErrorKind.MALFORMED


class HeaderMACError(AgeError):
    """The header MAC does not verify: the header was edited after it was written."""

    kind = ErrorKind.TAMPERED
    hint = "the file's header was tampered with or damaged; restore it from a backup"


class NoIdentityMatchError(AgeError):
    """None of the identities given can unwrap the file key."""

    kind = ErrorKind.WRONG_KEY
    hint = "the file was not encrypted to any of your keys; ask its owner to share it with you"


class BadPassphraseError(NoIdentityMatchError):
    """The passphrase did not unwrap the file key."""

    kind = ErrorKind.BAD_PASSPHRASE
    hint = "check the passphrase and try again"


class PayloadError(AgeError):
    """A payload chunk failed authentication: the content was tampered with or damaged."""

    kind = ErrorKind.TAMPERED
    hint = "the file's content was tampered with or damaged; restore it from a backup"


class TruncatedError(PayloadError):
    """The payload ended before its final chunk: the file was cut short."""

    kind = ErrorKind.TRUNCATED
    hint = "the file is incomplete (an interrupted copy or download?); copy it again"


class ArmorError(AgeError):
    """The ASCII armor is not strict, canonical PEM."""

    kind = ErrorKind.TAMPERED
    hint = "the armored file was altered; it must be passed on unchanged"


class KeyFormatError(VaultError):
    """An identity or recipient string could not be parsed."""

    kind = ErrorKind.BAD_KEY
    hint = "recipients look like age1…, identities like AGE-SECRET-KEY-1…"


class FileOperationError(VaultError):
    """A file could not be read or written (missing, a directory, no space, no permission).

    ``path`` names the file or folder concerned, where known, so a client can show it
    or offer to open its folder without parsing the message.
    """

    kind = ErrorKind.IO

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None,
                 hint: str | None = None, kind: ErrorKind | None = None,
                 remedy: Remedy | None = None) -> None:
        super().__init__(message, hint=hint, kind=kind, remedy=remedy)
        self.path = os.fspath(path) if path is not None else None


# -- vaults, members, keys, access control (owned by the vault module) -------------------


class NotAVaultError(VaultError):
    """The folder is not a vault (no ``.vault/`` metadata), or its metadata is unreadable."""

    kind = ErrorKind.NOT_A_VAULT


class VaultFormatError(NotAVaultError):
    """The vault's metadata is damaged, of an unknown version, or its signature fails."""

    kind = ErrorKind.VAULT_DAMAGED
    hint = "the .vault/ folder was edited or damaged; restore it from a backup"


class KeyringUnavailableError(VaultError):
    """No usable OS keyring (no backend, no D-Bus session, or the keyring is locked)."""

    kind = ErrorKind.KEYRING_UNAVAILABLE


class UnknownUserError(VaultError):
    """The user has no keys here, or is not a member of this vault."""

    kind = ErrorKind.UNKNOWN_USER


class MemberKeyMismatchError(VaultError):
    """A member's keys differ from the signed registry: a swapped or tampered key."""

    kind = ErrorKind.KEY_MISMATCH
    hint = "someone edited the member registry, or your keys changed; ask a vault admin"


class AccessDeniedError(VaultError):
    """The acting user may not do this (not a reader, not an owner, not an admin)."""

    kind = ErrorKind.NO_ACCESS
    hint = "ask the file's owner (or a vault admin) to share it with you"


class SignatureError(VaultError):
    """A signature on a file's ACL, header or content, or on the registry, does not hold."""

    kind = ErrorKind.BAD_SIGNATURE
    hint = ("the file or its access list was changed by someone not allowed to; "
            "restore it from a backup or ask its owner")


class ConflictError(VaultError):
    """The vault (or a file in it) is older than this account saw, forked, or a sync
    conflict copy: nothing is built on it until it is resolved."""

    kind = ErrorKind.CONFLICT
    remedy = Remedy.RESOLVE_CONFLICTS


class VaultBusyError(VaultError):
    """Another process holds the vault's lock for too long."""

    kind = ErrorKind.BUSY
    hint = "another vault operation is running on this file; try again in a moment"
