"""PassphrasePrompt: the keystore asks for a key file's passphrase from a worker thread;
the dialog shows on the UI thread, and the answer (or Cancel) goes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.backends.fail
import pytest
from gui_support import answer_later
from PySide6.QtWidgets import QInputDialog, QWidget

from vault_app.core.errors import BadPassphraseError
from vault_app.core.keystore import Keystore
from vault_app.gui.dialogs.passphrase import PassphrasePrompt
from vault_app.gui.tasks import Tasks

PASSPHRASE = "a long enough passphrase"


def _key_file_store(config: Path, ask: Any) -> Keystore:
    return Keystore(backend=keyring.backends.fail.Keyring(), config_dir=config,
                    use_key_file=True, passphrase=ask, work_factor=10)


@pytest.fixture
def gus(tmp_path: Path) -> str:
    store = _key_file_store(tmp_path / "config", lambda _p, _c: PASSPHRASE.encode())
    return store.create("gus").recipient


def _type(text: str | None) -> Any:
    def act(dialog: QInputDialog) -> None:
        if text is None:
            dialog.reject()
        else:
            dialog.setTextValue(text)
            dialog.accept()
    return act


def test_worker_thread_load_asks_on_the_ui_thread(qtbot: Any, tmp_path: Path, gus: str,
                                                  tasks: Tasks) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    prompt = PassphrasePrompt(window)
    store = _key_file_store(tmp_path / "config", prompt.ask)
    labels: list[str] = []

    def answer(dialog: QInputDialog) -> None:
        labels.append(dialog.labelText())
        _type(PASSPHRASE)(dialog)

    answer_later(QInputDialog, answer, name="passphraseDialog")
    loaded: list[Any] = []
    with qtbot.waitSignal(tasks.idle, timeout=10000):
        tasks.change(lambda progress, cancel: store.load("gus"), label="Opening your keys",
                     on_success=loaded.append)
    assert loaded[0].recipient == gus
    assert labels == ["Passphrase for gus's keys:"]
    assert store.load("gus").recipient == gus  # cached: not asked again


def test_wrong_passphrase_and_cancel(qtbot: Any, tmp_path: Path, gus: str,
                                     tasks: Tasks) -> None:
    prompt = PassphrasePrompt()
    store = _key_file_store(tmp_path / "config", prompt.ask)
    answer_later(QInputDialog, _type("not it"), name="passphraseDialog")
    with qtbot.waitSignal(tasks.task_failed, timeout=10000) as failed:
        tasks.change(lambda progress, cancel: store.load("gus"), label="Opening your keys",
                     on_failure=lambda _exc: None)   # no error dialog in this test
    assert isinstance(failed.args[0], BadPassphraseError)
    answer_later(QInputDialog, _type(None), name="passphraseDialog")
    with qtbot.waitSignal(tasks.task_cancelled, timeout=10000):
        tasks.change(lambda progress, cancel: store.load("gus"), label="Opening your keys")


def test_ui_thread_call_and_confirmation(qtbot: Any) -> None:
    prompt = PassphrasePrompt()

    def answers(*texts: str) -> None:
        def act(dialog: QInputDialog) -> None:
            _type(texts[0])(dialog)
            if len(texts) > 1:
                answers(*texts[1:])
        answer_later(QInputDialog, act, name="passphraseDialog")

    answers("same words", "other words")
    with pytest.raises(BadPassphraseError, match="differ"):
        prompt.ask("New passphrase for gus's keys: ", True)
    answers("same words", "same words")
    assert prompt.ask("New passphrase for gus's keys: ", True) == b"same words"
