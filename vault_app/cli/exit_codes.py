"""The ``vault`` command's exit status: one number per family of error kinds.

Scripts branch on these, so they are stable and documented (``vault man``, README's
table comes from :data:`TABLE`). The age-compatible verbs (``keygen``, ``encrypt``,
``decrypt``) exit 1 on any failure, as ``age`` does, so they stay drop-in replacements.
"""

from __future__ import annotations

from vault_app.core.errors import ErrorKind

K = ErrorKind

OK = 0
FAILED = 1  # a check that found problems (verify, audit --verify), or any age-verb failure
USAGE = 2  # as argparse: the command line asks for something impossible
INTERRUPTED = 130  # Ctrl-C or cancelled; a signal N ends with 128 + N

#: (exit status, what it means, the kinds it covers), in the order the docs show them.
TABLE: list[tuple[int, str, tuple[ErrorKind, ...]]] = [
    (USAGE, "usage: the command line asks for something impossible", (K.USAGE,)),
    (3, "not found: no such file or folder", (K.NOT_FOUND,)),
    (4, "no access: the file is not shared with you, or you may not change it",
     (K.NO_ACCESS,)),
    (5, "wrong key: none of your keys or passphrases opens it",
     (K.WRONG_KEY, K.BAD_PASSPHRASE)),
    (6, "tampered: a signature, a checksum or the length does not hold",
     (K.TAMPERED, K.BAD_SIGNATURE, K.TRUNCATED)),
    (7, "not an age file, or a damaged one", (K.MALFORMED,)),
    (8, "exists: the name is taken", (K.EXISTS,)),
    (9, "conflict: busy, or changed elsewhere meanwhile", (K.CONFLICT, K.BUSY)),
    (10, "keys: no keyring, unknown user, keys that differ from the registry, a bad key",
     (K.KEYRING_UNAVAILABLE, K.UNKNOWN_USER, K.KEY_MISMATCH, K.BAD_KEY)),
    (11, "vault: not a vault, or its metadata is damaged",
     (K.NOT_A_VAULT, K.VAULT_DAMAGED)),
    (12, "the disk: full, read-only, permission denied, a folder or link where a file "
         "belongs, a read or write error",
     (K.NO_SPACE, K.READ_ONLY, K.PERMISSION, K.IS_A_FOLDER, K.NOT_A_FILE, K.IO)),
    (70, "internal error: a bug (run again with VAULT_DEBUG=1 and report it)", (K.INTERNAL,)),
    (INTERRUPTED, "interrupted or cancelled", (K.CANCELLED,)),
]

BY_KIND: dict[ErrorKind, int] = {kind: code for code, _, kinds in TABLE for kind in kinds}

#: Verbs that keep age's exit status (1 on any failure).
AGE_VERBS = frozenset({"keygen", "encrypt", "decrypt"})


def for_kind(kind: ErrorKind, command: str | None) -> int:
    """The exit status for an error of ``kind`` raised by ``command``."""
    if command in AGE_VERBS:
        return INTERRUPTED if kind is K.CANCELLED else FAILED
    return BY_KIND[kind]


def rows() -> list[tuple[int, str]]:
    """(status, meaning) for the docs, success and checks included."""
    return [(OK, "success"),
            (FAILED, "a check found problems (verify, audit --verify, user list); "
                     "any failure of keygen, encrypt or decrypt (as age)"),
            *((code, words) for code, words, _ in TABLE)]
