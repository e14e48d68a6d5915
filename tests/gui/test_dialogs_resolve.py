"""Resolve… (admins): the plan first (nothing changed), consent, the repairs on the change
lane, what they did; the banner and the list follow. Cancel changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from gui_support import SYNCTHING, VaultEnv, find_dialog, open_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from vault_app.gui.dialogs.resolve import ResolveDialog
from vault_app.gui.main_window import MainWindow


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "locks" not in p.parts)


def planned(qtbot, w: MainWindow) -> ResolveDialog:  # type: ignore[no-untyped-def]
    dialog = find_dialog(ResolveDialog)
    assert dialog is not None
    if dialog.repairs is None:
        with qtbot.waitSignal(dialog.planned, timeout=20000):   # the plan: read lane
            pass
    return dialog


def steps(dialog: ResolveDialog) -> list[str]:
    return [dialog.steps.item(i).text() for i in range(dialog.steps.count())]


def test_an_admin_resolves_a_registry_conflict_from_the_banner(
        qtbot, vault_env: VaultEnv) -> None:
    meta = vault_env.vault.path / ".vault"
    shutil.copy(meta / "members.json", meta / f"members{SYNCTHING}.json")
    w = open_window(qtbot, vault_env.vault)
    assert w.banner.health.isVisible() and w.act_resolve.isEnabled()
    resolve = w.banner.health.button("Resolve…")
    assert resolve is not None
    before = files_of(vault_env.vault.path)
    qtbot.mouseClick(resolve, Qt.MouseButton.LeftButton)
    dialog = planned(qtbot, w)
    (step,) = steps(dialog)
    assert step.startswith("1. merge the member registry with its conflict copies")
    assert "1 repair(s) will be made" in dialog.intro.text()
    assert files_of(vault_env.vault.path) == before   # the plan changed nothing
    with qtbot.waitSignal(dialog.resolved, timeout=20000):   # consent: the change lane
        qtbot.mouseClick(dialog.resolve_button, Qt.MouseButton.LeftButton)
    (done,) = steps(dialog)
    assert done.startswith("Done: member registry merged into version")
    assert dialog.resolve_button.text() == "Close"
    assert not (meta / f"members{SYNCTHING}.json").exists()
    kept = list((meta / "resolved").rglob(f"*{SYNCTHING}*"))   # set aside, not deleted
    assert len(kept) == 1
    qtbot.waitUntil(lambda: not w.banner.health.isVisible(), timeout=10000)
    assert vault_env.vault.health() == []
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        dialog.resolve_button.click()
    w.tasks.shutdown()


def test_cancel_changes_nothing(qtbot, vault_env: VaultEnv) -> None:
    meta = vault_env.vault.path / ".vault"
    shutil.copy(meta / "members.json", meta / f"members{SYNCTHING}.json")
    w = open_window(qtbot, vault_env.vault)
    before = files_of(vault_env.vault.path)
    w.act_resolve.trigger()
    dialog = planned(qtbot, w)
    assert dialog.resolve_button.isEnabled()
    dialog.reject()
    qtbot.waitUntil(lambda: not w.tasks.busy())
    assert files_of(vault_env.vault.path) == before
    assert w.banner.health.isVisible()
    w.tasks.shutdown()


def test_an_older_copy_of_a_file_is_set_aside_and_leaves_the_list(
        qtbot, vault_env: VaultEnv) -> None:
    src = vault_env.root / "in" / "trial.csv"
    src.parent.mkdir()
    src.write_bytes(b"id\n1\n")
    locked = vault_env.vault.lock(src).path
    copy = locked.with_name(f"trial.csv{SYNCTHING}.age")
    shutil.copy(locked, copy)                     # a sync tool kept version 1 ...
    vault_env.vault.share(locked, "bob")          # ... while the file went on to version 2
    w = open_window(qtbot, vault_env.vault)
    assert w.model.row_of(copy) is not None
    w.act_resolve.trigger()
    dialog = planned(qtbot, w)
    assert any("trial.csv" in s for s in steps(dialog)), steps(dialog)
    with qtbot.waitSignal(dialog.resolved, timeout=20000):
        dialog.resolve_button.click()
    assert not copy.exists() and locked.exists()
    qtbot.waitUntil(lambda: w.model.row_of(copy) is None, timeout=10000)   # the list follows
    assert vault_env.vault.info(locked).signature == "valid"
    w.tasks.shutdown()


def test_nothing_to_resolve_says_so(qtbot, vault_env: VaultEnv) -> None:
    w = open_window(qtbot, vault_env.vault)
    assert not w.banner.health.isVisible()
    w.act_resolve.trigger()
    dialog = planned(qtbot, w)
    assert steps(dialog) == [] and "Nothing needs repair" in dialog.intro.text()
    assert not dialog.resolve_button.isVisible()
    assert dialog.cancel_button.text() == "Close"
    dialog.reject()
    w.tasks.shutdown()


def test_a_member_who_is_not_admin_is_not_offered_resolve(qtbot, vault_env: VaultEnv
                                                          ) -> None:
    meta = vault_env.vault.path / ".vault"
    shutil.copy(meta / "members.json", meta / f"members{SYNCTHING}.json")
    w = open_window(qtbot, vault_env.as_user("bob"))
    assert w.banner.health.isVisible()
    assert w.banner.health.button("Resolve…") is None
    assert w.banner.health.button("Verify") is not None
    assert not w.act_resolve.isEnabled()
    w.tasks.shutdown()


def test_the_recovery_key_file_is_checked(qtbot, vault_env: VaultEnv, tasks,
                                          tmp_path: Path) -> None:
    dialog = ResolveDialog(vault_env.vault, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("hello\n")
    assert not dialog.use_recovery_file(not_a_key)
    box = find_dialog(QMessageBox, "errorBox")
    assert box is not None and "recovery key" in box.informativeText()
    box.close()
    key = tmp_path / "recovery.txt"
    key.write_text(vault_env.recovery + "\n")
    assert dialog.use_recovery_file(key)
    assert "recovery.txt will be used" in dialog.recovery_label.text()
    qtbot.waitUntil(lambda: dialog.repairs is not None, timeout=20000)
