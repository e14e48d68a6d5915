"""SettingsDialog: the three settings are stored in QSettings and the theme applies at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gui_support import VaultEnv
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from vault_app.gui.dialogs.settings import Settings, SettingsDialog
from vault_app.gui.theme import apply_theme, dark_palette


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    apply_theme("system")


def test_defaults(settings: Settings) -> None:
    assert settings.lock_mode == "ask"   # until the person chooses and asks to remember
    assert settings.keep_plaintext is False
    assert settings.theme == "system"
    assert settings.unlock_folder.is_dir()


def test_change_everything_and_ok(qtbot: Any, tmp_path: Path, settings: Settings,
                                  vault_env: VaultEnv) -> None:
    target = tmp_path / "unlocked"
    target.mkdir()
    dialog = SettingsDialog(vault_env.vault, settings=settings)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.folder_edit.clear()
    qtbot.keyClicks(dialog.folder_edit, str(tmp_path / "missing"))
    assert not dialog.ok_button.isEnabled()
    assert dialog.problem.text() == "Choose an existing folder."
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    picker = dialog.folder_dialog
    assert picker is not None
    picker.selectFile(str(target))
    picker.accept()
    assert dialog.folder_edit.text() == str(target)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("copy"))
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    again = Settings(QSettings(settings.store.fileName(), QSettings.Format.IniFormat))
    assert again.unlock_folder == target
    assert again.lock_mode == "copy" and again.keep_plaintext is True
    assert again.theme == "dark"
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = app.palette().color(QPalette.ColorRole.Window)
    assert window == dark_palette().color(QPalette.ColorRole.Window)


def test_cancel_keeps_the_old_values(qtbot: Any, settings: Settings) -> None:
    settings.lock_mode = "move"
    dialog = SettingsDialog(None, settings=settings)
    qtbot.addWidget(dialog)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("copy"))
    dialog.reject()
    assert settings.lock_mode == "move"
    with pytest.raises(ValueError):
        settings.theme = "purple"


def test_the_earlier_keep_setting_counts_as_a_choice(settings: Settings) -> None:
    """Who set "keep the original" before lock/mode existed is not asked again."""
    settings.store.setValue("lock/keep_plaintext", True)
    assert settings.lock_mode == "copy"
    settings.store.setValue("lock/keep_plaintext", False)
    assert settings.lock_mode == "move"
    with pytest.raises(ValueError):
        settings.lock_mode = "shred"
