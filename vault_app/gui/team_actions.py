"""The vault as a team sees it: membership, first use, and the vault's own health.

A part of ``MainWindow`` (mixed in). When a vault opens, and whenever its records change
on disk (``vault_state.MetaWatch``) or the window's own changes finish, the vault's state
is read on the read lane (``vault_state.read_state``) and shown in the banner above the
list (``vault_banner.py``): not a member (Ask to join…), a request waiting (the
fingerprint to read out), people waiting for an admin, a registry rolled back or forked
or sync conflict copies of the vault's records (Verify, Resolve… for admins:
``dialogs/resolve.py``, the core's ``doctor``). The first time this account opens a
vault, who its first admin is and their key fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from vault_app.gui.file_actions import FileActions
from vault_app.gui.vault_state import VaultState, read_state

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from vault_app.core.joining import JoinRequest
    from vault_app.core.keystore import Keystore
    from vault_app.core.vault import Vault
    from vault_app.gui.vault_banner import VaultBanner


class TeamActions(FileActions):
    """Membership and vault health (a part of ``MainWindow``)."""

    banner: VaultBanner
    keystore: Keystore
    act_join: QAction
    act_resolve: QAction
    #: Rescan the vault and read its state again (F5; ``main_window.py``).
    refresh: Callable[[], None]
    #: The latest state read for the open vault (None until read).
    vault_state: VaultState | None

    def _connect_banner(self) -> None:
        self.vault_state = None
        self.banner.verify = self.verify_vault
        self.banner.ask_to_join = self.ask_to_join_action
        self.banner.members = self.members_action
        self.banner.resolve = self.resolve_action
        self.meta_watch.changed.connect(self.refresh_state)
        self.tasks.idle.connect(self.refresh_state)

    def _vault_opened(self, vault: Vault | None) -> None:
        """A vault was set: watch its records, read its state, say if it is new to us."""
        self.vault_state = None
        self.banner.clear()
        self.act_join.setEnabled(False)
        self.act_resolve.setEnabled(False)
        self.meta_watch.watch(vault.path if vault is not None else None)
        if vault is None:
            return
        first = vault.first_use
        if first is not None:
            self.banner.show_first_use(first.root_admin, first.fingerprint, vault.user)
        self.refresh_state()

    def refresh_state(self) -> None:
        """Read the open vault's state again (read lane); the banner follows."""
        vault = self.vault
        if vault is None:
            return
        self.tasks.read(lambda: read_state(vault), owner=self.banner,
                        on_success=lambda state: self._show_state(vault, state),
                        on_failure=lambda _exc: None)   # a folder we cannot read: the
        # list and every operation already say why; the banner adds nothing

    def _show_state(self, vault: Vault, state: VaultState) -> None:
        if vault is not self.vault:
            return   # another vault was opened meanwhile
        before, self.vault_state = self.vault_state, state
        if before is not None and not before.member and state.member:
            self.notice.show_notice(
                f"You are now a member of {vault.path.name}: files shared with you can be "
                "unlocked, and you can lock your own.", "done")
        self.act_join.setEnabled(not state.member and state.entry_problem is None)
        self.act_resolve.setEnabled(state.admin)
        self.banner.show_state(state, vault.user)

    # -- joining --------------------------------------------------------------------------
    def ask_to_join_action(self) -> None:
        from vault_app.gui.dialogs.join import JoinDialog

        vault = self._need_vault()
        if vault is None:
            return
        dialog = JoinDialog(vault.path, vault.user, self.keystore, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.requested.connect(self._asked_to_join)
        dialog.open()

    def _asked_to_join(self, _vault: Vault, _request: JoinRequest) -> None:
        self.refresh_state()

    # -- the vault's health ---------------------------------------------------------------
    def verify_vault(self) -> None:
        """Verify the whole vault: every file, plus what spans files (conflict copies,
        duplicate ids, the audit log cross-checked against the registry and the files)."""
        vault = self._need_vault()
        if vault is None:
            return
        self.tasks.read(vault.verify, what="verify the vault", label="Verifying the vault",
                        on_success=self._verified)

    def resolve_action(self) -> None:
        """Repair sync conflicts, forks and rollbacks (admins): the plan, consent, the
        repairs (``dialogs/resolve.py``); the list and the banner follow."""
        from vault_app.gui.dialogs.resolve import ResolveDialog

        vault = self._need_vault()
        if vault is None:
            return
        dialog = ResolveDialog(vault, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resolved.connect(lambda _lines: self.refresh())
        dialog.open()
