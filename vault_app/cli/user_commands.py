"""``vault user``: the members of a vault and one's own keys (add by public keys, list,
show, remove, export, protect, import); joining and approving are in ``team_commands``.

Kept apart from the other vault verbs because it is its own small command tree with its
own concern: keys and membership, not files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vault_app.cli import output
from vault_app.cli._common import UsageError, print_json
from vault_app.cli.vault_commands import _keystore, _open, _passphrase_fn
from vault_app.core.atomic import atomic_output


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``vault user`` and its actions (the team ones come from ``team_commands``)."""
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
