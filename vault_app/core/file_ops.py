"""Operations on a locked file's content: lock (and new versions), unlock, export,
recovery and the in-place reader.

Every write encrypts to a fresh file key under the file's lock, into a temp file beside
the destination; each block is read back and compared with what was written while later
ones are still being encrypted, the signed header is checked, and only then is the file
renamed into place (and the plaintext removed). The content is signed as the root of its
segment digests (``segments.py``), hashed by the pipeline's workers. Every read insists
on the signed content (each segment's digest; for older files the one digest of the
whole payload) before any plaintext reaches its destination name.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vault_app.core import age, segments, unsized, worker_threads
from vault_app.core.acl import (
    CAN_SHARE,
    CAN_WRITE,
    Record,
    Role,
    Verdict,
    encode_stanza,
    new_file_id,
    stanzas_digest,
)
from vault_app.core.atomic import atomic_output, describe_os_error, fsync_dir
from vault_app.core.digests import sha256
from vault_app.core.errors import (
    AccessDeniedError,
    ErrorKind,
    FileOperationError,
    PayloadError,
    Remedy,
    SignatureError,
    VaultError,
)
from vault_app.core.file_head import Head, read_head, read_head_from
from vault_app.core.header import Stanza
from vault_app.core.keys import parse_recipient
from vault_app.core.keystore import UserKeys
from vault_app.core.layout import LOCKED_SUFFIX, printable_path
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.readback import ReadBackVerifier
from vault_app.core.recipients import Identity
from vault_app.core.session import Session
from vault_app.core.value_class import replace
from vault_app.core.vault_config import check_policy
from vault_app.core.vault_io import Pipe
from vault_app.core.verify import checked_head, judge

if TYPE_CHECKING:
    from vault_app.core.reader import AgeReader

_STREAM_BLOCK = 4 << 20  # plaintext decrypted per read when unlocking to a stream


def default_dest(session: Session, src: Path) -> Path:
    """Beside ``src`` if it is inside the vault, else at the vault's top; plus ``.age``."""
    src = src.absolute()
    inside = session.path in src.parents
    return (src.parent if inside else session.path) / (src.name + LOCKED_SUFFIX)


def lock(session: Session, src: Path, *, keep: bool, dest: Path | None, replace: bool | None,
         progress: ProgressFn | None, cancel: CancelToken | None) -> Path:
    """Encrypt ``src`` to ``dest`` (a new version if ``replace``; ``None``: if ``dest`` is
    given); returns ``dest``."""
    if src.is_symlink():  # it may point out of the vault; its target would stay behind
        raise FileOperationError(f"{src}: is a symbolic link; lock the file it points to",
                                 path=src, kind=ErrorKind.NOT_A_FILE)
    if src.name.endswith(LOCKED_SUFFIX) and _looks_locked(src):
        raise FileOperationError(f"{src}: is already locked", path=src, kind=ErrorKind.USAGE,
                                 hint="unlock it first to lock a new version")
    if not src.is_file():
        missing = not src.exists()
        raise FileOperationError(f"{src}: no such file" if missing
                                 else f"{src}: is not a regular file", path=src,
                                 kind=ErrorKind.NOT_FOUND if missing else ErrorKind.NOT_A_FILE)
    if session.meta in src.absolute().parents:
        raise FileOperationError(f"{src}: is inside the vault's metadata folder", path=src,
                                 kind=ErrorKind.USAGE)
    replace = dest is not None if replace is None else replace
    dest = Path(dest) if dest is not None else default_dest(session, src)
    with age.open_input(src) as plain:
        source = os.fstat(plain.fileno())
        change, refs = lock_stream(session, plain, dest, replace=replace,
                                   expect_size=source.st_size, progress=progress,
                                   cancel=cancel)
    session.audit(change, dest, kept=keep, **refs)
    if not keep:
        _remove_plaintext(src, source)
    return dest


