"""Verbs for a team sharing a vault: join, the admin's side of joining, adopt, forget.

``vault join`` runs in the newcomer's own login (their keys never leave it); ``vault user
requests|approve|reject`` are the admin's side; ``vault adopt`` takes over a file whose
owners all left, with the recovery key; ``vault forget`` drops this account's pin of a
folder whose vault was really made again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vault_app.cli._common import UsageError, print_json
from vault_app.cli.age_commands import load_identity_file
from vault_app.cli.vault_commands import _keystore, _open, _vault_dir, first_use_note


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "join", parents=[common], help="ask to join a vault (from your own login)",
        description="Ask to join the vault at DIR: your keys are made in (or reused from) "
                    "your own keyring, and a request holding only your public keys is "
                    "written into the vault. Read the fingerprint it prints to a vault "
                    "admin, who approves you with `vault user approve`.")
    p.add_argument("dir", nargs="?", metavar="DIR", help="the vault (default: --vault, "
                   "$VAULT_DIR, or the vault above here)")
    p.set_defaults(handler=cmd_join)

    p = commands.add_parser("adopt", parents=[common],
                            help="take over a file whose owners all left (admins; needs the "
                                 "recovery key)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-i", "--identity", required=True, metavar="RECOVERY_KEY_FILE",
                   help="the vault's recovery key file")
    p.add_argument("--owner", action="append", metavar="NAME",
                   help="new owner (repeatable; default: you)")
    p.set_defaults(handler=cmd_adopt)

    p = commands.add_parser(
        "doctor", parents=[common], help="repair sync conflicts, forks and rollbacks (admins)",
        description="Say what repairs the vault needs (merging conflict copies of the "
                    "registry and the audit log, resolving forked files, applying lost "
                    "revocations again), then carry them out if you agree. Nothing is "
                    "deleted: copies no longer needed are set aside in .vault/resolved/.")
    p.add_argument("-i", "--identity", metavar="RECOVERY_KEY_FILE",
                   help="the vault's recovery key file, for files not shared with you")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    p.set_defaults(handler=cmd_doctor)

    p = commands.add_parser("forget", parents=[common],
                            help="forget the vault pinned at DIR (it was really made again)")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(handler=cmd_forget)


def register_user(verbs: Any, common: argparse.ArgumentParser) -> None:
    p = verbs.add_parser("requests", parents=[common], help="list pending join requests")
    p.set_defaults(handler=cmd_requests)
    p = verbs.add_parser("approve", parents=[common],
                         help="admit a member from their join request (admins)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--fingerprint", metavar="XXXX:XXXX:XXXX:XXXX",
                   help="the fingerprint they read out to you (asked for on a terminal "
                        "if not given)")
    p.add_argument("--admin", action="store_true", help="make them a vault admin")
    p.set_defaults(handler=cmd_approve)
    p = verbs.add_parser("reject", parents=[common], help="refuse a join request (admins)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=cmd_reject)


def cmd_join(args: argparse.Namespace) -> int:
    from vault_app.core.vault import Vault

    root = Path(args.dir) if args.dir else _vault_dir(args)
    vault, item = Vault.join(root, user=args.user, keystore=_keystore(args))
    first_use_note(vault)
    if args.json:
        print_json({"vault": str(vault.path), "name": item.name,
                    "fingerprint": item.fingerprint, "recipient": item.recipient,
                    "signing_key": item.signing_key})
        return 0
    print(f"Asked to join the vault at {vault.path} as {item.name}.")
    print(f"Read this fingerprint to a vault admin: {item.fingerprint}")
    print(f"They approve you with: vault user approve {item.name}", file=sys.stderr)
    return 0


def cmd_requests(args: argparse.Namespace) -> int:
    vault = _open(args)
    requests, problems = vault.join_requests()
    if args.json:
        print_json({"requests": [{"name": r.name, "fingerprint": r.fingerprint,
                                  "requested": r.requested, "file_owner": r.file_owner,
                                  "recipient": r.recipient, "signing_key": r.signing_key}
                                 for r in requests], "problems": problems})
        return 0
    for r in requests:
        owner = f"written by OS login {r.file_owner}" if r.file_owner else ""
        print(f"{r.name}\t{r.fingerprint}\t{r.requested}\t{owner}")
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    if not requests:
        print("no pending join requests", file=sys.stderr)
    return 0


def _ask_fingerprint(name: str, shown: str) -> str:
    from vault_app.cli._common import _has_tty

    if not _has_tty():
        raise UsageError("approving needs the fingerprint they read out to you",
                         hint=f"pass --fingerprint (the request shows {shown}); compare it "
                              f"with {name} in person first")
    with open("/dev/tty", "r+", encoding="utf-8") as tty:
        tty.write(f"{name} asks to join with the keys {shown}.\n"
                  f"Type the fingerprint {name} reads to you: ")
        tty.flush()
        return tty.readline().strip()


def cmd_approve(args: argparse.Namespace) -> int:
    vault = _open(args)
    vault.require_admin()
    requests, _problems = vault.join_requests()
    shown = next((r.fingerprint for r in requests if r.name == args.name), "?")
    given = args.fingerprint or _ask_fingerprint(args.name, shown)
    member = vault.approve(args.name, given, admin=args.admin)
    if args.json:
        print_json({"name": member.name, "admin": member.admin,
                    "fingerprint": member.fingerprint()})
    else:
        print(f"approved {member.name}{' (admin)' if member.admin else ''} "
              f"[{member.fingerprint()}]")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    _open(args).reject(args.name)
    if args.json:
        print_json({"rejected": args.name})
    else:
        print(f"rejected the join request of {args.name}")
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    identities = load_identity_file(args.identity)
    if len(identities) != 1:
        raise UsageError("the recovery key file must hold exactly one identity")
    vault = _open(args)
    owners = args.owner or [vault.user]
    info = vault.adopt(Path(args.file), identities[0], owners)
    if args.json:
        print_json(info.to_json())
    else:
        print(f"adopted {info.name}: owners {', '.join(owners)}; readers "
              f"{', '.join(info.readers)}; {info.signature}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from vault_app.core import doctor

    vault = _open(args)
    recovery = None
    if args.identity:
        identities = load_identity_file(args.identity)
        if len(identities) != 1:
            raise UsageError("the recovery key file must hold exactly one identity")
        recovery = identities[0]
    actions = doctor.plan(vault)
    if not actions:
        if args.json:
            print_json({"repairs": [], "done": []})
        else:
            print("nothing to repair")
        return 0
    if not args.json:
        print(f"{len(actions)} repair(s):")
        for number, action in enumerate(actions, 1):
            print(f"  {number}. {action.what}")
    if not (args.yes or _confirm(len(actions))):
        if args.json:
            print_json({"repairs": [a.what for a in actions], "done": []})
        print("nothing was changed; run again with --yes to apply", file=sys.stderr)
        return 1
    done = doctor.apply(vault, actions, recovery=recovery)
    if args.json:
        print_json({"repairs": [a.what for a in actions], "done": done})
    else:
        for line in done:
            print(f"done: {line}")
    return 0


def _confirm(count: int) -> bool:
    from vault_app.cli._common import _has_tty

    if not _has_tty():
        return False
    with open("/dev/tty", "r+", encoding="utf-8") as tty:
        tty.write(f"Apply these {count} repair(s)? [y/N] ")
        tty.flush()
        return tty.readline().strip().lower() in ("y", "yes")


def cmd_forget(args: argparse.Namespace) -> int:
    from vault_app.core.vault_identity import forget

    if not forget(Path(args.dir), _keystore(args).config_dir):
        raise UsageError(f"no vault was pinned at {args.dir}")
    print(f"forgot the vault pinned at {args.dir}; the next open pins what is there now")
    return 0
