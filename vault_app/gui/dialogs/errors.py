"""Errors as dialogs a person can act on: a title naming the failure class, a sentence, a hint
(and, for failures only a specialist can read, the core's message under "Show Details…").

The title and the advice are chosen by the error's ``kind`` and ``remedy`` (codes the
core sets), worded here for the window; the message text is only ever shown, never
inspected. Never a traceback and never a secret: core errors carry no key material by
design, and the displayed text is scrubbed of anything that looks like a private key as
a second line of defence. Unknown exceptions show only their class name.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from vault_app.core import errors as E
from vault_app.core.atomic import describe_os_error
from vault_app.core.errors import ErrorKind, Remedy

log = logging.getLogger(__name__)

_SECRET = re.compile(r"(AGE-SECRET-KEY-[0-9A-Z]+|AGE-PLUGIN-[0-9A-Z-]+|"
                     r"VAULT-SIGN-SECRET-KEY-[0-9A-Z]+)", re.IGNORECASE)

GENERIC_TITLE = "Something went wrong"
_OPEN: set[QMessageBox] = set()  # parentless boxes stay alive until closed

K = ErrorKind

# kind -> (title, what to try when neither a remedy nor the core's own advice says more)
KIND_TEXT: dict[ErrorKind, tuple[str, str]] = {
    K.NO_ACCESS: ("You don't have access to this file",
                  "Ask the file's owner (or a vault admin) to share it with you."),
    K.WRONG_KEY: ("You don't have access to this file",
                  "It was not locked for any of your keys (wrong key). "
                  "Ask its owner to share it with you."),
    K.BAD_PASSPHRASE: ("Wrong passphrase", "Check the passphrase and try again."),
    K.TAMPERED: ("File tampered with or damaged",
                 "Restore it from a backup, or ask its owner to lock it again."),
    K.BAD_SIGNATURE: ("Signature does not hold",
                      "Restore it from a backup, or ask its owner to lock it again."),
    K.TRUNCATED: ("File incomplete or damaged",
                  "Copy it again (an interrupted copy?), or restore it from a backup."),
    K.MALFORMED: ("Not a readable locked file",
                  "Check that it is a file locked with age or Dataset Vault."),
    K.NOT_FOUND: ("File not found", "Check that it was not moved or renamed, and try again."),
    K.EXISTS: ("Already exists", "Choose another name, or remove the existing one first."),
    K.PERMISSION: ("Permission denied", "Check that you may write to that folder."),
    K.READ_ONLY: ("Read-only disk", "Choose a folder on another disk, or make this one "
                  "writable."),
    K.NO_SPACE: ("Disk full", "Free some space and try again."),
    K.IS_A_FOLDER: ("That is a folder", "Choose a file, not a folder."),
    K.NOT_A_FILE: ("Not a regular file", "Choose the file itself, not a link or a device."),
    K.IO: ("Could not read or write a file", "Check the folder and try again."),
    K.NOT_A_VAULT: ("Not a vault", "Open another folder, or create a vault there."),
    K.VAULT_DAMAGED: ("Vault data damaged", "Restore the .vault folder from a backup."),
    K.KEYRING_UNAVAILABLE: ("No keyring available",
                            "Unlock your keyring, or keep your keys in a passphrase-protected "
                            "key file instead."),
    K.KEY_MISMATCH: ("A member's key changed",
                     "Someone edited the member registry, or keys changed. Ask a vault admin."),
    K.UNKNOWN_USER: ("Unknown user", "Ask a vault admin to add you as a member."),
    K.BUSY: ("Vault busy", "Another operation is using this file; try again shortly."),
    K.BAD_KEY: ("Not a valid key", "Recipients look like age1…, identities like "
                "AGE-SECRET-KEY-1…"),
    K.USAGE: ("Cannot do that", "Check what was asked for and try again."),
    K.CANCELLED: ("Cancelled", ""),
    K.CONFLICT: ("Changed elsewhere",
                 "The vault was changed elsewhere at the same time. Check it, then try again."),
    K.INTERNAL: ("Operation failed",
                 "Try again. If it keeps happening, report the steps that led to it."),
}

#: Kinds whose core message is for specialists ("chunk 7 failed authentication", "not
#: valid JSON"): the dialog says what it means in plain words and keeps the message
#: under "Show Details…".
PLAIN: dict[ErrorKind, str] = {
    K.TAMPERED: "The file was changed after it was locked, so its content cannot be "
                "trusted.",
    K.BAD_SIGNATURE: "Its signature does not hold: the file or its access list was "
                     "changed by someone not allowed to.",
    K.TRUNCATED: "The file is incomplete: it was cut short.",
    K.MALFORMED: "This is not a locked file the app can read, or it is damaged.",
    K.VAULT_DAMAGED: "The vault's own records (its .vault folder) are damaged.",
    K.INTERNAL: "Something inside the app went wrong.",
}

REMEDY_TEXT: dict[Remedy, str] = {
    Remedy.ADD_MEMBER: "They can ask to join from their own login; a vault admin then "
                       "approves them under Vault > Members.",
    Remedy.CREATE_OR_IMPORT_KEYS: "Create keys for this user, or import the keys they exported.",
    Remedy.USE_EXPORTED_KEY_FILE: "Use a key file exported from Dataset Vault.",
    Remedy.SUPPLY_PASSPHRASE: "Enter the passphrase of these keys when asked.",
    Remedy.RENAME_OR_REPLACE_KEYS: "Use another user name, or export the existing keys and "
                                   "remove them first.",
    Remedy.USE_PUBLIC_RECIPIENT: "Use the public key (age1…), never the secret key.",
    Remedy.LOCK_AS_NEW_VERSION: "A locked file of that name is already in the vault. "
                                "Rename this file to lock it beside that one.",
    Remedy.VERIFY_AUDIT_LOG: "Ask a vault admin to check the audit log.",
    Remedy.RESOLVE_CONFLICTS: "Verify names every problem; a vault admin repairs them with "
                              "Vault > Resolve….",
    Remedy.ASK_TO_JOIN: "Choose Ask to join, then have a vault admin approve you.",
    Remedy.REJOIN: "If the keys in your keyring are the ones you use now, ask a vault admin "
                   "to remove you, then ask to join again.",
    Remedy.ADOPT_ORPHAN: "Every owner of this file has left the vault. A vault admin can take "
                         "it over with the vault's recovery key.",
    Remedy.FORGET_VAULT: "If the vault was really made again there, ask its admin for its key "
                         "fingerprint before you open it again.",
    Remedy.JOIN_GROUP: "Ask an administrator of this computer to add your login to the vault "
                       "folder's group, then log in again.",
}


def redact(text: str) -> str:
    """Replace anything shaped like a private key (defence in depth; none should be there)."""
    return _SECRET.sub("[secret removed]", text)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    if text.split(" ", 1)[0].isalpha():  # never capitalize a file name or a path
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _as_vault_error(exc: BaseException) -> E.VaultError | None:
    """The error with a kind: ours as is, OS and keyring errors classified, else None."""
    if isinstance(exc, E.VaultError):
        return exc
    if isinstance(exc, OSError):
        return describe_os_error(exc, exc.filename if exc.filename is not None else "a file")
    keyring_errors = sys.modules.get("keyring.errors")  # imported lazily, only if used
    if keyring_errors is not None and isinstance(exc, keyring_errors.KeyringError):
        return E.KeyringUnavailableError("the operating system's keyring could not be used")
    return None


def _hint(exc: E.VaultError) -> str:
    """The remedy worded for the window, then the core's neutral advice; else the kind's.
    (For the kinds worded plainly, the kind's advice: the core's would repeat it.)"""
    parts = [REMEDY_TEXT[exc.remedy]] if exc.remedy is not None else []
    if exc.hint and exc.kind not in PLAIN:
        parts.append(_sentence(exc.hint))
    return " ".join(parts) if parts else KIND_TEXT[exc.kind][1]


def error_text(exc: BaseException, action: str | None = None) -> tuple[str, str, str]:
    """``(title, text, hint)`` for ``exc``; the text starts with what failed, if given."""
    lead = f"Could not {action}. " if action else ""
    known = _as_vault_error(exc)
    if known is None:
        log.debug("unexpected %s%s; at:\n%s", type(exc).__name__,
                  f" while trying to {action}" if action else "",
                  "".join(traceback.format_tb(exc.__traceback__)))
        return (GENERIC_TITLE,
                f"{lead}An unexpected error occurred ({type(exc).__name__}).",
                "Try again. If it keeps happening, report the steps that led to it.")
    title = KIND_TEXT[known.kind][0]
    said = PLAIN.get(known.kind) or _sentence(str(known))
    return title, redact(lead + said), redact(_hint(known))


def error_details(exc: BaseException) -> str | None:
    """The core's own message where the dialog words it plainly (``PLAIN``): for
    "Show Details…", and for whoever helps the person."""
    known = _as_vault_error(exc)
    if known is None or known.kind not in PLAIN:
        return None
    return redact(_sentence(str(known)))


def show_error(parent: QWidget | None, exc: BaseException, *, action: str) -> QMessageBox | None:
    """Show ``exc`` as a window-modal message box (non-blocking). Cancelled shows nothing."""
    if isinstance(exc, E.Cancelled):
        return None
    title, text, hint = error_text(exc, action)
    generic = title == GENERIC_TITLE
    # The headline repeats the title: some platforms show no window titles on dialogs.
    box = QMessageBox(QMessageBox.Icon.Critical if generic else QMessageBox.Icon.Warning,
                      title, title, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.setAccessibleName(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(f"{text}\n\n{hint}" if hint else text)
    details = error_details(exc)
    if details:
        box.setDetailedText(f"Technical details: {details}")
    box.setStyleSheet("QLabel#qt_msgbox_label { font-weight: bold; }"
                      "QLabel#qt_msgbox_informativelabel { min-width: 380px; }")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if parent is not None:
        box.setWindowModality(Qt.WindowModality.WindowModal)
    else:
        box.setWindowModality(Qt.WindowModality.ApplicationModal)
        _OPEN.add(box)
        box.finished.connect(lambda _result: _OPEN.discard(box))
    box.open()
    return box
