"""``vault://`` paths for pandas, polars, pyarrow, duckdb and dask: an fsspec filesystem.

A URL is ``vault://`` plus the absolute path of a file as the analyst names it:
``vault:///srv/team/sales.parquet`` is the locked file ``/srv/team/sales.parquet.age``.
The filesystem lists, globs and stats by those names (folders, and locked files without
their suffix; hidden names and the vault's metadata never show), opens a file for
reading with random access (every chunk authenticated, the signed content checked on
opening) and opens one for writing: what is written is encrypted as it arrives and,
on ``close``, becomes a signed locked file owned by the acting user, under the vault's
policy, verified by reading it back and published atomically. No plaintext touches the
disk, and an exception inside the ``with`` block publishes nothing.

It is registered through fsspec's entry points (``fsspec.specs``), so no import is
needed. It pickles as its one option (the acting user), never with keys or passphrases:
a dask worker, in another process or on another machine that sees the folder,
unlocks the keys itself (from its keyring, or ``VAULT_PASSPHRASE_FILE``), once per
process (see ``vault_app.analyst``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import stat
import threading
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from vault_app.analyst import current_session
from vault_app.core import worker_threads
from vault_app.core.errors import Cancelled, VaultError
from vault_app.core.layout import LOCKED_SUFFIX
from vault_app.core.progress import CancelToken
from vault_app.core.vault_io import Pipe

PROTOCOL = "vault"
_PIECE = 2 << 20  # a write is handed to the encrypting thread in pieces of this size


class VaultFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """The locked files of vaults, by their plaintext names (``vault:///abs/path``).

    One storage option: ``user``, the acting vault user (default ``VAULT_USER`` or the
    login name). There is deliberately no passphrase option: storage options travel
    in pickles and dask graphs. Protected keys are opened with the passphrase given to
    ``vault_app.session``, or ``VAULT_PASSPHRASE_FILE``, or one asked on the terminal.
    """

    protocol = PROTOCOL
    root_marker = "/"

    def __init__(self, user: str | None = None, **storage_options: Any) -> None:
        super().__init__(user=user, **storage_options)
        self.user = user

    @property
    def fsid(self) -> str:
        return PROTOCOL

    # -- names -------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
        for prefix in (f"{PROTOCOL}://", f"{PROTOCOL}::"):
            if text.startswith(prefix):
                text = text[len(prefix):]
        return os.path.normpath(os.path.abspath(text)) if text else cls.root_marker

    @classmethod
    def _parent(cls, path: Any) -> str:
        return str(os.path.dirname(cls._strip_protocol(path)))

    @staticmethod
    def _locked(path: str) -> Path:
        return Path(path + LOCKED_SUFFIX)

    # -- listing -----------------------------------------------------------------------

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        name = self._strip_protocol(path)
        locked = self._locked(name)
        try:
            st = locked.stat()
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            return _file_info(name, locked, st)
        if os.path.isdir(name) and _visible(name):
            return {"name": name, "size": 0, "type": "directory"}
        raise FileNotFoundError(name)

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        name = self._strip_protocol(path)
        if not os.path.isdir(name) or not _visible(name):
            return [self.info(name)] if detail else [name]  # a file, or FileNotFoundError
        found: list[dict[str, Any]] = []
        with os.scandir(name) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        found.append({"name": entry.path, "size": 0, "type": "directory"})
                    elif entry.name.endswith(LOCKED_SUFFIX) and entry.is_file():
                        plain = entry.path[: -len(LOCKED_SUFFIX)]
                        found.append(_file_info(plain, Path(entry.path), entry.stat()))
                except (OSError, VaultError):  # vanished meanwhile, or not an age file
                    continue
        found.sort(key=lambda e: e["name"])
        return found if detail else [e["name"] for e in found]

    def modified(self, path: Any) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.info(path)["mtime"], tz=dt.UTC)

    # -- folders -----------------------------------------------------------------------

    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        name = self._strip_protocol(path)
        if os.path.exists(name):
            raise FileExistsError(name)
        self.makedirs(name, exist_ok=False) if create_parents else _make_folder(name)

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        name = self._strip_protocol(path)
        if os.path.isdir(name):
            if not exist_ok:
                raise FileExistsError(name)
            return
        parent = os.path.dirname(name)
        if parent != name and not os.path.isdir(parent):
            self.makedirs(parent, exist_ok=True)
        try:
            _make_folder(name)
        except FileExistsError:  # made meanwhile (pyarrow creates folders on threads)
            if not (exist_ok and os.path.isdir(name)):
                raise

    def rmdir(self, path: Any) -> None:
        os.rmdir(self._strip_protocol(path))

    # -- files -------------------------------------------------------------------------

    def _open(self, path: Any, mode: str = "rb", block_size: Any = None,
              autocommit: bool = True, cache_options: Any = None,
              **kwargs: Any) -> AbstractBufferedFile:
        name = self._strip_protocol(path)
        if mode == "rb":
            return VaultReadFile(self, name, block_size=block_size,
                                 cache_options=cache_options, **kwargs)
        if mode in ("wb", "xb"):
            if not autocommit:
                raise NotImplementedError("vault:// files are published when closed; "
                                          "transactions are not supported")
            return VaultWriteFile(self, name, mode, block_size=block_size)
        raise NotImplementedError(f"vault:// files open for reading or writing, not {mode!r}")

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        with self.open(path1, "rb") as src, self.open(path2, "wb") as dst:
            while block := src.read(_PIECE):
                dst.write(block)

    def _rm(self, path: Any) -> None:
        raise PermissionError(f"{self._strip_protocol(path)}: vault:// does not remove "
                              "locked files; remove them in the vault window or the file "
                              "manager (the vault keeps no plaintext to lose)")

    def vault_for(self, name: str) -> Any:
        """The vault holding the plaintext name ``name``, opened with unlocked keys."""
        return current_session().vault_for(self._locked(name), user=self.user)


def _visible(name: str) -> bool:
    """Hidden folders (the vault's ``.vault`` above all) are not part of the namespace."""
    return not any(part.startswith(".") for part in Path(name).parts[1:])


def _file_info(name: str, locked: Path, st: os.stat_result) -> dict[str, Any]:
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return {"name": name, "size": _content_size(str(locked), stamp), "type": "file",
            "mtime": st.st_mtime, "locked_size": st.st_size, "locked_path": str(locked)}


@functools.lru_cache(maxsize=4096)
def _content_size(locked: str, stamp: tuple[int, ...]) -> int:
    """The plaintext size, from the header (read once per version of the file)."""
    from vault_app.core import age
    from vault_app.core.file_head import read_head

    head = read_head(Path(locked))
    return age.content_size(head.header, head.file_size)


def _make_folder(name: str) -> None:
    """A folder inside a vault, with the vault's folder mode (shared like the files)."""
    if os.path.lexists(name):
        raise FileExistsError(name)
    current_session().vault_for(name).make_folder(name)


class VaultReadFile(AbstractBufferedFile):  # type: ignore[misc]
    """A locked file opened for reading: random access, each read decrypting only the
    chunks it covers, straight into the buffer handed back. Handles open at the same time
    on the same version of a file share one reader (pyarrow opens a file twice per read
    and keeps both). Pickles as (filesystem, name, position): it is reopened there."""

    def __init__(self, fs: VaultFileSystem, name: str, *, block_size: Any = None,
                 cache_options: Any = None, cache_type: str = "none", **kwargs: Any) -> None:
        shared = self._shared = _shared_reader(fs, name)
        kwargs.pop("size", None)  # a pickled handle's size: the reader's own is checked
        try:
            super().__init__(fs, name, "rb", block_size=block_size, cache_type=cache_type,
                             cache_options=cache_options, size=shared.size, **kwargs)
        except BaseException:
            self._shared = None
            shared.release()
            raise

    _shared: _SharedReader | None

    def _fill(self, start: int, view: memoryview) -> int:
        shared = self._shared
        if shared is None or self.closed:
            raise ValueError("I/O operation on closed file.")
        # positioned: the handles sharing the reader (and pyarrow's I/O threads, which
        # ask for a file's column chunks at once) read side by side
        return int(shared.reader.read_at(start, view[: max(0, self.size - start)]))

    def _read_at(self, start: int, length: int) -> bytearray:
        """Decrypt straight into a new buffer: no copy between the cipher and the caller."""
        out = bytearray(max(0, min(length, self.size - start)))
        with memoryview(out) as view:
            got = self._fill(start, view)
        del out[got:]
        return out

    def read(self, length: int = -1) -> bytes:
        """As a file's ``read``; no fsspec cache between (the reader keeps the last chunks)."""
        if length is None or length < 0:
            length = self.size - self.loc
        out = self._read_at(self.loc, length)
        self.loc += len(out)
        return bytes(out)

    def read_buffer(self, length: int) -> bytearray:
        """What pyarrow's ``PythonFile`` asks for when it can: the bytes without a copy."""
        out = self._read_at(self.loc, length)
        self.loc += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        got = self._fill(self.loc, memoryview(buffer).cast("B"))
        self.loc += got
        return got

    def close(self) -> None:
        try:
            super().close()
        finally:
            with _open_readers_guard:  # once, whoever closes (other threads, __del__)
                shared, self._shared = getattr(self, "_shared", None), None
            if shared is not None:
                shared.release()


class _SharedReader:
    """One reader of one version of a file, for the handles open on it at the same time;
    closed when the last of them closes."""

    def __init__(self, reader: Any, key: Any) -> None:
        self.reader = reader
        self.key = key
        self.size: int = reader.size
        self.users = 1

    def release(self) -> None:
        with _open_readers_guard:
            self.users -= 1
            last = self.users == 0
            if last and _open_readers.get(self.key) is self:
                del _open_readers[self.key]
        if last:
            self.reader.close()


# Keyed by (key session, locked file, its stamp, user): a closed session's readers are
# never handed out again, and a new version of the file gets a reader of its own.
_open_readers: dict[Any, _SharedReader] = {}
_open_readers_guard = threading.Lock()


def _shared_reader(fs: VaultFileSystem, name: str) -> _SharedReader:
    """A reader for ``name``: one already open on this very version of the file, else a
    new one from the vault (signature checked; the signed content too unless this
    session already checked this version)."""
    from vault_app.core.key_session import file_stamp

    session = current_session()
    locked = fs._locked(name)
    vault = session.vault_for(locked, user=fs.user)
    before = file_stamp(locked)
    key = (session, locked, before, vault.user)
    with _open_readers_guard:
        found = _open_readers.get(key) if before is not None else None
        if found is not None:
            found.users += 1
            return found
    known = before is not None and session.verified(locked, before)
    reader = vault.open_reader(locked, verify_content=not known)
    if file_stamp(locked) != before:  # replaced while opening: check the one we have
        reader.close()
        return _SharedReader(vault.open_reader(locked), None)
    if not known and before is not None:
        session.remember_verified(locked, before)
    try:
        shared = _SharedReader(reader, key)
    except BaseException:
        reader.close()
        raise
    if before is not None:
        with _open_readers_guard:
            _open_readers.setdefault(key, shared)  # another thread's, if it was first
    return shared


class VaultWriteFile(AbstractBufferedFile):  # type: ignore[misc]
    """A locked file being written: bytes go through a bounded in-memory pipe to a thread
    that encrypts them into a temp file beside the destination; ``close`` waits for the
    signed, verified file to be published (and raises what went wrong). Leaving a
    ``with`` block by an exception, or dropping the file unclosed, publishes nothing.

    ``wb`` writes a new file or a new version of one (owner or editor); ``xb`` refuses
    an existing file.
    """

    def __init__(self, fs: VaultFileSystem, name: str, mode: str, *,
                 block_size: Any = None) -> None:
        self._vault = fs.vault_for(name)  # here: the keys unlock in the caller's thread
        self._pipe: Pipe | None = None
        self._thread: threading.Thread | None = None
        self._cancel = CancelToken()
        self._error: BaseException | None = None
        super().__init__(fs, name, mode, block_size=block_size)

    def _initiate_upload(self) -> None:
        pipe = self._pipe = Pipe()
        dest = self.fs._locked(self.path)

        def run() -> None:
            try:
                self._vault.lock_stream(pipe, dest, replace=self.mode == "wb",
                                        source="vault://", cancel=self._cancel)
            except BaseException as exc:  # raised in the writer's thread by _upload_chunk
                self._error = exc
            finally:
                pipe.close()  # a writer still pushing gets BrokenPipeError, then the error

        self._thread = worker_threads.start(run, "vault-fs-write")

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._pipe is not None
        data = self.buffer.getbuffer()
        try:
            for start in range(0, len(data), _PIECE):
                self._pipe.write(data[start : start + _PIECE])
            if final:
                self._pipe.finish()
        except BrokenPipeError:
            final = True  # the encrypting thread stopped: its error says why
        finally:
            data.release()
        if final:
            self._join()
        return True

    def _join(self) -> None:
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def discard(self) -> None:
        """Stop without publishing anything (the temp file is removed)."""
        if getattr(self, "_closed", True):
            return
        self.closed = True
        if self._pipe is not None:
            self._cancel.cancel()
            with contextlib.suppress(BrokenPipeError):
                self._pipe.finish(Cancelled())
            assert self._thread is not None
            self._thread.join()

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        self.discard()  # unclosed: a partial file is never published

    def __reduce__(self) -> Any:
        raise TypeError("a vault:// file open for writing cannot be pickled")
