"""Error dialogs: a title per failure class, a hint, never a traceback or a secret."""

from __future__ import annotations

import errno
import logging
from typing import Any

import keyring.errors
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from vault_app.core import errors as E
from vault_app.core.atomic import describe_os_error
from vault_app.core.errors import ErrorKind, Remedy
from vault_app.core.keys import generate_identity
from vault_app.gui.dialogs.errors import (
    GENERIC_TITLE,
    KIND_TEXT,
    REMEDY_TEXT,
    error_details,
    error_text,
    show_error,
)


@pytest.mark.parametrize(("exc", "title"), [
    (E.NoIdentityMatchError("no identity matched"), "You don't have access to this file"),
    (E.BadPassphraseError("bad passphrase"), "Wrong passphrase"),
    (E.AccessDeniedError("alice is not an owner of x.csv.age"),
     "You don't have access to this file"),
    (E.HeaderMACError("header MAC mismatch"), "File tampered with or damaged"),
    (E.PayloadError("chunk 2 failed authentication"), "File tampered with or damaged"),
    (E.TruncatedError("payload ended early"), "File incomplete or damaged"),
    (E.MalformedError("bad stanza"), "Not a readable locked file"),
    (E.KeyringUnavailableError("no keyring backend"), "No keyring available"),
    (keyring.errors.NoKeyringError("No recommended backend"), "No keyring available"),
    (keyring.errors.KeyringLocked("locked"), "No keyring available"),
    (describe_os_error(OSError(errno.ENOSPC, "No space left"), "/v/a.age"), "Disk full"),
    (describe_os_error(OSError(errno.EACCES, "Permission denied"), "/v"), "Permission denied"),
    (OSError(errno.ENOSPC, "No space left on device", "/v/a.age"), "Disk full"),
    (E.SignatureError("ACL signature invalid"), "Signature does not hold"),
    (E.NotAVaultError("/tmp is not a vault"), "Not a vault"),
])
def test_each_failure_class_gets_its_own_title(exc: BaseException, title: str) -> None:
    got_title, text, hint = error_text(exc, "unlock data.csv.age")
    assert got_title == title
    assert text.startswith("Could not unlock data.csv.age. ")
    assert hint  # always something to try next
    assert "Traceback" not in text + hint


def test_the_window_words_advice_from_kind_and_remedy() -> None:
    exc = E.KeyringUnavailableError("no usable OS keyring was found")
    title, _text, hint = error_text(exc)
    assert exc.hint is None  # the core gives a kind, not command-line advice
    assert title == "No keyring available"
    assert hint == ("Unlock your keyring, or keep your keys in a passphrase-protected key "
                    "file instead.")
    _t, _x, hint = error_text(E.NotAVaultError("/tmp/x is not a vault"))
    assert hint == "Open another folder, or create a vault there."
    _t, _x, hint = error_text(E.AccessDeniedError("x", hint="only a file's owners may do it"))
    assert hint == "Only a file's owners may do it."
    _t, _x, hint = error_text(E.UnknownUserError("'bob' is not a member of this vault",
                                                 remedy=Remedy.ADD_MEMBER))
    assert hint == REMEDY_TEXT[Remedy.ADD_MEMBER]


@pytest.mark.parametrize(("message", "kind", "title"), [
    ("x.csv: not enough disk space", ErrorKind.PERMISSION, "Permission denied"),
    ("x.csv: permission denied", ErrorKind.NO_SPACE, "Disk full"),
    ("x.csv: already exists", ErrorKind.IO, "Could not read or write a file"),
    ("bob is already a member", ErrorKind.EXISTS, "Already exists"),
])
def test_the_title_follows_the_kind_never_the_message(message: str, kind: ErrorKind,
                                                      title: str) -> None:
    got, _text, hint = error_text(E.VaultError(message, kind=kind))
    assert got == title
    assert hint == KIND_TEXT[kind][1]


def test_every_kind_has_a_title_and_every_remedy_a_wording() -> None:
    assert set(KIND_TEXT) == set(ErrorKind)
    assert set(REMEDY_TEXT) == set(Remedy)
    for kind, (title, hint) in KIND_TEXT.items():
        assert title, kind
        assert hint or kind is ErrorKind.CANCELLED, kind
    for text in [h for _t, h in KIND_TEXT.values()] + list(REMEDY_TEXT.values()):
        assert "`" not in text and " --" not in text, text  # the window's own words


def test_file_names_keep_their_case() -> None:
    _t, text, _h = error_text(E.NotAVaultError("data.csv.age: is not in a vault"))
    assert text == "data.csv.age: is not in a vault."
    _t, text, _h = error_text(E.NotAVaultError("the folder is not a vault"))
    assert text == "The folder is not a vault."


def test_jargon_goes_under_details_in_plain_words_up_front() -> None:
    """Issue 17: "Chunk 0 failed authentication", "not valid JSON" in the dialog."""
    exc = E.PayloadError("chunk 0 failed authentication")
    _title, text, _hint = error_text(exc, "unlock a.csv")
    assert text == ("Could not unlock a.csv. The file was changed after it was locked, so "
                    "its content cannot be trusted.")
    assert "chunk" not in text.lower()
    assert error_details(exc) == "Chunk 0 failed authentication."
    damaged = E.VaultFormatError("members.json: not valid JSON")
    assert "JSON" not in error_text(damaged)[1] and "JSON" in (error_details(damaged) or "")
    assert error_details(E.NotAVaultError("/tmp is not a vault")) is None


def test_vault_error_message_and_hint_are_shown() -> None:
    exc = describe_os_error(OSError(errno.ENOSPC, "x"), "/data/big.csv.age")
    _title, text, hint = error_text(exc)
    assert "/data/big.csv.age" in text
    assert hint == "Free some space and try again."


def test_unknown_errors_show_only_the_class_name(caplog: pytest.LogCaptureFixture) -> None:
    secret = str(generate_identity())  # something that must never appear anywhere
    try:
        raise ValueError(f"bad value {secret}")
    except ValueError as caught:
        exc = caught
    with caplog.at_level(logging.DEBUG, logger="vault_app.gui.dialogs.errors"):
        title, text, hint = error_text(exc, "preview")
    assert title == GENERIC_TITLE
    assert "ValueError" in text
    assert secret not in text + hint
    assert "ValueError" in caplog.text
    assert secret not in caplog.text


def test_secret_shaped_text_is_scrubbed_even_from_vault_errors() -> None:
    secret = str(generate_identity())
    _t, text, _h = error_text(E.KeyFormatError(f"cannot parse {secret}"))
    assert secret not in text
    assert "[secret removed]" in text


def test_cancelled_shows_nothing(qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    assert show_error(parent, E.Cancelled(), action="lock a.csv") is None
    assert parent.findChildren(QMessageBox) == []


def test_show_error_opens_a_box_the_user_can_dismiss(qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    box = show_error(parent, E.PayloadError("chunk 7 failed authentication"),
                     action="unlock x.csv.age")
    assert box is not None
    qtbot.waitExposed(box)
    assert box.windowTitle() == "File tampered with or damaged"
    assert box.text() == "File tampered with or damaged"
    assert box.informativeText().startswith("Could not unlock x.csv.age. The file was "
                                            "changed after it was locked")
    assert box.informativeText().endswith("ask its owner to lock it again.")
    assert box.detailedText() == "Technical details: Chunk 7 failed authentication."
    ok = box.button(QMessageBox.StandardButton.Ok)
    assert isinstance(ok, QPushButton)
    with qtbot.waitSignal(box.finished, timeout=5000):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert not box.isVisible()
