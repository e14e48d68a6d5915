"""A vault: a folder of age files plus ``.vault/`` metadata (config, members, locks).

Ties together the keystore (private keys), the member registry (public keys, signed),
the per-file ACL stanza (signed history) and the age recipe. Every operation that
changes a file is one method here, runs under that file's lock, writes a temp file
beside the destination, verifies it, fsyncs and renames it into place.
See docs/format.md for the layout.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import filelock

from vault_app.core import age
from vault_app.core.acl import (
    CAN_SHARE,
    CAN_WRITE,
    Record,
    Role,
    Status,
    Verdict,
    encode_stanza,
    split_header,
    stanzas_digest,
    verify_history,
)
from vault_app.core.atomic import atomic_output, describe_os_error, fsync_dir
from vault_app.core.audit import AuditLog
from vault_app.core.errors import (
    AccessDeniedError,
    AgeError,
    FileOperationError,
    KeyFormatError,
    MemberKeyMismatchError,
    NoIdentityMatchError,
    NotAVaultError,
    PayloadError,
    SignatureError,
    UnknownUserError,
    VaultBusyError,
    VaultError,
    VaultFormatError,
)
from vault_app.core.header import Header, Stanza, build_header, read_header
from vault_app.core.keys import generate_identity, is_post_quantum, parse_recipient
from vault_app.core.keystore import Keystore, UserKeys
from vault_app.core.layout import CONFIG, LOCK_TIMEOUT, LOCKED_SUFFIX, MEMBERS, META, check_name
from vault_app.core.members import Member, Registry, new_member
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.readback import ReadBackVerifier
from vault_app.core.recipients import Identity
from vault_app.core.signing import Clock, canonical, now_iso, sign, verify
from vault_app.core.stream import decrypt_payload, encrypt_payload, plaintext_size
from vault_app.core.vault_io import (
    Pipe,
    atomic_rw,
    copy_range,
    payload_digest,
    shared_mode,
)

if TYPE_CHECKING:
    from vault_app.core.reader import AgeReader

__all__ = ["FileInfo", "Member", "Role", "Vault", "default_user"]

CONFIG_FORMAT = "dataset-vault.org/v1"
SUFFIX = LOCKED_SUFFIX
_CONFIG_DOMAIN = b"dataset-vault.org/v1/config\n"
_PINS = "known-vaults.json"


def default_user() -> str:
    """``VAULT_USER`` if set, else the operating-system login name."""
    return os.environ.get("VAULT_USER") or getpass.getuser()


_LIST_THREADS = 4  # threads reading headers in a first listing
_LIST_BATCH = 128  # files per task: few enough tasks that hand-offs cost nothing


@dataclass(frozen=True)
class FileInfo:
    path: Path
    name: str
    locked_size: int
    size: int | None
    modified: float
    owner: str | None
    author: str | None
    acl: dict[str, Role]
    readers: list[str]
    signature: str
    signature_detail: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "locked_size": self.locked_size,
                "size": self.size, "modified": self.modified, "owner": self.owner,
                "author": self.author, "acl": {k: v.value for k, v in self.acl.items()},
                "readers": self.readers, "signature": self.signature,
                "signature_detail": self.signature_detail}


@dataclass(frozen=True)
class _Head:
    """What a header read tells: the header, its parts, and where the payload starts."""

    header: Header
    recipients: list[Stanza]
    history: list[Record] | None
    header_len: int
    file_size: int
    mtime: float


def _read_head(path: Path) -> _Head:
    try:
        with path.open("rb") as handle:
            header = read_header(handle)
            stat = os.fstat(handle.fileno())
    except OSError as exc:
        raise describe_os_error(exc, path) from None
    recipients, history = split_header(header.stanzas)
    return _Head(header, recipients, history, len(header.encode()), stat.st_size, stat.st_mtime)



# -- the vault ---------------------------------------------------------------------------------


class Vault:
    """An opened vault, acting as ``user``. Keys are fetched from the keystore on first use."""

    def __init__(self, path: Path, config: dict[str, Any], *, user: str | None,
                 keystore: Keystore | None, clock: Clock | None = None) -> None:
        self.path = path
        self.config = config
        self.user = check_name(user or default_user())
        self.keystore = keystore or Keystore()
        self._clock = clock
        self._keys: UserKeys | None = None
        self._registry: Registry | None = None
        self._registry_stamp: tuple[int, int] | None = None
        self._info_cache: dict[Path, tuple[tuple[Any, ...], FileInfo]] = {}

    # -- creation and opening ------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str, *, user: str | None = None,
             keystore: Keystore | None = None, post_quantum: bool = False,
             protect: bool = False, clock: Clock | None = None) -> tuple[Vault, str]:
        """Create ``.vault/`` with ``user`` as first admin; return the recovery identity once."""
        path = Path(path).absolute()
        keystore = keystore or Keystore()
        name = check_name(user or default_user())
        meta = path / META
        if meta.exists():
            raise VaultError(f"{path} is already a vault")
        keys = (keystore.load(name) if keystore.exists(name)
                else keystore.create(name, post_quantum=post_quantum, protect=protect))
        _check_policy(post_quantum, keys.recipient, name)
        try:  # only once the keys exist: a failed init leaves nothing behind
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, path) from None
        recovery = generate_identity(post_quantum=post_quantum)
        when = now_iso(clock)
        config: dict[str, Any] = {
            "format": CONFIG_FORMAT,
            "vault_id": str(uuid.uuid4()),
            "created": when,
            "root_admin": name,
            "root_signing_key": keys.signing_public,
            "recovery_recipient": str(recovery.recipient()),
            "policy": {"recipient_type": "pq" if post_quantum else "x25519",
                       "default_acl": {}, "default_share_role": Role.READER.value},
        }
        config["signature"] = sign(keys, _CONFIG_DOMAIN + canonical(config))
        root = new_member(name, keys.recipient, keys.signing_public, admin=True,
                          added_by=name, clock=clock)
        registry = Registry(config["vault_id"], name, keys.signing_public,
                            [root.signed(config["vault_id"], keys)])
        try:
            staging = Path(tempfile.mkdtemp(prefix=".vault-init-", dir=path))
        except OSError as exc:
            raise describe_os_error(exc, path) from None
        try:
            (staging / "locks").mkdir()
            for folder in (staging, staging / "locks"):
                _share_with_members(folder, directory=True)
            for file, data in ((CONFIG, config), (MEMBERS, registry.to_json())):
                with atomic_output(staging / file) as out:
                    out.write(json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")
                _share_with_members(staging / file)
            os.rename(staging, meta)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                if meta.exists():
                    raise VaultError(f"{path} is already a vault") from None
                raise describe_os_error(exc, meta) from None
            raise
        fsync_dir(path)
        vault = cls(path, config, user=name, keystore=keystore, clock=clock)
        vault._pin()
        vault._keys = keys
        vault._audit("init", "", admin=name)
        return vault, str(recovery)

    @classmethod
    def open(cls, path: Path | str, *, user: str | None = None,
             keystore: Keystore | None = None, clock: Clock | None = None) -> Vault:
        path = Path(path).absolute()
        config_path = path / META / CONFIG
        if not config_path.is_file():
            raise NotAVaultError(f"{path} is not a vault (no {META}/{CONFIG})")
        try:
            config = json.loads(config_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise VaultFormatError(f"{config_path}: unreadable vault config") from exc
        if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
            raise VaultFormatError(f"{config_path}: unknown vault format")
        body = {k: v for k, v in config.items() if k != "signature"}
        if not verify(str(config.get("root_signing_key", "")),
                      str(config.get("signature", "")),
                      _CONFIG_DOMAIN + canonical(body)):
            raise VaultFormatError("the vault config's signature does not verify "
                                   "(edited config or swapped recovery key)")
        vault = cls(path, config, user=user, keystore=keystore, clock=clock)
        vault._pin()
        return vault

    @staticmethod
    def find(start: Path | str) -> Path | None:
        """The nearest folder at or above ``start`` that contains ``.vault/``."""
        here = Path(start).absolute()
        for folder in (here, *here.parents):
            if (folder / META / CONFIG).is_file():
                return folder
        return None

    def _pin(self) -> None:
        """Trust on first use: remember this vault's root key; refuse if it changes later."""
        pins_path = self.keystore.config_dir / _PINS
        try:
            pins = json.loads(pins_path.read_bytes()) if pins_path.exists() else {}
        except (OSError, ValueError):
            pins = {}
        vault_id, key = self.config["vault_id"], self.config["root_signing_key"]
        known = pins.get(vault_id)
        if known is not None and known != key:
            raise VaultFormatError(
                "this vault's first-admin key changed since you last used it",
                hint="someone replaced the vault's metadata; do not trust it")
        if known is None:
            pins[vault_id] = key
            with contextlib.suppress(OSError, VaultError):
                pins_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                with atomic_output(pins_path, overwrite=True) as out:
                    out.write(json.dumps(pins, indent=2).encode())

    # -- metadata ------------------------------------------------------------------------------

    @property
    def meta(self) -> Path:
        return self.path / META

    @property
    def policy(self) -> dict[str, Any]:
        return dict(self.config.get("policy", {}))

    @property
    def post_quantum(self) -> bool:
        return bool(self.policy.get("recipient_type") == "pq")

    @property
    def recovery_recipient(self) -> str:
        return str(self.config["recovery_recipient"])

    def _now(self) -> str:
        return now_iso(self._clock)

    @property
    def registry(self) -> Registry:
        path = self.meta / MEMBERS
        try:
            stat = path.stat()
        except OSError as exc:
            raise VaultFormatError(f"{path}: the member registry is missing") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._registry is None or stamp != self._registry_stamp:
            try:
                data = json.loads(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise VaultFormatError(f"{path}: unreadable member registry") from exc
            self._registry = Registry.from_json(data, self.config["vault_id"],
                                                self.config["root_admin"],
                                                self.config["root_signing_key"])
            self._registry_stamp = stamp
        return self._registry

    def _write_registry(self, registry: Registry) -> None:
        path = self.meta / MEMBERS
        with atomic_output(path, overwrite=True) as out:
            out.write(json.dumps(registry.to_json(), indent=2, sort_keys=True).encode() + b"\n")
        _share_with_members(path)
        self._registry = None

    def keys(self) -> UserKeys:
        """The acting user's private keys, checked against their signed registry entry."""
        if self._keys is None:
            member = self.registry.member(self.user)
            keys = self.keystore.load(self.user)
            if (keys.recipient, keys.signing_public) != (member.recipient, member.signing_key):
                raise MemberKeyMismatchError(
                    f"the keys of {self.user!r} in this account differ from the vault's "
                    "registry entry")
            self._keys = keys
        return self._keys

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Serialize read-modify-write of one file (or of the registry) across processes."""
        locks = self.meta / "locks"
        lock = filelock.FileLock(str(locks / f"{name}.lock"), timeout=LOCK_TIMEOUT,
                                 mode=shared_mode())
        try:
            locks.mkdir(exist_ok=True)
            lock.acquire()
        except filelock.Timeout:
            raise VaultBusyError(f"timed out waiting for the lock on {name}") from None
        except OSError as exc:  # e.g. a read-only vault: changes need write access
            raise describe_os_error(exc, locks) from None
        try:
            yield
        finally:
            lock.release()

    def _audit(self, action: str, target: Path | str, **details: Any) -> None:
        """Append a signed, chained record to .vault/audit.log once the change is durable."""
        if isinstance(target, Path):
            path = target.absolute()
            target = (path.relative_to(self.path).as_posix() if self.path in path.parents
                      else str(path))
        AuditLog(self.path, vault_id=self.config["vault_id"], clock=self._clock).append(
            self.keys(), action, target, details)

    def _file_lock(self, locked: Path) -> contextlib.AbstractContextManager[None]:
        """Keyed by the path inside the vault, so machines that mount a shared vault at
        different places (or reach it through symlinks) still take the same lock."""
        target = locked.resolve()
        try:
            name = target.relative_to(self.path.resolve()).as_posix()
        except ValueError:
            name = str(target)
        key = hashlib.sha256(os.fsencode(name)).hexdigest()[:32]
        return self._locked(f"file-{key}")

    # -- listing -------------------------------------------------------------------------------

    def scan(self) -> list[Path]:
        """Every ``*.age`` file under the vault (hidden folders skipped); no header reads."""
        return sorted(Path(entry.path) for entry, locked in walk_vault(self.path) if locked)

    def display_name(self, locked: Path) -> str:
        try:
            rel = locked.absolute().relative_to(self.path).as_posix()
        except ValueError:
            rel = locked.name
        return rel[: -len(SUFFIX)] if rel.endswith(SUFFIX) else rel

    def info(self, locked: Path | str) -> FileInfo:
        """Header-only facts and signature status of one locked file (always re-read)."""
        return self._read_info(Path(locked))

    def _cached_info(self, locked: Path) -> FileInfo:
        """``info`` remembered per (inode, mtime, ctime, size, registry version), for listings:
        changes rewrite files through a rename (new inode), so a re-listing re-reads only
        the files that changed. Operations never use it; they re-read the header.
        """
        try:
            stat = locked.stat()
        except OSError as exc:
            return self._unreadable(locked, str(describe_os_error(exc, locked)))
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size,
               self._registry_stamp)
        cached = self._info_cache.get(locked)
        if cached is not None and cached[0] == key:
            return cached[1]
        info = self._read_info(locked)
        if len(self._info_cache) > 100_000:
            self._info_cache.clear()
        self._info_cache[locked] = (key, info)
        return info

    def _read_info(self, locked: Path) -> FileInfo:
        try:
            head = _read_head(locked)
        except (AgeError, KeyFormatError) as exc:
            return self._unreadable(locked, str(exc))
        verdict = self._verdict(head)
        try:
            size: int | None = plaintext_size(head.file_size - head.header_len)
        except AgeError:
            size = None
        current = head.history[-1] if head.history else None
        acl = {n: Role(r) for n, r in current.acl.items()} if current else {}
        return FileInfo(
            path=locked, name=self.display_name(locked), locked_size=head.file_size, size=size,
            modified=head.mtime, owner=(current.owners[0] if current and current.owners
                                        else None),
            author=current.author if current else None, acl=acl,
            readers=sorted(current.readers) if current else [],
            signature=verdict.status.value, signature_detail=verdict.detail)

    def _unreadable(self, locked: Path, why: str) -> FileInfo:
        try:
            stat = locked.stat()
            size, mtime = stat.st_size, stat.st_mtime
        except OSError:
            size, mtime = 0, 0.0
        return FileInfo(locked, self.display_name(locked), size, None, mtime, None, None, {},
                        [], Status.UNREADABLE.value, why)

    def _verdict(self, head: _Head) -> Verdict:
        if head.history is None:
            return Verdict(Status.UNSIGNED, "a plain age file, without a vault signature")
        registry = self.registry
        for name in sorted({r.signer for r in head.history}):
            if name in registry.problems:  # a swapped or forged key: never "unknown"
                return Verdict(Status.INVALID, f"the registry entry of {name} is not "
                               f"trustworthy: {registry.problems[name]}")
        verdict = verify_history(head.history, head.recipients, registry.lookup)
        if verdict.ok and head.history[-1].recovery != self.recovery_recipient:
            return Verdict(Status.INVALID, "it is not wrapped for this vault's recovery key")
        return verdict

    def files(self) -> list[FileInfo]:
        """Every locked file's info; unchanged files come from memory on a re-listing.

        A first listing of a large vault is mostly Ed25519 signature checks, which release
        the GIL: batches of files are read on a few threads (as the window's header pool
        does), in order.
        """
        self.registry  # noqa: B018 - refreshes the registry stamp the cache key uses
        paths = list(self.scan())
        workers = min(_LIST_THREADS, os.cpu_count() or 1)
        if workers < 2 or len(paths) < 2 * _LIST_BATCH:
            return [self._cached_info(p) for p in paths]
        from concurrent.futures import ThreadPoolExecutor

        def batch(start: int) -> list[FileInfo]:
            return [self._cached_info(p) for p in paths[start : start + _LIST_BATCH]]

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vault-list") as pool:
            return [info for part in pool.map(batch, range(0, len(paths), _LIST_BATCH))
                    for info in part]

    def _checked_head(self, locked: Path) -> _Head:
        """Read a header and refuse anything whose signature is not valid."""
        head = _read_head(locked)
        verdict = self._verdict(head)
        if not verdict.ok or head.history is None:
            raise SignatureError(f"{locked.name}: {verdict.status.value}: {verdict.detail}")
        return head

    def _file_key(self, head: _Head, locked: Path, identities: Sequence[Identity]) -> bytes:
        try:
            return age.unwrap_file_key(head.header, identities)
        except NoIdentityMatchError:
            raise AccessDeniedError(f"{locked.name} is not shared with {self.user}") from None

    # -- lock ----------------------------------------------------------------------------------

    def default_dest(self, src: Path) -> Path:
        src = src.absolute()
        inside = self.path in src.parents
        return (src.parent if inside else self.path) / (src.name + SUFFIX)

    def lock(self, src: Path | str, *, keep: bool = False, dest: Path | None = None,
             replace: bool = False, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> FileInfo:
        """Encrypt ``src`` into the vault, verify it by decrypting, then remove the plaintext.

        Writing over an existing locked file makes a new version (the acting user must be
        its owner or editor; its ACL carries over). That happens when ``dest`` is given
        explicitly or ``replace`` is set; otherwise an existing file is an error, so a
        dropped file never silently replaces another's content.
        """
        src = Path(src)
        if src.is_symlink():  # it may point out of the vault; its target would stay behind
            raise FileOperationError(f"{src}: is a symbolic link; lock the file it points to")
        if src.name.endswith(SUFFIX) and _looks_locked(src):
            raise FileOperationError(f"{src}: is already locked",
                                     hint="unlock it first to lock a new version")
        if not src.is_file():
            raise FileOperationError(f"{src}: no such file" if not src.exists()
                                     else f"{src}: is not a regular file")
        if self.meta in src.absolute().parents:
            raise FileOperationError(f"{src}: is inside the vault's metadata folder")
        replace = replace or dest is not None
        dest = Path(dest) if dest is not None else self.default_dest(src)
        me = self.keys()
        with self._file_lock(dest):
            prev: list[Record] = []
            if dest.exists() and not replace:
                raise FileOperationError(
                    f"{dest}: already exists",
                    hint="to store a new version of it, lock again with --replace")
            if dest.exists():
                prev = self._checked_head(dest).history or []
                current = prev[-1]
                if current.acl.get(me.name) not in CAN_WRITE:
                    raise AccessDeniedError(f"{dest.name} exists and {me.name} may not "
                                            "replace its content (needs owner or editor)")
                acl = dict(current.acl)
                file_id = current.file_id
            else:
                acl = {me.name: Role.OWNER.value}
                for name, role in self.policy.get("default_acl", {}).items():
                    acl.setdefault(name, Role(role).value)
                file_id = uuid.uuid4().hex
            readers = self._recipients_for(acl)
            with age.open_input(src) as plain:
                self._write(dest, plain, readers=readers, acl=acl, author=me.name,
                            change="update" if prev else "lock", prev=prev, file_id=file_id,
                            overwrite=bool(prev), expect_size=os.fstat(plain.fileno()).st_size,
                            progress=progress, cancel=cancel)
        if not keep:
            try:
                src.unlink()
            except OSError as exc:
                raise describe_os_error(exc, src) from None
            fsync_dir(src.absolute().parent)
        self._audit("update" if prev else "lock", dest, kept=keep)
        return self.info(dest)

    def _recipients_for(self, acl: dict[str, str]) -> dict[str, str]:
        """Recipients of the ACL's users, from the signed registry (refusing tampered ones)."""
        readers: dict[str, str] = {}
        for name in acl:
            member = self.registry.member(name)
            _check_policy(self.post_quantum, member.recipient, name)
            readers[name] = member.recipient
        return readers

    def _write(self, dest: Path, plain: Any, *, readers: dict[str, str], acl: dict[str, str],
               author: str, change: str, prev: list[Record], file_id: str, overwrite: bool,
               expect_size: int | None, progress: ProgressFn | None,
               cancel: CancelToken | None) -> None:
        """Encrypt ``plain`` to a fresh file key, sign, verify by decrypting, commit."""
        me = self.keys()
        file_key = age.new_file_key()
        recipients = [parse_recipient(r) for r in readers.values()]
        recipients.append(parse_recipient(self.recovery_recipient))
        stanzas = age.wrap_stanzas(file_key, recipients)
        record = Record(file_id=file_id, author=author, acl=acl, readers=readers,
                        recovery=self.recovery_recipient, stanzas_sha256=stanzas_digest(stanzas),
                        payload_sha256="", signer=me.name, signed=self._now(), change=change,
                        prev=prev[-1].digest() if prev else "")
        draft = build_header(file_key, [*stanzas, encode_stanza([*prev, record.placeholder()])])
        with atomic_rw(dest, overwrite=overwrite) as out:
            start = out.write(draft.encode())
            digest = hashlib.sha256()  # of the payload as written, on the stream's hash thread
            # Each block is read back from the file and authenticated while the next
            # ones are encrypted: the plaintext is only removed after all of it verified.
            verifier = ReadBackVerifier(out, start, file_key, cancel)
            try:
                size = encrypt_payload(file_key, plain, verifier, progress=progress,  # type: ignore[arg-type]
                                       cancel=cancel, digest=digest)
            except BaseException:
                verifier.abort()
                raise
            try:
                verified = verifier.finish()
            except (PayloadError, OSError):  # what was read back is not what was written
                verified = -1
            if expect_size is not None and size != expect_size:
                raise FileOperationError("the file changed while it was being locked")
            final = Record(**{**record.__dict__, "payload_sha256": digest.hexdigest()})
            final = final.sign(me)
            header = build_header(file_key, [*stanzas, encode_stanza([*prev, final])])
            encoded = header.encode()
            if len(encoded) != start:  # pragma: no cover - format invariant
                raise VaultError("internal error: the signed header changed length")
            out.seek(0)
            out.write(encoded)
            self._verify_header(out, encoded, me, file_key, verified == size)

    def _verify_header(self, handle: BinaryIO, expected: bytes, me: UserKeys, file_key: bytes,
                       payload_ok: bool) -> None:
        """The signed header as read back is the one meant, and our own key unwraps it.

        (The payload was read back and authenticated chunk by chunk as it was written.
        No second hash: the chunks authenticate under a key only we have held.)
        """
        handle.flush()
        handle.seek(0)
        header = read_header(handle)
        if (not payload_ok or header.encode() != expected
                or age.unwrap_file_key(header, [me.identity]) != file_key):
            raise VaultError("verification of the written file failed; nothing was changed",
                             hint="check the disk (bad sectors, full, or failing?)")
        handle.seek(0, os.SEEK_END)

    # -- unlock / export / recover ---------------------------------------------------------

    def unlock(self, locked: Path | str, out_dir: Path | str, *, overwrite: bool = False,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Path:
        """Decrypt to ``out_dir``; the plaintext appears only if it all verified."""
        locked = Path(locked)
        head = self._checked_head(locked)
        file_key = self._file_key(head, locked, [self.keys().identity])
        out = _out_path(out_dir, locked)
        with atomic_output(out, overwrite=overwrite) as dst:
            _decrypt_checked(locked, head, file_key, dst, progress, cancel)
        self._audit("unlock", locked, output=str(out))
        return out

    def export(self, locked: Path | str, recipient: str, out: Path | str, *,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Path:
        """A standard age copy (no vault stanzas) for someone outside the vault.

        Owners only: it decides who reads the content, as sharing does. (A reader can
        of course decrypt and re-encrypt by hand; the app does not do it for them.)
        """
        locked, out = Path(locked), Path(out)
        target = parse_recipient(recipient)
        head, _current = self._owned_head(locked)
        file_key = self._file_key(head, locked, [self.keys().identity])
        with atomic_output(out) as dst:
            self._pipe(locked, head, file_key, cancel,
                       lambda src: age.encrypt(src, dst, [target], progress=progress,
                                               cancel=cancel))
        self._audit("export", locked, recipient=recipient)
        return out

    def recover(self, locked: Path | str, identity: Identity, out_dir: Path | str, *,
                overwrite: bool = False, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> tuple[Path, Verdict]:
        """Unlock with the recovery identity; reports (does not require) a valid signature."""
        locked = Path(locked)
        verdict = self._verdict(_read_head(locked))
        out = recover_file(locked, identity, out_dir, overwrite=overwrite, progress=progress,
                           cancel=cancel)
        return out, verdict

    def _pipe(self, locked: Path, head: _Head, file_key: bytes, cancel: CancelToken | None,
              consume: Callable[[Any], object]) -> None:
        """Decrypt on a thread into a bounded pipe that ``consume`` reads (no plaintext file)."""
        pipe = Pipe()

        def produce() -> None:
            try:
                _decrypt_checked(locked, head, file_key, pipe, None, cancel)
            except BrokenPipeError:
                return
            except BaseException as exc:
                with contextlib.suppress(BrokenPipeError):
                    pipe.finish(exc)
                return
            with contextlib.suppress(BrokenPipeError):
                pipe.finish()

        thread = threading.Thread(target=produce, name="vault-decrypt", daemon=True)
        thread.start()
        try:
            consume(pipe)
        finally:
            pipe.close()
            thread.join()

    def open_reader(self, locked: Path | str, *, verify_content: bool = True) -> AgeReader:
        """Seekable plaintext view, after the header signature checks out.

        With ``verify_content`` (the default) the payload is hashed once on opening and
        must match the signed digest (about 0.5 s per GiB); without it (a quick preview)
        every chunk is still authenticated, but content rewritten by another reader of
        the file would not be noticed.
        """
        from vault_app.core.reader import AgeReader

        locked = Path(locked)
        head = self._checked_head(locked)
        assert head.history is not None
        file_key = self._file_key(head, locked, [self.keys().identity])
        digest = head.history[-1].payload_sha256 if verify_content else None
        try:
            return AgeReader(locked, file_key=file_key, payload_sha256=digest)
        except PayloadError as exc:
            raise SignatureError(f"{locked.name}: {exc}") from None

    # -- share / revoke --------------------------------------------------------------------

    def _owned_head(self, locked: Path) -> tuple[_Head, Record]:
        head = self._checked_head(locked)
        assert head.history is not None
        current = head.history[-1]
        if current.acl.get(self.user) not in CAN_SHARE:
            raise AccessDeniedError(f"{self.user} is not an owner of {locked.name}",
                                    hint="only a file's owners may change who reads it")
        return head, current

    def share(self, locked: Path | str, user: str, role: Role | str = Role.READER) -> FileInfo:
        """Add ``user`` (or change their role): a header-only rewrite under the same file key."""
        locked, role = Path(locked), Role(role)
        me = self.keys()
        target = self.registry.member(user)
        _check_policy(self.post_quantum, target.recipient, user)
        with self._file_lock(locked):
            head, current = self._owned_head(locked)
            file_key = self._file_key(head, locked, [me.identity])
            acl = {**current.acl, user: role.value}
            _need_owner(acl, locked)
            readers, stanzas = dict(current.readers), list(head.recipients)
            if user in readers and readers[user] != target.recipient:
                raise MemberKeyMismatchError(
                    f"{user}'s key changed since they were given this file",
                    hint=f"revoke {user} first, then share again")
            if user not in readers:
                readers[user] = target.recipient
                stanzas += age.wrap_stanzas(file_key, [parse_recipient(target.recipient)])
            if acl == current.acl:
                return self.info(locked)
            record = Record(**{**current.__dict__, "acl": acl, "readers": readers,
                               "stanzas_sha256": stanzas_digest(stanzas), "signer": me.name,
                               "signed": self._now(), "change": "share",
                               "prev": current.digest(), "signature": ""}).sign(me)
            self._rewrite_header(locked, head, file_key, stanzas, [*(head.history or []), record])
            self._audit("share", locked, user=user, role=role.value)
        return self.info(locked)

    def _rewrite_header(self, locked: Path, head: _Head, file_key: bytes,
                        stanzas: list[Stanza], history: list[Record]) -> None:
        header = build_header(file_key, [*stanzas, encode_stanza(history)])
        payload = head.file_size - head.header_len
        with age.open_input(locked) as src, atomic_rw(locked, overwrite=True) as out:
            out.write(header.encode())
            copy_range(src, out, head.header_len, payload)
            if out.tell() != len(header.encode()) + payload:
                raise FileOperationError(f"{locked}: the payload copy is incomplete")

    def revoke(self, locked: Path | str, user: str, *, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None) -> FileInfo:
        """Remove ``user``: a fresh file key, the payload re-encrypted, replaced atomically."""
        locked = Path(locked)
        me = self.keys()
        with self._file_lock(locked):
            head, current = self._owned_head(locked)
            if user not in current.acl:
                raise UnknownUserError(f"{user} has no access to {locked.name}")
            file_key = self._file_key(head, locked, [me.identity])
            acl = {n: r for n, r in current.acl.items()
                   if n != user and (m := self.registry.lookup(n)) is not None and m.active}
            _need_owner(acl, locked)
            readers = self._recipients_for(acl)
            assert head.history is not None
            self._pipe(locked, head, file_key, cancel, lambda src: self._write(
                locked, src, readers=readers, acl=acl, author=current.author, change="revoke",
                prev=list(head.history or []), file_id=current.file_id, overwrite=True,
                expect_size=None, progress=progress, cancel=cancel))
            self._audit("revoke", locked, user=user)
        return self.info(locked)

    def revoke_everywhere(self, user: str, *, cancel: CancelToken | None = None,
                          ) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Revoke ``user`` from every file that names them: (revoked, [(skipped, why)])."""
        done: list[Path] = []
        skipped: list[tuple[Path, str]] = []
        for info in self.files():
            if user not in info.acl:
                continue
            try:
                self.revoke(info.path, user, cancel=cancel)
            except (AccessDeniedError, SignatureError, UnknownUserError) as exc:
                skipped.append((info.path, str(exc)))
            else:
                done.append(info.path)
        return done, skipped

    # -- verify --------------------------------------------------------------------------------

    def verify(self, paths: Sequence[Path] | None = None) -> list[tuple[Path, str, str]]:
        """Signatures, ACL history, member keys and (reading it all) every file's content."""
        results: list[tuple[Path, str, str]] = []
        registry = self.registry
        for name, problem in sorted(registry.problems.items()):
            results.append((self.meta / MEMBERS, Status.INVALID.value,
                            f"member {name}: {problem}"))
        for path in (self.scan() if paths is None else [Path(p) for p in paths]):
            results.append((path, *self._verify_file(path)))
        return results

    def _verify_file(self, path: Path) -> tuple[str, str]:
        try:
            head = _read_head(path)
        except (AgeError, KeyFormatError, FileOperationError) as exc:
            return Status.UNREADABLE.value, str(exc)
        verdict = self._verdict(head)
        if not verdict.ok or head.history is None:
            return verdict.status.value, verdict.detail
        current = head.history[-1]
        if payload_digest(path, head.header_len) != current.payload_sha256:
            return Status.INVALID.value, "the content is not the signed content"
        for name, recipient in current.readers.items():
            member = self.registry.lookup(name)
            if member is None or member.recipient != recipient:
                return (Status.INVALID.value,
                        f"reader {name}'s key is not the one in the member registry")
        return verdict.status.value, verdict.detail

    # -- members -------------------------------------------------------------------------------

    def members(self) -> list[Member]:
        return sorted(self.registry.active_members(), key=lambda m: m.name)

    def require_admin(self) -> UserKeys:
        """The acting user's keys, if they are an admin of this vault."""
        keys = self.keys()
        if not self.registry.member(self.user).admin:
            raise AccessDeniedError(f"{self.user} is not an admin of this vault",
                                    hint="ask a vault admin to do this")
        return keys

    def add_member(self, name: str, recipient: str, signing_key: str, *,
                   admin: bool = False) -> Member:
        """Sign and register a member's public keys (replacing a removed entry's keys)."""
        me = self.require_admin()
        _check_policy(self.post_quantum, recipient, name)
        entry = new_member(name, recipient, signing_key, admin=admin, added_by=me.name,
                           clock=self._clock)
        with self._locked("registry"):
            registry = self.registry
            existing = registry.trusted.get(name)
            if name in registry.problems or (existing is not None and existing.active):
                raise VaultError(f"{name} is already a member of this vault",
                                 hint="remove them first to change their keys")
            signed = entry.signed(self.config["vault_id"], me)
            self._write_registry(registry.with_entry(signed))
            self._audit("member-add", f"member:{name}", admin=admin,
                        fingerprint=signed.fingerprint())
        return signed

    def remove_member(self, name: str) -> None:
        """Mark a member removed (kept, so their old signatures still verify)."""
        me = self.require_admin()
        if name == self.config["root_admin"]:
            raise AccessDeniedError("the vault's first admin cannot be removed")
        with self._locked("registry"):
            registry = self.registry
            entry = registry.member(name)
            removed = Member(**{**entry.__dict__, "removed": self._now()})
            self._write_registry(registry.with_entry(removed.signed(self.config["vault_id"],
                                                                     me)))
            self._audit("member-remove", f"member:{name}")


def walk_vault(root: Path | str, *, plain_top_level: bool = False,
               folders: list[str] | None = None) -> Iterator[tuple[os.DirEntry[str], bool]]:
    """The one walk of a vault folder: ``(entry, locked)`` for every ``*.age`` regular file
    below ``root`` (hidden names and symlinked folders skipped), plus, with
    ``plain_top_level``, the plain regular files directly in ``root``. ``folders``, if
    given, receives every folder walked. Entries that vanish meanwhile are skipped.
    """
    top = str(root)
    stack = [top]
    while stack:
        folder = stack.pop()
        if folders is not None:
            folders.append(folder)
        try:
            listing = os.scandir(folder)
        except OSError:
            continue
        with listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.name.endswith(SUFFIX):
                        if entry.is_file():
                            yield entry, True
                    elif (plain_top_level and folder == top
                          and entry.is_file(follow_symlinks=False)):
                        yield entry, False
                except OSError:
                    continue


def _out_path(out_dir: Path | str, locked: Path) -> Path:
    """Where ``locked`` unlocks to inside ``out_dir`` (created if missing)."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise describe_os_error(exc, folder) from None
    name = locked.name[: -len(SUFFIX)] if locked.name.endswith(SUFFIX) else locked.name + ".out"
    return folder / name


def _decrypt_checked(locked: Path, head: _Head, file_key: bytes, dst: Any,
                     progress: ProgressFn | None, cancel: CancelToken | None) -> int:
    """Decrypt the payload to ``dst``, then insist on the signed payload digest.

    The digest is of the very bytes decrypted, in the same read pass (hashed on the
    stream's own thread, overlapping the decryption). ``dst`` is a temp file or a pipe
    whose reader only commits after this returns: no plaintext reaches the
    destination name unless the digest matched.
    """
    assert head.history is not None
    digest = hashlib.sha256()
    with age.open_input(locked) as handle:
        handle.seek(head.header_len)
        size = decrypt_payload(file_key, handle, dst, progress=progress, cancel=cancel,
                               digest=digest)
    if digest.hexdigest() != head.history[-1].payload_sha256:
        raise SignatureError(f"{locked.name}: the content is not the signed content "
                             "(rewritten by someone who could read it)")
    return size


def recover_file(locked: Path | str, identity: Identity, out_dir: Path | str, *,
                 overwrite: bool = False, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> Path:
    """Recovery without the vault's metadata (``.vault/`` lost): the file's signed payload
    digest is still enforced when it has one; signatures need the registry to be checked."""
    locked = Path(locked)
    head = _read_head(locked)
    file_key = age.unwrap_file_key(head.header, [identity])
    out = _out_path(out_dir, locked)
    with atomic_output(out, overwrite=overwrite) as dst:
        if head.history is None:
            with age.open_input(locked) as handle:
                handle.seek(head.header_len)
                decrypt_payload(file_key, handle, dst, progress=progress, cancel=cancel)
        else:
            _decrypt_checked(locked, head, file_key, dst, progress, cancel)
    return out


def _looks_locked(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        return False
    return head.startswith((b"age-encryption.org/", b"-----BEGIN AGE ENCRYPTED FILE-----"))


def _share_with_members(path: Path, *, directory: bool = False) -> None:
    """Public vault metadata gets the umask's permissions (atomic_output made it 0600):
    members on other logins must read the config and the registry."""
    with contextlib.suppress(OSError):
        os.chmod(path, shared_mode(directory))


def _need_owner(acl: dict[str, str], locked: Path) -> None:
    if Role.OWNER.value not in acl.values():
        raise AccessDeniedError(f"{locked.name} would be left without an owner",
                                hint="make someone else an owner first")


def _check_policy(post_quantum: bool, recipient: str, name: str) -> None:
    if post_quantum != is_post_quantum(recipient):
        kind = "post-quantum (age1pq1…)" if post_quantum else "X25519 (age1…)"
        raise KeyFormatError(f"{name}'s key does not fit this vault's policy: it needs {kind}")