def lock_stream(session: Session, plain: BinaryIO, dest: Path, *, replace: bool,
                expect_size: int | None, progress: ProgressFn | None,
                cancel: CancelToken | None) -> tuple[str, dict[str, Any]]:
    """Encrypt the open stream ``plain`` (a file, a pipe, standard input: its size need
    not be known) to ``dest``, a new version if ``replace``.

    As for a file: signed, read back and verified, published atomically; the plaintext
    never touches the disk. The caller audits (it knows where the plaintext came from):
    this returns the audit action (lock or update) and its file references.
    """
    me = session.keys()
    session.require_current()
    with session.file_lock(dest):
        prev: list[Record] = []
        exists = session.folder.lstat(dest) is not None
        if exists and not replace:
            raise FileOperationError(f"{dest}: already exists", path=dest,
                                     kind=ErrorKind.EXISTS, remedy=Remedy.LOCK_AS_NEW_VERSION)
        if exists:
            prev = checked_head(session, dest).history or []
            current = prev[-1]
            if current.acl.get(me.name) not in CAN_WRITE:
                raise AccessDeniedError(f"{dest.name} exists and {me.name} may not "
                                        "replace its content (needs owner or editor)")
            acl = dict(current.acl)
            file_id = current.file_id
        else:
            acl = {me.name: Role.OWNER.value}
            for name, role in session.policy.get("default_acl", {}).items():
                acl.setdefault(name, Role(role).value)
            file_id = new_file_id()
        readers = recipients_for(session, acl)
        record = write(session, dest, plain, readers=readers, acl=acl, author=me.name,
                       change="update" if prev else "lock", prev=prev, file_id=file_id,
                       overwrite=bool(prev), expect_size=expect_size, progress=progress,
                       cancel=cancel)
    return "update" if prev else "lock", file_refs(record, len(prev) + 1)


def _remove_plaintext(src: Path, source: os.stat_result) -> None:
    """Delete the plaintext just locked, only if ``src`` still names that very file
    (someone who can write its folder may have put another file there meanwhile)."""
    try:
        now = os.lstat(src)
        if (now.st_dev, now.st_ino) != (source.st_dev, source.st_ino):
            raise FileOperationError(
                f"{src}: was replaced while it was being locked; the locked copy holds "
                "what was read, and the file now there was left alone", path=src,
                kind=ErrorKind.BUSY)
        src.unlink()
    except OSError as exc:
        raise describe_os_error(exc, src) from None
    fsync_dir(src.absolute().parent)


def file_refs(record: Record, version: int) -> dict[str, Any]:
    """What an audit record says of the file version it is about (cross-checked against
    the files by ``vault verify``: a file put back to an older version is caught)."""
    return {"file": record.file_id, "version": version, "record": record.digest()}


def recipients_for(session: Session, acl: dict[str, str]) -> dict[str, str]:
    """Recipients of the ACL's users, from the signed registry (refusing tampered ones)."""
    readers: dict[str, str] = {}
    for name in acl:
        member = session.registry.member(name)
        check_policy(session.post_quantum, member.recipient, name)
        readers[name] = member.recipient
    return readers


