"""The vault verbs: init, ls, share, revoke, export, verify, recover (lock/unlock/cat in
``script_commands``, user in ``user_commands``, the team verbs in ``team_commands``).

Each handler opens the vault through the core API and prints either a short human
line per result or, with ``--json``, one JSON document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_app.cli import output
from vault_app.cli._common import UsageError, ask_passphrase, print_json
from vault_app.cli.age_commands import load_identity_file
from vault_app.core.atomic import atomic_output
from vault_app.core.errors import NotAVaultError, SignatureError

if TYPE_CHECKING:  # the vault modules load inside the handlers: `encrypt` never needs them
    from vault_app.core.keystore import Keystore, PassphraseFn
    from vault_app.core.vault import FileInfo, Vault

#: The values of vault_app.core.acl.Role (tests/test_cli_startup.py keeps them equal).
ROLES = ("owner", "editor", "reader")


def _common(json_output: bool = True) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--vault", metavar="DIR",
                        help="the vault (default: $VAULT_DIR, the nearest above here, or the "
                        "one the named files are in)")
    parent.add_argument("--user", metavar="NAME",
                        help="act as this vault user (default: $VAULT_USER or your login)")
    parent.add_argument("--key-file", action="store_true",
                        help="keep keys in a passphrase-protected file, not the OS keyring")
    if json_output:
        parent.add_argument("--json", action="store_true",
                            help="machine-readable output (errors too: one JSON object "
                                 "on stderr)")
    parent.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing but errors (no progress bar, no result lines)")
    return parent


def register(commands: Any, only: str | None = None) -> None:
    """Add the vault verbs' parsers; with ``only``, just that verb's (a command needs no
    other, and building them all is a noticeable part of a command's start-up). Some
    verbs come from one module together (lock/unlock/cat, the team verbs): each adder runs
    once."""
    common = _common()
    for add in dict.fromkeys(add for verb, add in _PARSERS.items() if only in (None, verb)):
        add(commands, common)


def _init_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("init", parents=[common], help="create a vault in DIR")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR")
    p.add_argument("--pq", action="store_true", help="post-quantum (ML-KEM hybrid) keys")
    p.add_argument("--recovery-out", metavar="FILE",
                   help="write the recovery key to FILE instead of printing it")
    p.add_argument("--protect", action="store_true",
                   help="protect your new keyring entry with a passphrase")
    p.add_argument("--group", metavar="GROUP",
                   help="an OS group whose members share the vault folder (group owner, "
                        "setgid, no access for others); see docs/teams.md")
    p.set_defaults(handler=cmd_init)



def _script_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    from vault_app.cli import script_commands  # here: it imports this module

    script_commands.register(commands, common)


def _ls_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("ls", parents=[common], help="list the vault's files")
    p.set_defaults(handler=cmd_ls)


def _share_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("share", parents=[common], help="give a member access to a file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--with", dest="with_user", required=True, metavar="USER")
    p.add_argument("--role", choices=ROLES,
                   help="default: the vault policy's default_share_role (reader)")
    p.set_defaults(handler=cmd_share)


def _revoke_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("revoke", parents=[common],
                            help="remove a member's access (re-encrypts the file)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--from", dest="from_user", required=True, metavar="USER")
    p.set_defaults(handler=cmd_revoke)


def _export_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("export", parents=[common],
                            help="a standard age copy for someone outside the vault")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--to", dest="recipient", required=True, metavar="RECIPIENT")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.set_defaults(handler=cmd_export)


def _verify_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("verify", parents=[common],
                            help="check signatures, ACLs, member keys and content")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.set_defaults(handler=cmd_verify)


def _recover_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("recover", parents=[common], help="unlock with the recovery key")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-i", "--identity", required=True, metavar="RECOVERY_IDENTITY")
    p.add_argument("-o", "--output", metavar="DIR", default=".")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(handler=cmd_recover)


def _team_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    from vault_app.cli import team_commands

    team_commands.register(commands, common)


def _user_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    from vault_app.cli import user_commands

    user_commands.register(commands, common)


_PARSERS: dict[str, Callable[[Any, argparse.ArgumentParser], None]] = {
    "init": _init_parser,
    "lock": _script_parsers,
    "unlock": _script_parsers,
    "cat": _script_parsers,
    "ls": _ls_parser,
    "share": _share_parser,
    "revoke": _revoke_parser,
    "export": _export_parser,
    "verify": _verify_parser,
    "recover": _recover_parser,
    "user": _user_parsers,
    "join": _team_parsers,
    "adopt": _team_parsers,
    "doctor": _team_parsers,
    "forget": _team_parsers,
}
#: The verbs this module adds.
VERBS = tuple(_PARSERS)


# -- plumbing ----------------------------------------------------------------------------------


def _passphrase_fn() -> PassphraseFn:
    from vault_app.core.keystore import passphrase_from_env

    from_env = passphrase_from_env()
    if from_env is not None:
        return from_env
    return lambda prompt, confirm: ask_passphrase(prompt, confirm=confirm)


def _keystore(args: argparse.Namespace) -> Keystore:
    from vault_app.core.keystore import Keystore

    use_file = bool(getattr(args, "key_file", False) or os.environ.get("VAULT_KEY_FILE"))
    return Keystore(passphrase=_passphrase_fn(), use_key_file=use_file)


#: Verbs whose FILE arguments are files of the vault: run outside any vault, they use the
#: vault the files are in (`vault unlock /srv/team/sales.csv.age -o .` from anywhere).
FILE_VERBS = frozenset({"lock", "unlock", "cat", "share", "revoke", "export", "verify",
                        "audit", "adopt"})


def _vault_dir(args: argparse.Namespace) -> Path:
    """--vault, else VAULT_DIR, else the vault around the working folder, else the one the
    named files are in (all in the same one)."""
    from vault_app.core.vault import Vault

    given = args.vault or os.environ.get("VAULT_DIR")
    if given:
        return Path(given)
    found = Vault.find(Path.cwd()) or _vault_of_files(args)
    if found is None:
        raise NotAVaultError("no vault here or in any folder above",
                             hint="pass --vault DIR, set VAULT_DIR, or run `vault init`")
    return found


def _vault_of_files(args: argparse.Namespace) -> Path | None:
    from vault_app.core.vault import Vault

    if getattr(args, "command", None) not in FILE_VERBS:
        return None
    names = getattr(args, "files", None) or [getattr(args, "file", None)]
    places = [Path(name).absolute() for name in names if name and name != "-"]
    vaults = {Vault.find(place if place.is_dir() else place.parent) for place in places}
    if len(vaults) > 1:
        raise NotAVaultError("the files named are in different vaults (or some in none)",
                             hint="run one command per vault, or pass --vault DIR")
    return vaults.pop() if vaults else None


def _open(args: argparse.Namespace) -> Vault:
    from vault_app.core.vault import Vault

    vault = Vault.open(_vault_dir(args), user=args.user, keystore=_keystore(args))
    first_use_note(vault)
    return vault


def first_use_note(vault: Vault) -> None:
    """The first time this account opens a vault: whose it says it is, to compare."""
    if vault.first_use is not None:
        print(f"note: {vault.first_use.message()}", file=sys.stderr)


def _human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _print_info(info: FileInfo, verb: str) -> None:
    print(f"{verb} {info.name}: readers {', '.join(info.readers) or '-'}; "
          f"{info.signature} ({info.signature_detail})")


# -- verbs -------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from vault_app.core.keys import generate_identity
    from vault_app.core.vault import Vault

    keystore = _keystore(args)
    if args.recovery_out == "-":
        args.recovery_out = None  # standard output: printed below, as without the option
    identity = generate_identity(post_quantum=args.pq)
    recipient = str(identity.recipient())
    if args.recovery_out:  # written first, exclusively: a failed init then removes it
        created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        text = (f"# Dataset Vault recovery key for {Path(args.dir).absolute()}\n"
                f"# created: {created}\n# public key: {recipient}\n{identity}\n")
        with atomic_output(args.recovery_out) as out:
            out.write(text.encode())
    try:
        vault, recovery = Vault.init(args.dir, user=args.user, keystore=keystore,
                                     post_quantum=args.pq, protect=args.protect,
                                     group=args.group, recovery=identity)
    except BaseException:
        if args.recovery_out:
            Path(args.recovery_out).unlink(missing_ok=True)
        raise
    data = {"vault": str(vault.path), "admin": vault.user, "recovery_recipient": recipient,
            "recovery_key_file": args.recovery_out}
    if args.json:
        if not args.recovery_out:
            data["recovery_identity"] = recovery
        print_json(data)
        return 0
    print(f"Created vault {vault.path} with {vault.user} as its first admin.")
    if args.recovery_out:
        print(f"Recovery key written to {args.recovery_out}: keep it offline, then delete it.")
    else:
        print("Recovery key (shown once; keep it offline, it opens every file):")
        print(recovery)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    vault = _open(args)
    infos = vault.files()
    if args.json:
        print_json([i.to_json() for i in infos])
        return 0
    for info in infos:
        print(f"{info.name}\t{_human_size(info.size)}\towner {info.owner or '-'}\t"
              f"readers {','.join(info.readers) or '-'}\t{info.signature}")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    from vault_app.core.acl import Role

    vault = _open(args)
    role = args.role or vault.policy.get("default_share_role", Role.READER.value)
    info = vault.share(Path(args.file), args.with_user, Role(role))
    if args.json:
        print_json(info.to_json())
    else:
        _print_info(info, "shared")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    info = _open(args).revoke(Path(args.file), args.from_user)
    if args.json:
        print_json(info.to_json())
    else:
        _print_info(info, "revoked; now")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    to_stdout = args.output == "-"
    target = output.binary_stdout() if to_stdout else Path(args.output)
    out = _open(args).export(Path(args.file), args.recipient, target)
    if to_stdout:  # standard output holds the age file itself
        return 0
    if args.json:
        print_json({"file": args.file, "output": args.output, "recipient": args.recipient})
    else:
        print(f"exported {out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    vault = _open(args)
    results = vault.verify([Path(f) for f in args.files] if args.files else None)
    bad = [r for r in results if not r.ok]
    if args.json:
        print_json([{"path": str(r.path), "status": r.status.value, "detail": r.detail}
                    for r in results])
    else:
        for r in results:
            print(f"{r.status.value}\t{r.path}\t{r.detail}")
    if bad:
        print(f"error: {len(bad)} of {len(results)} checks failed", file=sys.stderr)
        return 1
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    from vault_app.core.vault import Vault, default_user, recover_file

    if args.output == "-":
        raise UsageError("recover writes files (each checked before it appears); "
                         "-o - is not offered", hint="give a folder with -o DIR")
    identities = load_identity_file(args.identity)
    if len(identities) != 1:
        raise UsageError("the recovery identity file must hold exactly one identity")
    given = args.vault or os.environ.get("VAULT_DIR")
    root = Path(given) if given else Vault.find(Path(args.files[0]).absolute().parent)
    vault = (Vault.open(root, user=args.user or default_user(), keystore=_keystore(args))
             if root is not None else None)
    results = []
    for name in args.files:
        if vault is not None:
            out, verdict = vault.recover(Path(name), identities[0], Path(args.output),
                                         overwrite=args.force)
            status, detail = verdict.status.value, verdict.detail
        else:  # the vault's metadata is gone: content digest only, no signature check
            out = recover_file(Path(name), identities[0], Path(args.output),
                               overwrite=args.force)
            status, detail = "unchecked", "no vault metadata: the signature was not checked"
        results.append({"file": name, "output": str(out), "signature": status,
                        "signature_detail": detail})
        if not args.json:
            print(f"recovered {out} ({status}: {detail})")
    if args.json:
        print_json(results)
    if any(r["signature"] != "valid" for r in results):
        raise SignatureError("some recovered files do not carry a checked, valid signature",
                             hint="check their content before trusting it")
    return 0


# -- user --------------------------------------------------------------------------------------
