"""The command line's advice for an error, worded from its kind and remedy in CLI terms.

The core says what failed (``kind``) and, where the way out depends on the situation,
which way out (``remedy``); only here do flags, verbs and environment variables appear.
The window words the same codes in its own terms (``gui/dialogs/errors.py``).
"""

from __future__ import annotations

from vault_app.core.errors import ErrorKind, Remedy, VaultError

K = ErrorKind

# What to try next when the error names no remedy and the core gave no advice of its own.
KIND_HINTS: dict[ErrorKind, str] = {
    K.NO_ACCESS: "ask the file's owner (or a vault admin) to share it with you",
    K.WRONG_KEY: "the file was not encrypted to any of your keys; "
                 "ask its owner to share it with you",
    K.BAD_PASSPHRASE: "check the passphrase and try again",
    K.TAMPERED: "the file was tampered with or damaged; restore it from a backup",
    K.BAD_SIGNATURE: "the file or its access list was changed by someone not allowed to; "
                     "restore it from a backup or ask its owner",
    K.TRUNCATED: "the file is incomplete (an interrupted copy or download?); copy it again",
    K.MALFORMED: "the file is not a valid age file, or it is damaged",
    K.NOT_FOUND: "check the path and try again",
    K.EXISTS: "choose another name, or remove the existing one first",
    K.PERMISSION: "check that you may write to that folder",
    K.READ_ONLY: "write to another disk, or remount this one read-write",
    K.NO_SPACE: "free some space and try again",
    K.IS_A_FOLDER: "give a file, not a folder",
    K.NOT_A_FILE: "give the regular file itself, not a symbolic link or a device",
    K.IO: "check the disk and try again",
    K.NOT_A_VAULT: "run `vault init DIR` to create one, or pass --vault DIR",
    K.VAULT_DAMAGED: "the .vault/ folder was edited or damaged; restore it from a backup",
    K.KEYRING_UNAVAILABLE: "unlock your keyring, or keep your keys in a passphrase-protected "
                           "key file instead (--key-file)",
    K.KEY_MISMATCH: "someone edited the member registry, or your keys changed; "
                    "ask a vault admin",
    K.UNKNOWN_USER: "check the user name (--user), or ask a vault admin to add them",
    K.BUSY: "another vault operation is running on this file; try again in a moment",
    K.BAD_KEY: "recipients look like age1…, identities like AGE-SECRET-KEY-1…",
    K.USAGE: "`vault COMMAND --help` lists what a command accepts",
    K.CANCELLED: "it stopped before it finished; run the command again to complete it",
    K.CONFLICT: "the vault was changed elsewhere at the same time; check it, then try again",
    K.INTERNAL: "this is a bug; run again with VAULT_DEBUG=1 and report what it prints",
}

REMEDY_HINTS: dict[Remedy, str] = {
    Remedy.ADD_MEMBER: "they can ask to join with `vault join`; an admin then approves "
                       "them with `vault user approve NAME`",
    Remedy.CREATE_OR_IMPORT_KEYS: "create them with `vault user add`, or import them with "
                                  "`vault user import`",
    Remedy.USE_EXPORTED_KEY_FILE: "use a file written by `vault user export`",
    Remedy.SUPPLY_PASSPHRASE: "run in a terminal, or set VAULT_PASSPHRASE_FILE",
    Remedy.RENAME_OR_REPLACE_KEYS: "import under another name (--name), or replace them with "
                                   "--force (export the old ones first if you need them)",
    Remedy.USE_PUBLIC_RECIPIENT: "pass the public recipient (age1…) printed by `vault keygen`",
    Remedy.LOCK_AS_NEW_VERSION: "to store a new version of it, lock again with --replace",
    Remedy.VERIFY_AUDIT_LOG: "`vault audit --verify` shows which record is damaged",
    Remedy.RESOLVE_CONFLICTS: "`vault verify` names every problem; a vault admin repairs them "
                              "with `vault doctor`",
    Remedy.ASK_TO_JOIN: "ask to join with `vault join`, then have an admin approve you "
                        "(`vault user approve NAME`)",
    Remedy.REJOIN: "if the keys in your keyring are the ones you use now, ask an admin to run "
                   "`vault user remove NAME`, then ask to join again with `vault join`",
    Remedy.ADOPT_ORPHAN: "every owner of this file has left the vault: an admin can take it "
                         "over with `vault adopt FILE -i RECOVERY_KEY_FILE`",
    Remedy.FORGET_VAULT: "if the vault was really made again there, run `vault forget DIR` "
                         "first (compare its first admin's key fingerprint with them)",
    Remedy.JOIN_GROUP: "ask an administrator of this computer to add your login to the "
                       "vault folder's group (then log in again)",
}


def hint_lines(exc: VaultError) -> list[str]:
    """The ``hint:`` lines for ``exc``: its remedy and the core's own advice, else the kind's."""
    lines = [REMEDY_HINTS[exc.remedy]] if exc.remedy is not None else []
    if exc.hint:
        lines.append(exc.hint)
    return lines or [KIND_HINTS[exc.kind]]
