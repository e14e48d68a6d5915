"""Strips above the file list about the vault as a whole (not about one file).

Three, each shown only when it has something to say, in this order:

* **health** (red): the vault's records were rolled back, forked or left as sync
  conflict copies (``Vault.health``), with Verify and, for admins, Resolve…; it stays
  while the problem does (no close button: it is not news, it is the vault's state);
* **membership**: not a member (Ask to join…), a request waiting (the fingerprint to
  read out), a request under one's name that holds someone else's keys, one's own
  registry entry not verifying, or, for admins, people waiting to be approved (Members…);
* **first use**: the first time this account opens a vault, who its first admin is and
  their key fingerprint, to compare with them (Got it hides it; it is shown once).

The words are chosen here from the state's fields; the core's own sentences go in the
tooltip and in Verify's details.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vault_app.gui.notice import Action, Strip
from vault_app.gui.vault_state import VaultState
from vault_app.gui.verdicts import without_marker

#: The headline for each kind of vault-wide problem (the core's first word).
HEADLINE = {
    "rollback": "An older copy of this vault's records was put back.",
    "fork": "Two copies of this vault were changed apart (a sync fork).",
    "conflict": "A sync tool left conflict copies of this vault's records.",
}


def health_text(problems: tuple[str, ...]) -> str:
    """A headline per kind of problem, then the first problem in the core's words."""
    kinds = []
    for problem in problems:
        word = problem.split(":", 1)[0]
        if HEADLINE.get(word, "") not in kinds:
            kinds.append(HEADLINE.get(word, ""))
    lead = " ".join(k for k in kinds if k) or "This vault's records need attention."
    first = without_marker(problems[0])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (f"{lead} Do not rely on who may read what until it is resolved.\n"
            f"{first}{more}")


class VaultBanner(QWidget):
    """The strips; the window sets what each button does (``verify``, ``resolve``,
    ``ask_to_join``, ``members``); ``shown`` after each state is shown."""

    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaultBanner")
        self.setAccessibleName("Vault status")
        self.health = Strip("healthBanner", self)
        self.membership = Strip("memberBanner", self)
        self.first_use = Strip("firstUseBanner", self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        for strip in (self.health, self.membership, self.first_use):
            column.addWidget(strip)
        self.verify: Callable[[], object] = lambda: None
        self.resolve: Callable[[], object] = lambda: None
        self.ask_to_join: Callable[[], object] = lambda: None
        self.members: Callable[[], object] = lambda: None

    def clear(self) -> None:
        for strip in (self.health, self.membership, self.first_use):
            strip.hide()

    def show_state(self, state: VaultState, user: str) -> None:
        if state.problems:
            actions: tuple[Action, ...] = (("Verify", self.verify),)
            if state.admin:
                actions += (("Resolve…", self.resolve),)
            self.health.show_text(health_text(state.problems), "warning", actions,
                                  tip="\n\n".join(state.problems))
        else:
            self.health.hide()
        self._show_membership(state, user)
        self.shown.emit()

    def _show_membership(self, state: VaultState, user: str) -> None:
        request = state.request
        if state.entry_problem is not None:
            self.membership.show_text(
                f"Your entry ({user}) in this vault's member registry does not verify: "
                "someone edited the registry, or your keys were replaced. Do not trust "
                "this vault until a vault admin has checked it.", "warning",
                (("Verify", self.verify),), tip=state.entry_problem)
        elif state.member:
            if state.admin and state.waiting:
                who = "1 person is" if state.waiting == 1 else f"{state.waiting} people are"
                self.membership.show_text(
                    f"{who} asking to join this vault. Approve only after they read you "
                    "their fingerprint.", "info", (("Members…", self.members),))
            else:
                self.membership.hide()
        elif request is None:
            self.membership.show_text(
                f"You ({user}) are not a member of this vault: you can see its file names, "
                "but not lock, unlock or share. Ask to join, then have a vault admin "
                "approve you.", "info", (("Ask to join…", self.ask_to_join),))
        elif request.mine:
            self.membership.show_text(
                f"Your request to join is waiting for a vault admin. Read them your "
                f"fingerprint, in person or by phone: {request.fingerprint}", "info",
                tip="An admin approves you by typing this fingerprint; it proves the "
                    "request holds your keys.")
        else:
            owner = f" (the file belongs to the login {request.file_owner})" \
                if request.file_owner else ""
            self.membership.show_text(
                f"A request to join under your name ({user}) is waiting, but it does not "
                f"hold your keys: someone else wrote it{owner}. Tell a vault admin not to "
                "approve it, and ask to join again.", "warning",
                (("Ask to join…", self.ask_to_join),))

    def show_first_use(self, root_admin: str, key_fingerprint: str, user: str) -> None:
        who = "you" if root_admin == user else root_admin
        compare = ("It should be the fingerprint of your own signing key." if who == "you"
                   else f"Compare it with {root_admin} (in person or by phone) before you "
                        "trust this vault: anyone who can write its folder could have made "
                        "it.")
        self.first_use.show_text(
            f"You open this vault for the first time. Its first admin is {who}, with the "
            f"key fingerprint {key_fingerprint}. {compare}", "info",
            (("Got it", self.first_use.hide),))
