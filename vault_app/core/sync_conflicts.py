"""Names that sync tools give to the losing copy of a file changed in two places.

Syncthing, Dropbox, Nextcloud/ownCloud, OneDrive, Google Drive, iCloud and Resilio do not
merge: when two copies of a file changed apart, the newer one keeps the name and the other
is kept beside it under a marked name. A vault must notice such copies (of a locked file, or
of its own metadata in ``.vault/``): the copy under the real name may be the one that lost a
revocation. Markers, as the tools write them (``data.csv.age`` as the example):

==================  ====================================================  =========
tool                conflict copy                                         strength
==================  ====================================================  =========
Syncthing           ``data.csv.sync-conflict-20261130-101010-ABCDEFG.age``  strong
Dropbox             ``data.csv (alice's conflicted copy 2026-11-30).age``   strong
Nextcloud/ownCloud  ``data.csv (conflicted copy 2026-11-30 101010).age``    strong
ownCloud (old)      ``data.csv_conflict-20261130-101010.age``               strong
Resilio             ``data.csv.Conflict.age``                                strong
OneDrive            ``data.csv-DESKTOP-ABC1234.age`` (the computer's name)   strong*
Google Drive        ``data.csv (1).age``                                     weak
iCloud              ``data.csv 2.age``                                       weak
==================  ====================================================  =========

A weak marker is also an ordinary way to name a second file, so it counts only together
with other evidence (the same file id as another file). OneDrive uses the computer's own
name; only Windows' default names (DESKTOP-…, LAPTOP-…) are recognized, so copies named
after other computers are caught by their duplicate file id instead.
"""

from __future__ import annotations

import re

from vault_app.core.value_class import value_class

# Each pattern matches the marker, which the tools put just before the last extension
# (or at the end of a name without one).
_END = r"(?=\.[^.]*$|$)"
_STRONG: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Syncthing", re.compile(r"\.sync-conflict-\d{8}-\d{6}(?:-[A-Z0-9]{7})?" + _END)),
    ("Dropbox or Nextcloud", re.compile(
        r" \((?:[^()]*\bconflicted copy\b(?:[^()]|\(\d+\))*|Case Conflict|"
        r"Selective Sync Conflict)\)" + _END, re.IGNORECASE)),
    ("ownCloud", re.compile(r"_conflict-\d{8}-\d{6}" + _END)),
    ("Resilio", re.compile(r"\.Conflict\d*" + _END)),
    ("OneDrive", re.compile(r"-(?:DESKTOP|LAPTOP)-[A-Z0-9]{4,12}(?:-\d+)?" + _END)),
)
_WEAK: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Google Drive", re.compile(r" \(\d{1,3}\)" + _END)),
    ("iCloud", re.compile(r" \d{1,3}" + _END)),
)


@value_class
class ConflictName:
    """What a name says: which tool marked it, the name it was copied from, how sure."""

    tool: str
    original: str
    strong: bool


def conflict_name(name: str) -> ConflictName | None:
    """The conflict marker in ``name`` (a file name, not a path), or None."""
    for strong, patterns in ((True, _STRONG), (False, _WEAK)):
        for tool, pattern in patterns:
            match = pattern.search(name)
            if match is not None and match.start() > 0:
                original = name[: match.start()] + name[match.end():]
                return ConflictName(tool, original, strong)
    return None
