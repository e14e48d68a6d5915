"""What a file's signature status means, in words a person can act on.

The core reports a status (``valid``, ``invalid``, ``unknown signer``, ``unsigned``,
``unreadable``, and for history that went wrong in a shared or synced folder
``conflict`` and ``rollback``) and a technical detail ("the content is not the signed content",
"chunk 0 failed authentication"). The window leads with these sentences and keeps the
detail for "Technical details"; the list, the details pane and the Verify result all
word a status the same way.
"""

from __future__ import annotations

#: The Signature column's word for each status.
SHORT = {"valid": "Valid", "invalid": "Invalid", "unreadable": "Damaged",
         "unknown signer": "Unknown signer", "unsigned": "Unsigned",
         "conflict": "Sync conflict", "rollback": "Older copy put back"}

#: One sentence per status: what it means for the person looking at the file.
SENTENCE = {
    "valid": "Signed by a member of this vault, and unchanged since.",
    "invalid": "Changed after it was signed, or signed by someone not allowed to: do not "
               "trust its content. Restore it from a backup, or ask its owner to lock it "
               "again.",
    "unreadable": "Damaged: it cannot be read. Restore it from a backup.",
    "unknown signer": "Signed by someone who is not a member of this vault.",
    "unsigned": "Not signed: a plain age file, not locked by a vault.",
    "conflict": "A sync conflict: two copies of the vault were changed apart, and this "
                "copy may carry an old access list (from before someone's access was "
                "removed). Do not rely on it until a vault admin resolves it.",
    "rollback": "An older copy was put back: this account has seen a newer version, so "
                "a change since then (such as removing someone's access) may have been "
                "undone. Do not rely on it until a vault admin resolves it.",
}

#: Statuses that make a row red.
BAD = frozenset({"invalid", "unreadable", "conflict", "rollback"})
#: Bad statuses whose detail says what happened (which copy, which version): the
#: details pane shows it under the sentence, not only in a tooltip.
HISTORY = frozenset({"conflict", "rollback"})


def short(status: str | None) -> str:
    if status is None:
        return "…"
    return SHORT.get(status, status.capitalize())


def sentence(status: str) -> str:
    return SENTENCE.get(status, status.capitalize() + ".")


def describe(status: str, detail: str) -> str:
    """For the details pane: who signed it, when that is good news ("Valid: signed by
    alice on 2026-11-30."); what it means, when it is bad (the core's technical
    detail stays in the tooltip); for a sync conflict or a rollback, what happened
    ("Older copy put back. This is version 1 of the file, but …"): the detail names the
    copy or the version, which the general sentence (then in the tooltip) cannot."""
    if status in HISTORY and detail:
        happened = without_marker(detail)
        end = "" if happened.endswith((".", "!", "?")) else "."
        return f"{short(status)}. {happened}{end}"
    if status in BAD or not detail:
        return sentence(status)
    return f"{short(status)}: {detail}."


def without_marker(problem: str) -> str:
    """A core problem without its leading marker ("rollback: ", "fork: ", "conflict: "),
    which the core puts first so that tools can sort problems; people read the rest."""
    word, sep, rest = problem.partition(": ")
    if sep and word in ("rollback", "fork", "conflict") and rest:
        return rest[0].upper() + rest[1:]
    return problem


def status_of_error(exc: BaseException) -> str | None:
    """The status a failed full read proves (Unlock, Preview): content changed or a
    signature that does not hold make "invalid", a damaged file "unreadable"; other
    failures (no access, a full disk) say nothing about the file."""
    from vault_app.core.errors import ErrorKind, VaultError

    kind = exc.kind if isinstance(exc, VaultError) else None
    if kind in (ErrorKind.TAMPERED, ErrorKind.BAD_SIGNATURE):
        return "invalid"
    if kind in (ErrorKind.TRUNCATED, ErrorKind.MALFORMED):
        return "unreadable"
    return None
