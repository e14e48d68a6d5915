"""The verbs scripts lean on: ``lock`` and ``unlock`` of files, folders and standard
input/output, and ``cat``.

* ``lock FILE|DIR...``: a folder is locked file by file, its tree kept (inside the vault,
  each file beside itself; from outside, under the vault's top as ``DIR/…``).
  ``lock - --name NAME`` locks standard input (any size, never on disk in plaintext).
* ``unlock FILE|DIR... -o DIR``: a folder of the vault is unlocked with its tree;
  ``-o -`` writes to standard output, as ``cat`` does.
* A progress bar on stderr when it is a terminal; ``-q`` and ``--json`` keep it off.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_app.cli import output
from vault_app.cli._common import UsageError, print_json
from vault_app.core.layout import LOCKED_SUFFIX, META

if TYPE_CHECKING:
    from vault_app.core.vault import FileInfo, Vault

STDIO = "-"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("lock", parents=[common], help="encrypt files into the vault")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="files or folders to lock (a folder keeps its tree), or - to read "
                        "standard input (with --name)")
    p.add_argument("--keep", action="store_true",
                   help="keep the plaintext (by default it is removed once the locked file "
                        "is verified)")
    p.add_argument("--replace", action="store_true",
                   help="store a new version of an existing locked file (owner or editor)")
    p.add_argument("--name", metavar="NAME",
                   help="with -: the file's name in the vault, relative to its top "
                        "(NAME.age is written)")
    p.set_defaults(handler=cmd_lock)

    p = commands.add_parser("unlock", parents=[common], help="decrypt vault files")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="locked files, or folders of the vault (their trees are kept)")
    p.add_argument("-o", "--output", metavar="DIR", default=".",
                   help="folder to write to (default: here), or - for standard output")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(handler=cmd_unlock)

    p = commands.add_parser("cat", parents=[common],
                            help="decrypt vault files to standard output")
    p.add_argument("files", nargs="+", metavar="FILE", help="locked files, in order")
    p.set_defaults(handler=cmd_cat)


def _vault(args: argparse.Namespace) -> Vault:
    from vault_app.cli.vault_commands import _open

    return _open(args)


def _plain_files(folder: Path) -> Iterator[Path]:
    """The regular files under ``folder`` to lock, in a stable order: no hidden names, no
    symbolic links, nothing already locked, never the vault's metadata."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != META)
        for name in sorted(files):
            path = Path(here) / name
            if (not name.startswith(".") and not name.endswith(LOCKED_SUFFIX)
                    and path.is_file() and not path.is_symlink()):
                yield path


def _remove_empty_folders(folder: Path) -> None:
    """After locking a folder from outside the vault: drop the folders it emptied."""
    for here, _dirs, _files in sorted(os.walk(folder, topdown=False), reverse=True):
        try:
            os.rmdir(here)
        except OSError:
            continue


def _with_progress(args: argparse.Namespace, label: str, total: int | None,
                   run: Any, *, show: bool = True) -> Any:
    bar = output.progress_bar(args, label, total) if show else None
    try:
        return run(bar)
    finally:
        if bar is not None:
            bar.done()


def cmd_lock(args: argparse.Namespace) -> int:
    if args.name and args.files != [STDIO]:
        raise UsageError("--name goes with - (standard input) only")
    if STDIO in args.files and (args.files != [STDIO] or not args.name):
        raise UsageError("to lock standard input give - alone, with --name NAME")
    vault = _vault(args)
    infos: list[FileInfo] = []

    def done(info: FileInfo) -> None:  # each reported at once: a later failure stops
        infos.append(info)
        if not args.json:
            print(f"locked {info.name}: readers {', '.join(info.readers) or '-'}; "
                  f"{info.signature} ({info.signature_detail})")

    if args.files == [STDIO]:
        from vault_app.core.layout import locked_path

        dest = locked_path(vault.path, Path(args.name))
        vault.make_folder(dest.parent)
        stdin = os.fdopen(os.dup(0), "rb", buffering=0)
        with stdin:
            done(_with_progress(args, args.name, None, lambda bar: vault.lock_stream(
                stdin, dest, replace=args.replace, source="stdin", progress=bar)))
    for name in args.files:
        if name == STDIO:
            continue
        src = Path(name)
        if not src.is_dir() or src.is_symlink():
            done(_lock_one(args, vault, src, None))
            continue
        inside = vault.path in src.absolute().parents or src.absolute() == vault.path
        base = src.absolute().parent
        files = list(_plain_files(src))
        if not files:
            raise UsageError(f"{src}: holds no files to lock (hidden and locked files "
                             "are left out)")
        for path in files:
            target = None if inside else vault.path / (
                str(path.absolute().relative_to(base)) + LOCKED_SUFFIX)
            done(_lock_one(args, vault, path, target))
        if not inside and not args.keep:
            _remove_empty_folders(src)
    if args.json:
        print_json([i.to_json() for i in infos])
    return 0


def _lock_one(args: argparse.Namespace, vault: Vault, src: Path, dest: Path | None) -> FileInfo:
    if dest is not None:
        vault.make_folder(dest.parent)
    try:
        size: int | None = src.stat().st_size
    except OSError:
        size = None  # lock says what is wrong with it
    info: FileInfo = _with_progress(args, src.name, size, lambda bar: vault.lock(
        src, keep=args.keep, dest=dest, replace=args.replace, progress=bar))
    return info


def _locked_under(folder: Path) -> Iterator[Path]:
    from vault_app.core.walk import walk_vault

    yield from sorted(Path(entry.path) for entry, locked in walk_vault(folder) if locked)


def cmd_unlock(args: argparse.Namespace) -> int:
    if args.output == STDIO:
        return cmd_cat(args)
    vault = _vault(args)
    outs = []
    for name in args.files:
        given = Path(name)
        if given.is_dir():
            pairs = [(p, Path(args.output) / given.absolute().name
                      / p.parent.relative_to(given.absolute()))
                     for p in _locked_under(given.absolute())]
        else:
            pairs = [(given, Path(args.output))]
        for locked, out_dir in pairs:
            size = _size_of(vault, locked)
            out = _with_progress(args, locked.name, size, lambda bar, f=locked, d=out_dir:
                                 vault.unlock(f, d, overwrite=args.force, progress=bar))
            outs.append({"file": str(locked), "output": str(out)})
            if not args.json:
                print(f"unlocked {out}")
    if args.json:
        print_json(outs)
    return 0


def _size_of(vault: Vault, locked: Path) -> int | None:
    try:
        return vault.info(locked).size
    except OSError:
        return None


def cmd_cat(args: argparse.Namespace) -> int:
    vault = _vault(args)
    out = output.data_stream()
    on_screen = out.isatty()  # the data itself is on the terminal: no bar across it
    for name in args.files:
        locked = Path(name)
        _with_progress(args, locked.name, _size_of(vault, locked),
                       lambda bar, f=locked: vault.unlock_to(f, out, progress=bar),
                       show=not on_screen)
    return 0
