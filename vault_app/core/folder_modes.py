"""Who may read and write what the app creates in a vault: taken from the vault folder.

A team vault is a folder owned by an OS group (``vault init DIR --group analysts``: group
owner, mode 2770, setgid so every new entry gets the group). Members run with different
umasks (002, 022, 077), and an admin may instead grant access with default POSIX ACLs.
Deriving modes from each member's umask broke both: a file made by a member at umask 022
was read-only for the others, at 077 unreadable; and forcing such a mode with ``fchmod``
rewrote the ACL mask, cutting off the users a default ACL named.

So the vault folder's own permission bits say how shared it is, and everything the app
creates there as shared data (locked files, metadata, lock files, folders) gets the same
access for the group class and others: a 2770 vault gives files 0660 and folders 2770;
a 0700 vault 0600/0700; a 0755 vault 0644/0755. With POSIX ACLs the group class bits are
the ACL mask, so a default ACL naming users or groups keeps working. The setgid bit is
kept on folders (``chmod`` without it would clear it). Plaintext, keys and temp files never
get these modes: they stay owner-only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vault_app.core.errors import ErrorKind, FileOperationError
from vault_app.core.value_class import value_class


@value_class
class Modes:
    """Modes for shared files and folders the app creates in one vault."""

    file: int
    folder: int

    @classmethod
    def of_folder(cls, mode: int) -> Modes:
        group, other = (mode >> 3) & 0o7, mode & 0o7
        file = 0o600 | ((group & 0o6) << 3) | (other & 0o6)
        folder = 0o700 | (group << 3) | other | (mode & stat.S_ISGID)
        return cls(file, folder)


def modes_of(root: Path) -> Modes:
    """The modes for shared entries of the vault at ``root`` (read from the folder)."""
    try:
        return Modes.of_folder(os.stat(root).st_mode)
    except OSError as exc:
        from vault_app.core.atomic import describe_os_error

        raise describe_os_error(exc, root) from None


PRIVATE = Modes(0o600, 0o700)
TEAM_FOLDER_MODE = 0o2770


def resolve_group(name: str) -> int:
    """The gid of OS group ``name``, checked to include the user running this."""
    try:
        import grp
    except ImportError:  # pragma: no cover - Windows has no POSIX groups
        raise FileOperationError("OS groups are not available on this system", kind=ErrorKind.USAGE,
                                 hint="share the folder with the system's own tools") from None
    try:
        entry = grp.getgrnam(name)
    except KeyError:
        raise FileOperationError(f"there is no OS group named {name!r}", kind=ErrorKind.NOT_FOUND,
                                 hint="create it first (as an administrator: groupadd) and "
                                      "add the team's logins to it") from None
    if os.geteuid() != 0 and entry.gr_gid not in os.getgroups():
        raise FileOperationError(
            f"you are not a member of the OS group {name!r}", kind=ErrorKind.PERMISSION,
            hint="add your login to the group (then log in again) before making its vault")
    return entry.gr_gid


def make_team_folder(root: Path, gid: int) -> None:
    """Give ``root`` to the group: group owner, 2770 (setgid, no access for others)."""
    try:
        os.chown(root, -1, gid)
        os.chmod(root, TEAM_FOLDER_MODE)
    except OSError as exc:
        from vault_app.core.atomic import describe_os_error

        raise describe_os_error(exc, root) from None

