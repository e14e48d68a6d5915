"""File access inside a vault folder that other people can write: no links, no races.

A shared vault folder is written by people other than the user: group members, removed
members, anyone with write access. Through a path, they can redirect us: a symlink planted
at ``.vault/audit.log`` makes the next append truncate a file of the victim's; a symlinked
subfolder sends a new locked file into the victim's home; a FIFO at ``members.json`` hangs
every command. So inside a vault:

* folders are walked one component at a time from a descriptor of the vault root, each
  opened with ``O_NOFOLLOW | O_DIRECTORY`` (only the root itself, which the user chose,
  may be reached through a link);
* files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and must then be regular files
  (a FIFO, socket or device is refused before anything reads from it);
* what is read is bounded;
* a new file is written under a temporary name created ``O_EXCL`` beside its destination,
  owner-only, then renamed into place, and the name is checked to hold the very inode that
  was written (someone who can rename entries in the folder could swap it meanwhile).

Where the OS has no ``dir_fd`` support (Windows), the same checks run on paths; links
there need privileges that the attackers of this model do not have.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from vault_app.core.atomic import TEMP_SUFFIX, describe_os_error, fsync_dir, pid_alive
from vault_app.core.errors import ErrorKind, FileOperationError

_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class UnsafeEntryError(FileOperationError):
    """An entry in the vault is a link or a special file where a file or folder belongs."""

    kind = ErrorKind.NOT_A_FILE
    hint = ("someone with write access to the vault folder put it there; remove it, "
            "and tell a vault admin")


def _refused(where: str, what: str) -> UnsafeEntryError:
    return UnsafeEntryError(f"{where}: is {what} inside the vault; refused")


def _describe(exc: OSError, where: str) -> FileOperationError:
    if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
        # O_NOFOLLOW | O_DIRECTORY on a link gives ENOTDIR: name what is really there
        if os.path.islink(where) or exc.errno != errno.ENOTDIR:
            return _refused(where, "a symbolic link")
        return _refused(where, "not a folder")
    if exc.errno in (errno.ENXIO, errno.ENODEV):  # a FIFO without reader, a device
        return _refused(where, "not a regular file")
    return describe_os_error(exc, where)


def parts_of(root: Path, path: Path, *, resolved_root: Path | None = None) -> tuple[str, ...]:
    """``path`` as components below ``root``, computed without following links.

    The root may be named through a link (the user chose it); below it nothing is
    resolved. Raises if ``path`` is not inside ``root`` or uses ``..``.
    ``resolved_root`` is ``root.resolve()`` if the caller already has it.
    """
    absolute = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(root)), resolved_root or root.resolve()):
        try:
            rel = PurePosixPath(absolute.relative_to(base).as_posix())
        except ValueError:
            continue
        if any(p in ("", ".", "..") for p in rel.parts):
            break
        return rel.parts
    raise FileOperationError(f"{path}: is not inside the vault at {root}", kind=ErrorKind.USAGE)


class Folder:
    """An open folder of the vault (a descriptor), and its name for messages."""

    def __init__(self, fd: int | None, path: Path) -> None:
        self.fd = fd  # None where the OS has no dir_fd support: paths are used
        self.path = path

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _at(self, name: str) -> tuple[str, int | None]:
        return (name, self.fd) if self.fd is not None else (str(self.path / name), None)

    # -- entries ------------------------------------------------------------------------

    def open_raw(self, name: str, flags: int, mode: int = 0o600) -> int:
        """``os.open`` without following a link, of a regular file only; OSError as the OS
        raised it (for callers that handle one errno themselves). A file this creates
        gets ``mode`` as given, whatever the umask."""
        where, dir_fd = self._at(name)
        base = flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY
        created = False
        if flags & os.O_CREAT and not flags & os.O_EXCL:
            try:  # a file made here gets ``mode`` exactly; the umask would narrow it
                fd = os.open(where, base | os.O_EXCL, mode, dir_fd=dir_fd)
                created = True
            except FileExistsError:
                fd = os.open(where, base & ~os.O_CREAT, mode, dir_fd=dir_fd)
        else:
            fd = os.open(where, base, mode, dir_fd=dir_fd)
            created = bool(flags & os.O_CREAT)
        try:
            if created and mode != 0o600:
                with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
                    os.fchmod(fd, mode)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _refused(str(self.path / name), "not a regular file")
            if _NONBLOCK:
                os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open(self, name: str, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
        """A descriptor of the regular file ``name`` (never a link, FIFO or device)."""
        try:
            return self.open_raw(name, flags, mode)
        except OSError as exc:
            raise describe_entry_error(exc, self, name) from None

    def lstat(self, name: str) -> os.stat_result | None:
        where, dir_fd = self._at(name)
        try:
            return os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None

    def read(self, name: str, limit: int) -> bytes | None:
        """The whole regular file ``name`` (None if it does not exist), at most ``limit``."""
        try:
            fd = self.open_raw(name, os.O_RDONLY, 0)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise FileOperationError(f"{self.path / name}: is too large "
                                     f"(more than {limit} bytes); refused")
        return data

    def names(self) -> list[str]:
        """The entries' names (no order promised)."""
        try:
            return os.listdir(self.fd if self.fd is not None else self.path)
        except OSError as exc:
            raise _describe(exc, str(self.path)) from None

    def subfolder(self, name: str, *, create: bool = False, mode: int = 0o700) -> Folder:
        """The folder ``name`` in this one, never through a link. With ``create`` it is
        made if missing, and a folder made here gets ``mode`` exactly (the umask would
        narrow it, and ``mkdir`` cannot set the setgid bit everywhere)."""
        where, dir_fd = self._at(name)
        made = False
        if create:
            try:
                os.mkdir(where, 0o700, dir_fd=dir_fd)
                made = True
            except FileExistsError:
                pass
            except OSError as exc:
                raise _describe(exc, str(self.path / name)) from None
        if self.fd is None:
            if os.path.islink(where) or not os.path.isdir(where):
                raise _refused(where, "a link or not a folder")
            if made:
                with contextlib.suppress(OSError):
                    os.chmod(where, mode)
            return Folder(None, Path(where))
        try:
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None
        if made:
            with contextlib.suppress(OSError):
                os.fchmod(fd, mode)
        return Folder(fd, self.path / name)

    def unlink(self, name: str) -> None:
        where, dir_fd = self._at(name)
        try:
            os.unlink(where, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None

    def fsync(self) -> None:
        with contextlib.suppress(OSError):
            if self.fd is not None:
                os.fsync(self.fd)
            else:
                fsync_dir(self.path)

    # -- writing a new version of a file ------------------------------------------------

    @contextlib.contextmanager
    def replace(self, name: str, mode: int, *, overwrite: bool = True,
                readable: bool = False) -> Iterator[BinaryIO]:
        """Write a new ``name``: an owner-only temp file, then an atomic rename.

        The temp file is made inside a private folder (0700, made here) beside the
        destination, and renamed from that folder's descriptor: someone who can rename
        entries of this folder may rename the private folder away, but cannot change what
        is in it, and the rename follows the descriptor, so the file published is the
        file written. ``mode`` is given to the complete, synced file just before it is
        published. On any failure nothing is left behind and an error is raised.
        """
        stem = temp_stem(name)
        self.remove_stale_temps(stem)
        box_name = f".{stem}.{os.getpid()}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
        box = self._make_box(box_name)
        try:
            fd = box.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                try:
                    with os.fdopen(fd, "w+b" if readable else "wb", closefd=False) as handle:
                        yield handle
                        handle.flush()
                    os.fsync(fd)
                except OSError as exc:  # disk full, quota, I/O: named, with the real path
                    raise _describe(exc, str(self.path / name)) from None
                with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
                    os.fchmod(fd, mode)
                self._publish(box, name, fd, overwrite)
            finally:
                os.close(fd)
        finally:
            self._remove_box(box, box_name)
        self.fsync()

    def _make_box(self, box_name: str) -> Folder:
        """A new private folder (0700) for one temp file, opened without links."""
        where, dir_fd = self._at(box_name)
        try:
            os.mkdir(where, 0o700, dir_fd=dir_fd)
        except OSError as exc:
            raise _describe(exc, str(self.path / box_name)) from None
        return self.subfolder(box_name)

    def _remove_box(self, box: Folder, box_name: str) -> None:
        """Empty the private folder through its descriptor, then remove it by name only if
        the name still holds it."""
        with contextlib.suppress(OSError, FileOperationError):
            for entry in box.names():
                box.unlink(entry)
            mine = os.fstat(box.fd) if box.fd is not None else None
            found = self.lstat(box_name)
            if found is not None and (mine is None or (found.st_dev, found.st_ino) == (
                    mine.st_dev, mine.st_ino)):
                where, dir_fd = self._at(box_name)
                os.rmdir(where, dir_fd=dir_fd)
        box.close()

    def _publish(self, box: Folder, name: str, fd: int, overwrite: bool) -> None:
        src, src_fd = box._at(name)
        dst, dst_fd = self._at(name)
        try:
            if overwrite:
                os.rename(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            else:
                self._link_no_clobber(src, src_fd, dst, dst_fd)
        except FileExistsError:
            raise FileOperationError(f"{self.path / name}: already exists",
                                     kind=ErrorKind.EXISTS) from None
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None
        published = self.lstat(name)
        mine = os.fstat(fd)
        if published is None or (published.st_dev, published.st_ino) != (mine.st_dev,
                                                                         mine.st_ino):
            raise FileOperationError(
                f"{self.path / name}: was replaced by someone else right after it was "
                "written",
                kind=ErrorKind.BUSY,
                hint="someone with write access to the vault folder is interfering; "
                     "tell a vault admin")

    def _link_no_clobber(self, src: str, src_fd: int | None, dst: str,
                         dst_fd: int | None) -> None:
        """Give the temp file its name unless the name exists (a hard link cannot clobber;
        where the file system has none, e.g. FAT, a checked rename)."""
        try:
            os.link(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS,
                                 errno.EMLINK):
                raise
            if os.path.lexists(self.path / Path(dst).name):
                raise FileExistsError(errno.EEXIST, "exists") from None
            os.rename(src, dst, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            return


    def remove_stale_temps(self, stem: str) -> None:
        """Remove this user's temp files (and their private folders) for ``stem`` whose
        writer died (kill -9, a crash).

        Only our own (another member's live writer may be on another machine, where its
        pid means nothing here), only of processes that no longer exist, never through
        a link."""
        prefix = f".{stem}."
        for name in self.names():
            if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
                continue
            pid_text = name[len(prefix) : -len(TEMP_SUFFIX)].split(".", 1)[0]
            info = self.lstat(name)
            if (info is None or not pid_text.isdigit() or info.st_uid != _uid()
                    or pid_alive(int(pid_text))):
                continue
            with contextlib.suppress(FileOperationError, OSError):
                if stat.S_ISDIR(info.st_mode):
                    self._remove_box(self.subfolder(name), name)
                elif stat.S_ISREG(info.st_mode):
                    self.unlink(name)

    def append(self, name: str, data: bytes, mode: int) -> None:
        """Append ``data`` to the regular file ``name`` (created with ``mode``) and sync."""
        fd = self.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            raise _describe(exc, str(self.path / name)) from None
        finally:
            os.close(fd)


def temp_stem(name: str) -> str:
    """The part of ``name`` a temp name carries (kept within NAME_MAX with the rest)."""
    return os.fsdecode(os.fsencode(name)[:100])


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def describe_entry_error(exc: OSError, folder: Folder, name: str) -> FileOperationError:
    """The error to show for an OSError on the entry ``name`` of ``folder``."""
    return _describe(exc, str(folder.path / name))


def open_root(root: Path) -> Folder:
    """The vault root, which the user chose (so it may be reached through a link)."""
    if not _DIR_FD:
        if not root.is_dir():
            raise FileOperationError(f"{root}: is not a folder", kind=ErrorKind.NOT_FOUND)
        return Folder(None, root)
    try:
        fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise _describe(exc, str(root)) from None
    return Folder(fd, root)


def open_folder(root: Path, parts: Sequence[str], *, create: bool = False,
                mode: int = 0o700) -> Folder:
    """The folder ``root/parts...``, walked one component at a time without links."""
    folder = open_root(root)
    try:
        for part in parts:
            inner = folder.subfolder(part, create=create, mode=mode)
            folder.close()
            folder = inner
    except BaseException:
        folder.close()
        raise
    return folder