def write(session: Session, dest: Path, plain: Any, *, readers: dict[str, str],
          acl: dict[str, str], author: str, change: str, prev: list[Record], file_id: str,
          overwrite: bool, expect_size: int | None, progress: ProgressFn | None,
          cancel: CancelToken | None) -> Record:
    """Encrypt ``plain`` (``expect_size`` bytes, None if not known: a stream) to a fresh
    file key, sign, verify what was written, commit; returns the new signed record."""
    me = session.keys()
    file_key = age.new_file_key()
    recipients = [parse_recipient(r) for r in readers.values()]
    recipients.append(parse_recipient(session.recovery_recipient))
    stanzas = age.wrap_stanzas(file_key, recipients)
    record = Record(**session.record_fields(dest), file_id=file_id, author=author, acl=acl,
                    readers=readers,
                    recovery=session.recovery_recipient, stanzas_sha256=stanzas_digest(stanzas),
                    payload_sha256="", signer=me.name, signed=session.now(), change=change,
                    prev=prev[-1].digest() if prev else "")
    placeholder = encode_stanza([*prev, record.placeholder()])
    with session.folder.replace(dest, overwrite=overwrite) as out:
        if expect_size is None:  # the segment count is known at the stream's end
            with unsized.sealed_apart(file_key, plain, progress=progress,
                                      cancel=cancel) as (spilled, size, sealed):
                chunks = segments.chunks_for(size)
                start = out.write(age.seal_header(file_key, [
                    *stanzas, segments.placeholder_stanza(size, chunks),
                    placeholder]).encode())
                payload_ok, digests = unsized.copy_checked(spilled, out, start, sealed, chunks)
        else:
            chunks = segments.chunks_for(expect_size)
            start, size, digests, payload_ok = _seal_in_place(
                out, file_key, plain, [*stanzas, segments.placeholder_stanza(expect_size, chunks),
                                       placeholder], chunks, progress, cancel)
            if size != expect_size:
                raise FileOperationError("the file changed while it was being locked",
                                         kind=ErrorKind.BUSY)
        final = replace(record, segments_sha256=segments.root(digests, chunks)).sign(me)
        header = age.seal_header(file_key, [*stanzas, segments.encode_stanza(digests, chunks),
                                            encode_stanza([*prev, final])])
        encoded = header.encode()
        if len(encoded) != start:  # pragma: no cover - format invariant
            raise VaultError("internal error: the signed header changed length",
                             kind=ErrorKind.INTERNAL)
        out.seek(0)
        out.write(encoded)
        _verify_header(out, encoded, me, file_key, payload_ok)
    return final


def _seal_in_place(out: BinaryIO, file_key: bytes, plain: Any, draft: list[Stanza],
                   chunks: int, progress: ProgressFn | None,
                   cancel: CancelToken | None) -> tuple[int, int, list[bytes], bool]:
    """Write the header of ``draft`` stanzas (at its final length: the segment count
    follows from the plaintext's size), then seal the payload after it; returns where the
    payload starts, the plaintext size, the segment digests and whether every block read
    back is the one written."""
    start = out.write(age.seal_header(file_key, draft).encode())
    digests: list[bytes] = []  # of each segment as written, hashed by the workers
    # Each block is read back from the file and compared with what was written
    # while the next ones are encrypted: the plaintext goes only after all of it.
    verifier = ReadBackVerifier(out, start)
    try:
        size = age.seal_payload(file_key, plain, verifier, progress=progress,  # type: ignore[arg-type]
                                cancel=cancel, segment_digests=digests, segment_chunks=chunks)
    except BaseException:
        verifier.abort()
        raise
    try:
        verified = verifier.finish()
    except (PayloadError, OSError):  # what was read back is not what was written
        verified = -1
    return start, size, digests, verified == size


def _verify_header(handle: BinaryIO, expected: bytes, me: UserKeys, file_key: bytes,
                   payload_ok: bool) -> None:
    """The signed header as read back is the one meant, and our own key unwraps it.

    (The payload was read back and compared block by block as it was written, and its
    segment digests were hashed from the very buffers written.)
    """
    handle.flush()
    handle.seek(0)
    header = age.read_head(handle)
    if (not payload_ok or header.encode() != expected
            or age.unwrap_file_key(header, [me.identity]) != file_key):
        raise VaultError("verification of the written file failed; nothing was changed",
                         kind=ErrorKind.IO, hint="check the disk (bad sectors, full, or failing?)")
    handle.seek(0, os.SEEK_END)


def owned_head(session: Session, locked: Path,
               handle: BinaryIO | None = None) -> tuple[Head, Record]:
    """The checked header of ``locked`` (read from ``handle`` if given) and its current
    record, if the acting user owns it."""
    head = checked_head(session, locked, handle)
    assert head.history is not None
    current = head.history[-1]
    if current.acl.get(session.user) not in CAN_SHARE:
        registry = session.registry
        orphaned = not any((m := registry.lookup(o)) is not None and m.active
                           for o in current.owners)
        raise AccessDeniedError(
            f"{session.user} is not an owner of {locked.name}" + (
                f" (its owners {', '.join(current.owners)} have all left the vault)"
                if orphaned else ""),
            hint=None if orphaned else "only a file's owners may change who reads it",
            remedy=Remedy.ADOPT_ORPHAN if orphaned else None)
    return head, current


