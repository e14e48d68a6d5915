"""A vault: a folder of age files plus ``.vault/`` metadata (config, members, locks).

``Vault`` is the one object clients (the CLI, the window, ``vault_app.open``) use: it
opens or creates a vault and offers every operation as a method. It holds no logic of
its own; each concern has its own module, all working on the vault's ``Session``:

* ``vault_config`` - the signed config, creating a vault, the known-vaults pin;
* ``registry_store`` / ``members`` / ``membership`` - the member registry and its changes;
* ``listing`` - the folder walk and each file's header facts;
* ``file_ops`` - lock, unlock, export, recover, the in-place reader;
* ``sharing`` - share and revoke;
* ``verify`` - signature verdicts and the full check.

See docs/architecture.md for the layout and docs/format.md for the files.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Concatenate, ParamSpec, TypeVar

from vault_app.core import adoption, file_ops, joining, listing, membership, sharing
from vault_app.core.acl import Role, Verdict
from vault_app.core.atomic import describe_os_error
from vault_app.core.conflicts import metadata_conflicts
from vault_app.core.errors import ErrorKind, VaultError
from vault_app.core.file_ops import recover_file
from vault_app.core.folder_modes import make_team_folder, resolve_group
from vault_app.core.keys import KeyPair, generate_identity, is_post_quantum
from vault_app.core.keystore import Keystore, UserKeys
from vault_app.core.layout import META, check_name, display_name, locked_path
from vault_app.core.listing import FileInfo
from vault_app.core.members import Member, Registry, first_registry, new_member
from vault_app.core.progress import CancelToken, ProgressFn
from vault_app.core.recipients import Identity
from vault_app.core.session import Session, default_user
from vault_app.core.signing import Clock
from vault_app.core.vault_config import check_policy, create_metadata, load_config, new_config
from vault_app.core.vault_identity import FirstUse, check_not_nested, find_vault, pin
from vault_app.core.verify import FileVerdict, verify_files
from vault_app.core.walk import scan, walk_vault

if TYPE_CHECKING:
    from vault_app.core.reader import AgeReader

__all__ = ["FileInfo", "FileVerdict", "Member", "Role", "Vault", "default_user",
           "recover_file", "walk_vault"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


def _remembering(method: Callable[Concatenate[Vault, _P], _T]
                 ) -> Callable[Concatenate[Vault, _P], _T]:
    """After the call (even a failed one), this account remembers what it verified:
    the next run spots a registry or a file put back to an older version."""
    def call(self: Vault, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        calls = self._calls  # per thread: the window calls in from several
        calls.depth = getattr(calls, "depth", 0) + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            calls.depth -= 1
            if not calls.depth:  # once, after the outermost call
                with contextlib.suppress(VaultError, OSError):
                    self._session.save_seen()
    call.__name__, call.__doc__ = method.__name__, method.__doc__
    return call


class Vault:
    """An opened vault, acting as ``user``. Keys are fetched from the keystore on first use."""

    def __init__(self, path: Path, config: dict[str, Any], *, user: str | None,
                 keystore: Keystore | None, clock: Clock | None = None) -> None:
        self._session = Session(path, config, user=user, keystore=keystore, clock=clock)
        self._calls = threading.local()  # calls in progress per thread (_remembering)
        #: set by ``open`` the first time this account opens this vault: what to compare
        self.first_use: FirstUse | None = None
        self._listing = listing.Listing(self._session)

    # -- creation and opening ------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str, *, user: str | None = None,
             keystore: Keystore | None = None, post_quantum: bool = False,
             protect: bool = False, clock: Clock | None = None, group: str | None = None,
             recovery: KeyPair | None = None) -> tuple[Vault, str]:
        """Create ``.vault/`` with ``user`` as first admin; return the recovery identity once.

        ``group``: an OS group whose members share the folder (group owner, setgid, no
        access for others). ``recovery``: the recovery identity, if the caller made (and
        saved) it first; else one is made here. Everything that can be checked is checked
        before anything is created.
        """
        path = Path(os.path.abspath(path))
        keystore = keystore or Keystore()
        name = check_name(user or default_user())
        if os.path.lexists(path / META):
            raise VaultError(f"{path} is already a vault", kind=ErrorKind.EXISTS)
        check_not_nested(path)
        gid = resolve_group(group) if group is not None else None
        if recovery is not None and is_post_quantum(str(recovery.recipient())) != post_quantum:
            raise VaultError("the recovery key does not fit the vault's policy",
                             kind=ErrorKind.USAGE)
        keys = (keystore.load(name) if keystore.exists(name)
                else keystore.create(name, post_quantum=post_quantum, protect=protect))
        check_policy(post_quantum, keys.recipient, name)
        try:  # only once the keys exist: a failed init leaves nothing behind
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, path) from None
        if gid is not None:
            make_team_folder(path, gid)
        recovery = recovery or generate_identity(post_quantum=post_quantum)
        config = new_config(keys, keys.signing_public, str(recovery.recipient()),
                            post_quantum=post_quantum, clock=clock)
        root = new_member(name, keys.recipient, keys.signing_public, admin=True,
                          added_by=name, clock=clock)
        registry = first_registry(config["vault_id"], root, keys)
        create_metadata(path, config, registry)
        vault = cls(path, config, user=name, keystore=keystore, clock=clock)
        pin(config, path, vault.keystore.config_dir)
        vault._session.trust_keys(keys)
        vault._session.audit("init", "", admin=name)
        vault._session.save_seen()
        return vault, str(recovery)

    @classmethod
    def open(cls, path: Path | str, *, user: str | None = None,
             keystore: Keystore | None = None, clock: Clock | None = None) -> Vault:
        path = Path(os.path.abspath(path))
        check_not_nested(path)
        vault = cls(path, load_config(path), user=user, keystore=keystore, clock=clock)
        vault.first_use = pin(vault.config, path, vault.keystore.config_dir)
        return vault

    @staticmethod
    def find(start: Path | str) -> Path | None:
        """The vault at or above ``start`` (refused if it is inside another vault)."""
        return find_vault(start)

    # -- the vault and the acting user ---------------------------------------------------

    @property
    def path(self) -> Path:
        return self._session.path

    @property
    def config(self) -> dict[str, Any]:
        return self._session.config

    @property
    def user(self) -> str:
        return self._session.user

    @property
    def keystore(self) -> Keystore:
        return self._session.keystore

    @property
    def meta(self) -> Path:
        return self._session.meta

    @property
    def policy(self) -> dict[str, Any]:
        return self._session.policy

    @property
    def post_quantum(self) -> bool:
        return self._session.post_quantum

    @property
    def recovery_recipient(self) -> str:
        return self._session.recovery_recipient

    @property
    def registry(self) -> Registry:
        return self._session.registry

    def keys(self) -> UserKeys:
        """The acting user's private keys, checked against their signed registry entry."""
        return self._session.keys()

    # -- listing -------------------------------------------------------------------------

    def scan(self) -> list[Path]:
        """Every ``*.age`` file under the vault (hidden folders skipped); no header reads."""
        return scan(self.path)

    def display_name(self, locked: Path) -> str:
        return display_name(Path(locked).absolute(), self.path)

    @_remembering
    def info(self, locked: Path | str) -> FileInfo:
        """Header-only facts and signature status of one locked file (always re-read)."""
        return self._listing.info(Path(locked))

    @_remembering
    def files(self) -> list[FileInfo]:
        """Every locked file's info; unchanged files come from memory on a re-listing."""
        return self._listing.files()

    # -- a file's content ----------------------------------------------------------------

    def default_dest(self, src: Path) -> Path:
        return file_ops.default_dest(self._session, src)

    @_remembering
    def lock(self, src: Path | str, *, keep: bool = False, dest: Path | None = None,
             replace: bool | None = None, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> FileInfo:
        """Encrypt ``src`` into the vault, verify it by decrypting, then remove the plaintext.

        Writing over an existing locked file makes a new version (the acting user must be
        its owner or editor; its ACL carries over). That happens when ``replace`` is set,
        or when it is left out (None) and ``dest`` is given explicitly; otherwise an
        existing file is an error, so a dropped file never silently replaces another's
        content.
        """
        done = file_ops.lock(self._session, Path(src), keep=keep, dest=dest, replace=replace,
                             progress=progress, cancel=cancel)
        return self.info(done)

    @_remembering
    def lock_stream(self, plain: BinaryIO, dest: Path | str, *, replace: bool = False,
                    source: str = "stream", progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None) -> FileInfo:
        """Encrypt an open stream of unknown size (standard input, a writer's pipe) to
        ``dest`` (a ``.age`` path in the vault), as :meth:`lock` does a file: signed,
        verified by reading back, published atomically, no plaintext on disk.
        ``source`` says in the audit log where the plaintext came from."""
        dest = locked_path(self.path, Path(dest))
        change, refs = file_ops.lock_stream(self._session, plain, dest, replace=replace,
                                            expect_size=None, progress=progress,
                                            cancel=cancel)
        self._session.audit(change, dest, source=source, **refs)
        return self.info(dest)

    def make_folder(self, folder: Path | str) -> None:
        """``folder`` in the vault and its missing parents, each with the vault's shared
        folder mode, reached without links (for a tree being locked or written)."""
        parts = self._session.folder.parts(Path(folder).absolute())
        if parts[:1] == (META,):
            raise VaultError(f"{folder}: is inside the vault's metadata folder",
                             kind=ErrorKind.USAGE)
        with self._session.folder.folder(parts, create=True):
            pass

    @_remembering
    def unlock(self, locked: Path | str, out_dir: Path | str, *, overwrite: bool = False,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Path:
        """Decrypt to ``out_dir``; the plaintext appears only if it all verified."""
        return file_ops.unlock(self._session, Path(locked), out_dir, overwrite=overwrite,
                               progress=progress, cancel=cancel)

    @_remembering
    def unlock_to(self, locked: Path | str, dst: BinaryIO, *,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> int:
        """Decrypt to an open stream (standard output); the signed content is checked
        before the first byte goes out. Returns the size."""
        return file_ops.unlock_to(self._session, Path(locked), dst, progress=progress,
                                  cancel=cancel)

    @_remembering
    def export(self, locked: Path | str, recipient: str, out: Path | str | BinaryIO, *,
               progress: ProgressFn | None = None,
               cancel: CancelToken | None = None) -> Path | BinaryIO:
        """A standard age copy (no vault stanzas) for someone outside the vault, to a new
        file or an open stream.

        Owners only: it decides who reads the content, as sharing does. (A reader can
        of course decrypt and re-encrypt by hand; the app does not do it for them.)
        """
        target = Path(out) if isinstance(out, str | os.PathLike) else out
        return file_ops.export(self._session, Path(locked), recipient, target,
                               progress=progress, cancel=cancel)

    @_remembering
    def recover(self, locked: Path | str, identity: Identity, out_dir: Path | str, *,
                overwrite: bool = False, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> tuple[Path, Verdict]:
        """Unlock with the recovery identity; reports (does not require) a valid signature."""
        return file_ops.recover(self._session, Path(locked), identity, out_dir,
                                overwrite=overwrite, progress=progress, cancel=cancel)

    @_remembering
    def open_reader(self, locked: Path | str, *, verify_content: bool = True) -> AgeReader:
        """Seekable plaintext view, after the header signature checks out.

        Each segment a read needs is hashed and checked against the signed list as it is
        read from the file (a read costs what it covers, rounded out to whole segments:
        64 KiB each up to 64 MiB of content, at most 2 MiB). Files made before
        segment digests have one digest of the whole payload: with ``verify_content``
        (the default) it is checked on opening (about 0.5 s per GiB); without it (a quick
        preview) every chunk is still authenticated, but content rewritten by another
        reader of the file would not be noticed.
        """
        return file_ops.open_reader(self._session, Path(locked),
                                    verify_content=verify_content)

    # -- who reads a file ----------------------------------------------------------------

    @_remembering
    def share(self, locked: Path | str, user: str, role: Role | str = Role.READER) -> FileInfo:
        """Add ``user`` (or change their role): a header-only rewrite under the same file key."""
        sharing.share(self._session, Path(locked), user, Role(role))
        return self.info(locked)

    @_remembering
    def revoke(self, locked: Path | str, user: str, *, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None) -> FileInfo:
        """Remove ``user``: a fresh file key, the payload re-encrypted, replaced atomically."""
        sharing.revoke(self._session, Path(locked), user, progress=progress, cancel=cancel)
        return self.info(locked)

    @_remembering
    def revoke_everywhere(self, user: str, *, cancel: CancelToken | None = None,
                          ) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Revoke ``user`` from every file that names them: (revoked, [(skipped, why)])."""
        return sharing.revoke_everywhere(self._session, user, self.files(), cancel=cancel)

    def health(self) -> list[str]:
        """Problems of the vault as a whole, found without reading the files: a registry
        rolled back, forked or edited; sync-conflict copies of its metadata. Each starts
        with "rollback:", "fork:" or "conflict:" (for a banner; ``verify`` says more)."""
        problems = [p for p in [self._session.registry_problem()] if p is not None]
        return problems + metadata_conflicts(self._session.folder)

    # -- verify --------------------------------------------------------------------------

    @_remembering
    def verify(self, paths: Sequence[Path] | None = None) -> list[FileVerdict]:
        """Signatures, ACL history, member keys and (reading it all) every file's content."""
        return verify_files(self._session, self.scan() if paths is None else paths,
                            whole_vault=paths is None)

    # -- members -------------------------------------------------------------------------

    def members(self) -> list[Member]:
        return sorted(self.registry.active_members(), key=lambda m: m.name)

    def require_admin(self) -> UserKeys:
        """The acting user's keys, if they are an admin of this vault."""
        return self._session.require_admin()

    @_remembering
    def add_member(self, name: str, recipient: str, signing_key: str, *,
                   admin: bool = False) -> Member:
        """Sign and register a member's public keys (replacing a removed entry's keys)."""
        return membership.add_member(self._session, name, recipient, signing_key, admin=admin)

    @_remembering
    def adopt(self, locked: Path | str, recovery: Identity, owners: Sequence[str], *,
              progress: ProgressFn | None = None,
              cancel: CancelToken | None = None) -> FileInfo:
        """Take over a file whose owners all left: re-encrypted for ``owners`` with the
        vault's ``recovery`` identity (admins only)."""
        adoption.adopt(self._session, Path(locked), recovery, owners, progress=progress,
                       cancel=cancel)
        return self.info(locked)

    # -- joining -------------------------------------------------------------------------

    @classmethod
    def join(cls, path: Path | str, *, user: str | None = None,
             keystore: Keystore | None = None,
             clock: Clock | None = None) -> tuple[Vault, joining.JoinRequest]:
        """Ask to join the vault at ``path`` as ``user``, from this account: keys made in
        (or reused from) this account's keystore, a self-signed request of public keys
        written into the vault. Returns the vault and the request (its fingerprint is what
        the newcomer reads out to an admin)."""
        vault = cls.open(path, user=user, keystore=keystore, clock=clock)
        name = vault.user
        current = vault.registry.trusted.get(name)
        if current is not None and current.active and vault.keystore.exists(name):
            keys = vault.keystore.load(name)
            if (keys.recipient, keys.signing_public) == (current.recipient,
                                                         current.signing_key):
                raise VaultError(f"{name} is already a member of this vault",
                                 kind=ErrorKind.EXISTS)
        item = joining.request(vault.path, vault.config, vault.keystore, name,
                               post_quantum=vault.post_quantum, clock=clock)
        return vault, item

    def join_requests(self) -> tuple[list[joining.JoinRequest], list[str]]:
        """Pending join requests (and why malformed or forged ones were set aside)."""
        return joining.pending(self._session.folder, self._session.vault_id)

    @_remembering
    def approve(self, name: str, fingerprint: str, *, admin: bool = False) -> Member:
        """Admit ``name`` from their join request, once the ``fingerprint`` they read out
        matches their keys; the request is then removed."""
        self.require_admin()
        item = joining.find(self._session.folder, self._session.vault_id, name)
        joining.check_fingerprint(item, fingerprint)
        member = membership.add_member(self._session, name, item.recipient, item.signing_key,
                                       admin=admin, via="join request")
        joining.remove(self._session.folder, name)
        return member

    @_remembering
    def reject(self, name: str) -> None:
        """Refuse ``name``'s join request (recorded in the audit log)."""
        self.require_admin()
        requests, _problems = self.join_requests()
        found = [r for r in requests if r.name == name]
        self._session.audit("join-reject", f"member:{check_name(name)}",
                            fingerprint=found[0].fingerprint if found else "")
        joining.remove(self._session.folder, name)

    @_remembering
    def remove_member(self, name: str) -> None:
        """Mark a member removed (kept, so their old signatures still verify)."""
        membership.remove_member(self._session, name)
