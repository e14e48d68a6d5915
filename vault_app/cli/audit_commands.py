"""The ``audit`` verb: show the vault's audit log, and verify its signatures and chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_app.cli._common import print_json
from vault_app.cli.vault_commands import _common, _open

if TYPE_CHECKING:  # loaded by the handler: other verbs never need it
    from vault_app.core.audit import AuditRecord


def register(commands: Any) -> None:
    p = commands.add_parser("audit", parents=[_common()],
                            help="show the vault's audit log (--verify checks it)")
    p.add_argument("file", nargs="?", metavar="FILE", help="only the records about FILE")
    p.add_argument("--verify", action="store_true",
                   help="check every signature, the hash chain and the signed checkpoint")
    p.set_defaults(handler=cmd_audit)


def _target(vault_path: Path, file: str) -> str:
    from vault_app.core.errors import FileOperationError
    from vault_app.core.layout import vault_name
    from vault_app.core.safe_fs import parts_of

    try:
        return vault_name(parts_of(vault_path, Path(file)))
    except FileOperationError:
        return file


def _printable(text: str) -> str:
    """File names need not be UTF-8 (surrogate escapes); show them without crashing."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _line(record: AuditRecord) -> str:
    details = json.dumps(record.details, sort_keys=True, ensure_ascii=False)
    return _printable(f"{record.seq:>5}  {record.time}  {record.actor:<12} {record.action:<14} "
                      f"{record.target or '-'}  {details if record.details else ''}").rstrip()


def cmd_audit(args: argparse.Namespace) -> int:
    from vault_app.core.audit import AuditLog
    from vault_app.core.members import admins, signing_keys

    vault = _open(args)
    log = AuditLog(vault.path, vault_id=str(vault.config["vault_id"]))
    records = log.history(_target(vault.path, args.file)) if args.file else log.records()
    problems: list[str] | None = None
    if args.verify:
        registry = vault.registry
        problems = log.verify(signing_keys(registry), admins=admins(registry))
    if args.json:
        data: dict[str, Any] = {"records": [r.to_json() for r in records]}
        if problems is not None:
            data["problems"] = problems
            data["ok"] = not problems
        print_json(data)
    else:
        for record in records:
            print(_line(record))
        if problems == []:
            print(f"audit log verified: {len(log.records())} records, every signature and "
                  "link checks out", file=sys.stderr)
    if problems:
        if not args.json:
            for problem in problems:
                print(f"problem: {problem}", file=sys.stderr)
        print(f"error: the audit log failed verification ({len(problems)} problems)",
              file=sys.stderr)
        print("hint: the log was edited, cut or damaged; compare with a backup",
              file=sys.stderr)
        return 1
    return 0