def unlock(session: Session, locked: Path, out_dir: Path | str, *, overwrite: bool,
           progress: ProgressFn | None, cancel: CancelToken | None) -> Path:
    """Decrypt to ``out_dir``; the plaintext appears only if it all verified."""
    with session.folder.open_read(locked) as handle:
        head = checked_head(session, locked, handle)
        file_key = session.file_key(head, locked)
        out = _out_path(out_dir, locked)
        with atomic_output(out, overwrite=overwrite) as dst:
            _decrypt_checked(handle, locked, head, file_key, dst, progress, cancel)
            # recorded before the plaintext gets its name: an unlock the audit log cannot
            # record releases nothing
            session.audit("unlock", locked, output=printable_path(out))
    return out


def unlock_to(session: Session, locked: Path, dst: BinaryIO, *, progress: ProgressFn | None,
              cancel: CancelToken | None) -> int:
    """Decrypt ``locked`` to an open stream (standard output); returns the size.

    What went out cannot be withdrawn, so the signed content is checked before the first
    byte goes out (``open_reader``), the unlock is recorded before it too (an unlock the
    audit log cannot record releases nothing), and every chunk is authenticated as it is
    decrypted.
    """
    done = 0
    block = bytearray(_STREAM_BLOCK)
    with open_reader(session, locked, verify_content=True) as reader:
        session.audit("unlock", locked, output="-")
        while n := reader.readinto(block):
            if cancel is not None:
                cancel.check()
            dst.write(memoryview(block)[:n])
            done += n
            if progress is not None:
                progress(done)
    dst.flush()
    return done


def export(session: Session, locked: Path, recipient: str, out: Path | BinaryIO, *,
           progress: ProgressFn | None, cancel: CancelToken | None) -> Path | BinaryIO:
    """A standard age copy of ``locked`` for ``recipient``, without the vault's stanzas,
    to a new file or an open stream. Owners only: it decides who reads the content, as
    sharing does."""
    target = parse_recipient(recipient)
    with session.folder.open_read(locked) as handle:
        head, _current = owned_head(session, locked, handle)
        file_key = session.file_key(head, locked)
        if not isinstance(out, Path):  # a stream cannot be withdrawn: recorded first
            session.audit("export", locked, recipient=recipient)
            pipe(handle, locked, head, file_key, cancel,
                 lambda src: age.encrypt(src, out, [target], progress=progress,
                                         cancel=cancel))
            return out
        with atomic_output(out) as dst:
            pipe(handle, locked, head, file_key, cancel,
                 lambda src: age.encrypt(src, dst, [target], progress=progress, cancel=cancel))
            session.audit("export", locked, recipient=recipient)
    return out


def recover(session: Session, locked: Path, identity: Identity, out_dir: Path | str, *,
            overwrite: bool, progress: ProgressFn | None,
            cancel: CancelToken | None) -> tuple[Path, Verdict]:
    """Unlock with the recovery identity; reports (does not require) a valid signature."""
    verdict = judge(session, read_head(locked, folder=session.folder), locked)
    out = recover_file(locked, identity, out_dir, overwrite=overwrite, progress=progress,
                       cancel=cancel)
    return out, verdict


