"""GUI fixtures: offscreen Qt and vaults with real users (helpers in gui_support.py).

Keys: with VAULT_TEST_REAL_KEYRING=1 (CI) every vault's keys live in the real Secret
Service keyring, under a service name private to the test (removed afterwards). Without
it, widget tests use the in-memory keyring backend (allowed for widget tests by the GUI
contract); tests that need the real one use ``real_vault_env`` and skip with a reason.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_support import REAL_KEYRING, VaultEnv, build_vault, stop_answer_timers

if (Path(__file__).parent / "conftest_dialogs.py").exists():  # GUI-B's dialog fixtures
    from conftest_dialogs import *  # noqa: F403


@pytest.fixture
def vault_env(tmp_path: Path) -> Iterator[VaultEnv]:
    """A vault in the real keyring when available, else in the in-memory backend."""
    env, cleanup = build_vault(tmp_path, real=REAL_KEYRING)
    yield env
    cleanup()


@pytest.fixture
def real_vault_env(tmp_path: Path) -> Iterator[VaultEnv]:
    if not REAL_KEYRING:
        pytest.skip("needs the real keyring: set VAULT_TEST_REAL_KEYRING=1 (CI does)")
    env, cleanup = build_vault(tmp_path, real=True)
    yield env
    cleanup()


@pytest.fixture(autouse=True)
def _private_qsettings() -> Iterator[None]:
    """QSettings caches its folder per process: point it at this test's config folder."""
    from PySide6.QtCore import QSettings

    from vault_app.gui.dialogs.settings import Settings

    folder = os.environ["XDG_CONFIG_HOME"]
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    # The person in these tests answered "Move" once and asked to be remembered (what a
    # lock does with the original); the question itself: tests/gui/test_lock_choice.py.
    Settings().lock_mode = "move"
    yield


@pytest.fixture(autouse=True)
def _stop_answer_timers() -> Iterator[None]:
    yield
    stop_answer_timers()


@pytest.fixture
def window(qtbot, vault_env: VaultEnv):  # type: ignore[no-untyped-def]
    """The main window on ``vault_env``'s vault, shown; its background work stopped after."""
    from vault_app.gui.main_window import MainWindow

    w = MainWindow(vault_env.vault)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.tasks.shutdown()


@pytest.fixture
def tasks(qtbot):  # type: ignore[no-untyped-def]
    """A background-work helper of its own, for dialogs tested without a window."""
    from vault_app.gui.tasks import Tasks

    t = Tasks()
    yield t
    assert t.shutdown(10000), "a worker thread did not stop"

