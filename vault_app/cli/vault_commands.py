"""The vault verbs: init, lock, unlock, ls, share, revoke, export, verify, user, recover.

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
                        help="the vault (default: $VAULT_DIR, or the nearest above here)")
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


def _register_user(commands: Any, common: argparse.ArgumentParser) -> None:
    from vault_app.cli import team_commands

    user = commands.add_parser("user", help="vault members and their keys")
    verbs = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    team_commands.register_user(verbs, common)
    p = verbs.add_parser("add", parents=[common],
                         help="add a member by their public keys (newcomers usually ask "
                              "with `vault join` instead)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--recipient", metavar="AGE_RECIPIENT", help="their public age recipient")
    p.add_argument("--signing-key", metavar="VAULTSIG", help="their public signing key")
    p.add_argument("--admin", action="store_true", help="make them a vault admin")
    p.set_defaults(handler=cmd_user_add)
    p = verbs.add_parser("list", parents=[common], help="list members")
    p.set_defaults(handler=cmd_user_list)
    p = verbs.add_parser("show", parents=[common], help="print a user's public keys")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.set_defaults(handler=cmd_user_show)
    p = verbs.add_parser("remove", parents=[common], help="remove a member")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--keys", action="store_true",
                   help="also delete their private keys from this account")
    p.add_argument("--revoke", action="store_true",
                   help="also revoke them from every file you own (re-encrypts those)")
    p.set_defaults(handler=cmd_user_remove)
    p = verbs.add_parser("export", parents=[common],
                         help="write your keys to a passphrase-protected age file")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(handler=cmd_user_export)
    p = verbs.add_parser("protect", parents=[common],
                         help="add (or with --off remove) a passphrase on your keyring entry")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--off", action="store_true", help="remove the passphrase")
    p.set_defaults(handler=cmd_user_protect)
    p = verbs.add_parser("import", parents=[common], help="import exported keys")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", metavar="NAME", help="store them under another name")
    p.add_argument("--protect", action="store_true", help="passphrase-protect the entry")
    p.add_argument("--force", action="store_true", help="replace existing keys")
    p.set_defaults(handler=cmd_user_import)


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
    "user": _register_user,
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


def _vault_dir(args: argparse.Namespace) -> Path:
    from vault_app.core.vault import Vault

    given = args.vault or os.environ.get("VAULT_DIR")
    if given:
        return Path(given)
    found = Vault.find(Path.cwd())
    if found is None:
        raise NotAVaultError("no vault here or in any folder above",
                             hint="pass --vault DIR, set VAULT_DIR, or run `vault init`")
    return found


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


def cmd_user_add(args: argparse.Namespace) -> int:
    from vault_app.core.layout import check_name

    check_name(args.name)
    vault = _open(args)
    if not (args.recipient and args.signing_key):
        raise UsageError(
            f"adding {args.name} needs their public keys (--recipient and --signing-key); "
            "no one's keys are made for them here",
            hint=f"better: {args.name} runs `vault join` in their own login and reads you "
                 f"the fingerprint; then `vault user approve {args.name}`")
    vault.require_admin()
    member = vault.add_member(args.name, args.recipient, args.signing_key, admin=args.admin)
    if args.json:
        print_json(_member_json(member))
    else:
        print(f"added {member.name}{' (admin)' if member.admin else ''}: {member.recipient} "
              f"[{member.fingerprint()}]")
    return 0


def _member_json(member: Any) -> dict[str, Any]:
    return {"name": member.name, "recipient": member.recipient,
            "signing_key": member.signing_key, "admin": member.admin,
            "added_by": member.added_by, "added": member.added,
            "fingerprint": member.fingerprint()}


def cmd_user_list(args: argparse.Namespace) -> int:
    vault = _open(args)
    members = vault.members()
    problems = vault.registry.problems
    if args.json:
        print_json({"members": [_member_json(m) for m in members],
                    "problems": [{"name": n, "problem": p} for n, p in sorted(problems.items())]})
    else:
        for m in members:
            print(f"{m.name}\t{'admin' if m.admin else 'member'}\t{m.fingerprint()}\t"
                  f"{m.recipient}")
        for name, problem in sorted(problems.items()):
            print(f"{name}\tREFUSED\t{problem}")
    return 1 if problems else 0


def cmd_user_show(args: argparse.Namespace) -> int:
    from vault_app.core.members import fingerprint
    from vault_app.core.vault import default_user

    name = args.name or args.user or default_user()
    keys = _keystore(args).load(name)
    shown = fingerprint(keys.recipient, keys.signing_public)
    data = {"name": keys.name, "recipient": keys.recipient, "signing_key": keys.signing_public,
            "fingerprint": shown}
    if args.json:
        print_json(data)
    else:
        print(f"name: {keys.name}\nrecipient: {keys.recipient}\n"
              f"signing key: {keys.signing_public}\nfingerprint: {shown}")
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    vault = _open(args)
    revoked: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    if args.revoke:  # first, while they are still a member the files can be checked against
        revoked, skipped = vault.revoke_everywhere(args.name)
    vault.remove_member(args.name)
    if args.keys:
        vault.keystore.delete(args.name)
    if args.json:
        print_json({"removed": args.name, "keys_deleted": bool(args.keys),
                    "revoked": [str(p) for p in revoked],
                    "skipped": [{"path": str(p), "reason": why} for p, why in skipped]})
    else:
        print(f"removed {args.name}")
        for path in revoked:
            print(f"revoked {args.name} from {path}")
        for path, why in skipped:
            print(f"not revoked from {path}: {why}", file=sys.stderr)
        if not args.revoke:
            print(f"hint: {args.name} can still read the files shared with them until you "
                  f"revoke them (`vault revoke FILE --from {args.name}`, or --revoke)",
                  file=sys.stderr)
    return 1 if skipped else 0


def cmd_user_export(args: argparse.Namespace) -> int:
    from vault_app.core.vault import default_user

    me = args.user or default_user()
    name = args.name or me
    if name != me:
        raise UsageError(f"only your own keys can be exported (you are {me})",
                         hint="each person exports their own keys, to move them to another "
                              "machine of theirs; a member joins with `vault join`")
    keystore = _keystore(args)
    keystore.load(name)  # open first (may ask the entry's own passphrase)
    passphrase = _passphrase_fn()(f"Passphrase for the exported keys of {name}: ", True)
    data = keystore.export(name, passphrase)
    if args.output == "-":  # armored text, safe on a terminal
        output.data_stream().write(data)
        output.data_stream().flush()
    else:
        with atomic_output(args.output) as out:
            out.write(data)
    if args.json and args.output != "-":
        print_json({"name": name, "output": args.output})
    elif args.output != "-":  # standard output holds the keys themselves
        print(f"exported the keys of {name} to {args.output} (passphrase-protected)")
    return 0


def cmd_user_protect(args: argparse.Namespace) -> int:
    from vault_app.core.vault import default_user

    name = args.name or args.user or default_user()
    where = _keystore(args).set_protection(name, not args.off)
    state = "without a passphrase" if args.off else "passphrase-protected"
    if args.json:
        print_json({"name": name, "where": where, "protected": not args.off})
    else:
        print(f"the keys of {name} are now {state} ({where})")
    return 0


def cmd_user_import(args: argparse.Namespace) -> int:
    keystore = _keystore(args)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    keys = keystore.import_keys(data, None, name=args.name, protect=args.protect,
                                overwrite=args.force)
    if args.json:
        print_json({"name": keys.name, "recipient": keys.recipient,
                    "signing_key": keys.signing_public})
    else:
        print(f"imported the keys of {keys.name} ({keys.recipient})")
    return 0