def recover_file(locked: Path | str, identity: Identity, out_dir: Path | str, *,
                 overwrite: bool = False, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> Path:
    """Recovery without the vault's metadata (``.vault/`` lost): the file's signed payload
    digest is still enforced when it has one; signatures need the registry to be checked."""
    locked = Path(locked)
    with age.open_input(locked) as handle:
        head = read_head_from(handle, locked)
        file_key = age.unwrap_file_key(head.header, [identity])
        out = _out_path(out_dir, locked)
        with atomic_output(out, overwrite=overwrite) as dst:
            if head.history is None:
                handle.seek(head.header_len)
                age.open_payload(file_key, handle, dst, progress=progress, cancel=cancel)
            else:
                _decrypt_checked(handle, locked, head, file_key, dst, progress, cancel)
    return out


def open_reader(session: Session, locked: Path, *, verify_content: bool) -> AgeReader:
    """Seekable plaintext view of ``locked``, after its header signature checks out."""
    from vault_app.core.reader import AgeReader

    handle = session.folder.open_read(locked, buffered=False)
    try:
        # the header is read line by line: through a buffer, not one read call a byte
        lines = io.BufferedReader(handle)  # type: ignore[type-var]  # a raw FileIO
        try:
            head = checked_head(session, locked, lines)
        finally:
            lines.detach()  # the reader below keeps the raw file, unbuffered
        assert head.history is not None
        file_key = session.file_key(head, locked)
        # Segments are checked as they are read, whatever ``verify_content`` says: that
        # costs no more than reading them. Older files' one digest means reading it all.
        whole = head.history[-1].payload_sha256 or None
        handle.seek(0)
        return AgeReader(handle, file_key=file_key,
                         payload_sha256=whole if verify_content else None,
                         segment_digests=head.segments, owns_source=True, name=str(locked),
                         head=(head.header, head.header_len))  # parsed once, checked again
    except PayloadError as exc:
        handle.close()
        raise SignatureError(f"{locked.name}: {exc}") from None
    except BaseException:
        handle.close()
        raise


def pipe(handle: BinaryIO, locked: Path, head: Head, file_key: bytes,
         cancel: CancelToken | None, consume: Callable[[Any], object]) -> None:
    """Decrypt ``handle`` on a thread into a bounded pipe that ``consume`` reads (no
    plaintext file)."""
    channel = Pipe()

    def produce() -> None:
        try:
            _decrypt_checked(handle, locked, head, file_key, channel, None, cancel)
        except BrokenPipeError:
            return
        except BaseException as exc:
            with contextlib.suppress(BrokenPipeError):
                channel.finish(exc)
            return
        with contextlib.suppress(BrokenPipeError):
            channel.finish()

    thread = worker_threads.start(produce, "vault-decrypt")
    try:
        consume(channel)
    finally:
        channel.close()
        thread.join()


def _decrypt_checked(handle: BinaryIO, locked: Path, head: Head, file_key: bytes, dst: Any,
                     progress: ProgressFn | None, cancel: CancelToken | None) -> int:
    """Decrypt the payload to ``dst``, insisting on the signed content.

    With segment digests (checked here against the record's root and the payload's
    length) each segment is hashed and checked by the pipeline's workers before it is
    opened. For an older file, the one digest of the whole payload is of the very bytes
    decrypted, in the same read pass, checked at the end. ``dst`` is a temp file or a
    pipe whose reader only commits after this returns: no plaintext reaches the
    destination name unless the content is the signed content.
    """
    assert head.history is not None
    current = head.history[-1]
    handle.seek(head.header_len)
    try:
        if current.segments_sha256:
            segments.check_list(head.segments or segments.Listed(segments.SEGMENT_CHUNKS, ()),
                                current.segments_sha256,
                                head.payload_size)
            return age.open_payload(file_key, handle, dst, progress=progress, cancel=cancel,
                                    segment_digests=head.segments)
    except SignatureError as exc:
        raise SignatureError(f"{locked.name}: {exc} (rewritten by someone who could read "
                             "it)") from None
    digest = sha256()
    size = age.open_payload(file_key, handle, dst, progress=progress, cancel=cancel,
                            digest=digest)
    if digest.hexdigest() != current.payload_sha256:
        raise SignatureError(f"{locked.name}: the content is not the signed content "
                             "(rewritten by someone who could read it)")
    return size


def _out_path(out_dir: Path | str, locked: Path) -> Path:
    """Where ``locked`` unlocks to inside ``out_dir`` (created if missing)."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise describe_os_error(exc, folder) from None
    name = (locked.name[: -len(LOCKED_SUFFIX)] if locked.name.endswith(LOCKED_SUFFIX)
            else locked.name + ".out")
    return folder / name


def _looks_locked(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        return False
    return head.startswith((b"age-encryption.org/", b"-----BEGIN AGE ENCRYPTED FILE-----"))
