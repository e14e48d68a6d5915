"""Errors as dialogs a person can act on: a title naming the failure class, a sentence, a hint.

Never a traceback and never a secret: core errors carry no key material by design, and
the displayed text is scrubbed of anything that looks like a private key as a second
line of defence. Unknown exceptions show only their class name.
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

log = logging.getLogger(__name__)

_SECRET = re.compile(r"(AGE-SECRET-KEY-[0-9A-Z]+|AGE-PLUGIN-[0-9A-Z-]+|"
                     r"VAULT-SIGN-SECRET-KEY-[0-9A-Z]+)", re.IGNORECASE)

GENERIC_TITLE = "Something went wrong"
_NO_KEYRING_HINT = ("Unlock your keyring, or keep your keys in a passphrase-protected key "
                    "file instead.")
_OPEN: set[QMessageBox] = set()  # parentless boxes stay alive until closed

# (class, title, fallback hint) — most specific first: the first isinstance match wins.
_TABLE: list[tuple[type[BaseException], str, str]] = [
    (E.BadPassphraseError, "Wrong passphrase", "Check the passphrase and try again."),
    (E.NoIdentityMatchError, "You don't have access to this file",
     "It was not locked for any of your keys (wrong key). Ask its owner to share it with you."),
    (E.AccessDeniedError, "You don't have access to this file",
     "Ask the file's owner (or a vault admin) to share it with you."),
    (E.TruncatedError, "File incomplete or damaged",
     "It was cut short (an interrupted copy?). Copy it again or restore it from a backup."),
    (E.HeaderMACError, "File tampered with or damaged",
     "Its header was changed after it was locked. Restore it from a backup."),
    (E.PayloadError, "File tampered with or damaged",
     "Its content was changed after it was locked. Restore it from a backup."),
    (E.SignatureError, "Signature does not hold",
     "The file or its access list was changed by someone not allowed to."),
    (E.ArmorError, "File tampered with or damaged", "An armored file must be passed on unchanged."),
    (E.MalformedError, "Not a readable locked file",
     "The file is not a valid age file, or it is damaged."),
    (E.MemberKeyMismatchError, "A member's key changed",
     "Someone edited the member registry, or keys changed. Ask a vault admin."),
    (E.KeyringUnavailableError, "No keyring available", _NO_KEYRING_HINT),
    (E.VaultFormatError, "Vault data damaged", "Restore the .vault folder from a backup."),
    (E.NotAVaultError, "Not a vault", "Open another folder, or create a vault there."),
    (E.UnknownUserError, "Unknown user", "Ask a vault admin to add you as a member."),
    (E.VaultBusyError, "Vault busy", "Another operation is using this file; try again shortly."),
    (E.KeyFormatError, "Not a valid key",
     "Recipients look like age1…, identities like AGE-SECRET-KEY-1…"),
]


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


_CLI_WORDS = re.compile(r"`|(^|[\s(])--[a-z]|VAULT_[A-Z]|\bvault=|\bin a terminal\b")


def _hint(exc: E.VaultError, fallback: str) -> str:
    """The core's hint, unless it speaks command-line (`vault …`, --flags, env vars)."""
    hint = exc.hint or ""
    if not hint or _CLI_WORDS.search(hint):
        return fallback
    return _sentence(hint)


def _file_error(exc: E.FileOperationError) -> str:
    message = str(exc)
    if "disk space" in message:
        return "Disk full"
    if "permission denied" in message or "read-only" in message:
        return "Permission denied"
    if "already exists" in message:
        return "File already exists"
    return "Could not read or write a file"


def error_text(exc: BaseException, action: str | None = None) -> tuple[str, str, str]:
    """``(title, text, hint)`` for ``exc``; the text starts with what failed, if given."""
    lead = f"Could not {action}. " if action else ""
    if isinstance(exc, OSError) and not isinstance(exc, E.VaultError):
        exc = describe_os_error(exc, exc.filename or "a file")
    if isinstance(exc, E.Cancelled):
        return "Cancelled", _sentence(f"{lead}the operation was cancelled"), ""
    if isinstance(exc, E.FileOperationError):
        hint = exc.hint or "Check the folder and try again."
        return _file_error(exc), redact(lead + _sentence(str(exc))), redact(_sentence(hint))
    keyring_errors = sys.modules.get("keyring.errors")  # imported lazily, only if used
    if keyring_errors is not None and isinstance(exc, keyring_errors.KeyringError):
        return ("No keyring available",
                lead + "The operating system's keyring could not be used.", _NO_KEYRING_HINT)
    for cls, title, fallback in _TABLE:
        if isinstance(exc, cls):
            detail = _sentence(str(exc))
            hint = _hint(exc, fallback) if isinstance(exc, E.VaultError) else fallback
            return title, redact(lead + detail), redact(hint)
    if isinstance(exc, E.VaultError):
        hint = _hint(exc, "")
        return "Operation failed", redact(lead + _sentence(str(exc))), redact(hint)
    log.debug("unexpected %s%s; at:\n%s", type(exc).__name__,
              f" while trying to {action}" if action else "",
              "".join(traceback.format_tb(exc.__traceback__)))
    return (GENERIC_TITLE,
            f"{lead}An unexpected error occurred ({type(exc).__name__}).",
            "Try again. If it keeps happening, report the steps that led to it.")


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
