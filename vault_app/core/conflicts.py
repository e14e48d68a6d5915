"""What sync tools and copies leave behind in a vault folder, named as conflicts.

When two copies of a vault changed apart are merged (Syncthing, Dropbox, Nextcloud, ...),
the tool keeps one version of each file under its name and the other beside it under a
marked name (``sync_conflicts``). Such a copy is a locked file that still carries its
old access list (perhaps from before a revocation) and the same file id as the file it
was copied from. Neither must pass as an ordinary valid file. This module names:

* conflict copies of locked files (by the tools' markers; weak markers, such as
  Google Drive's ``name (1).ext``, only together with a duplicate file id);
* files that share a file id (a copy made outside the app, or a conflict copy whose name
  no tool marked);
* conflict copies of the vault's own metadata in ``.vault/`` (a registry or an audit log
  that lost a merge);
* vaults inside the vault (a planted ``.vault/`` would capture the files below it).

``vault doctor`` repairs what can be repaired (``doctor.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vault_app.core.acl import Status, Verdict
from vault_app.core.errors import VaultError
from vault_app.core.layout import META
from vault_app.core.sync_conflicts import conflict_name
from vault_app.core.vault_folder import VaultFolder


def copy_verdict(path: Path, signed_name: str | None) -> Verdict | None:
    """CONFLICT if ``path``'s name marks it as a sync tool's conflict copy (a weak marker
    counts only if the file was signed under the unmarked name)."""
    marker = conflict_name(path.name)
    if marker is None:
        return None
    signed_as = signed_name.rsplit("/", 1)[-1] if signed_name else None
    if signed_as == path.name or (not marker.strong and signed_as != marker.original):
        return None  # locked under this very name, or a weak marker without evidence
    return Verdict(Status.CONFLICT, (
        f"conflict: a {marker.tool} conflict copy of {marker.original} (two copies of the "
        "vault were changed apart); a vault admin resolves it with `vault doctor`"))


def duplicate_ids(files: Iterable[tuple[Path, str | None]]) -> dict[Path, list[Path]]:
    """For each file whose id another file also has: the others with that id."""
    by_id: dict[str, list[Path]] = {}
    for path, file_id in files:
        if file_id:
            by_id.setdefault(file_id, []).append(path)
    return {path: [p for p in paths if p != path]
            for paths in by_id.values() if len(paths) > 1 for path in paths}


def duplicate_verdict(others: list[Path], root: Path) -> Verdict:
    names = ", ".join(os.path.relpath(p, root) for p in others[:3])
    return Verdict(Status.CONFLICT, (
        f"conflict: the same file id as {names}: a copy made outside the app or a sync "
        "conflict copy; a vault admin resolves it with `vault doctor`"))


def metadata_conflicts(folder: VaultFolder) -> list[str]:
    """Conflict copies (and leftovers) among the vault's metadata files."""
    found: list[str] = []
    for parts in ([META], [META, "audit-heads"], [META, "requests"]):
        try:
            with folder.folder(parts) as meta:
                names = meta.names()
        except VaultError:  # a missing optional folder
            continue
        for name in sorted(names):
            marker = conflict_name(name)
            if marker is not None and marker.strong:
                found.append(f"conflict: {'/'.join(parts)}/{name} is a {marker.tool} "
                             f"conflict copy of {marker.original}: a merge lost one of two "
                             "versions; a vault admin resolves it with `vault doctor`")
    return found
