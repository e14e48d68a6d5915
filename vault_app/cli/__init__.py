"""The ``vault`` command line: a thin client of the core API.

Verbs live in small modules (``age_commands`` for the age-compatible ones); this
module only builds the parser and turns errors into ``error:``/``hint:`` lines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vault_app import __version__
from vault_app.cli import age_commands, help_texts, manual
from vault_app.cli._common import run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vault",
        description="Dataset Vault: lock, unlock and share dataset files (age v1 format).",
    )
    parser.add_argument("--version", action="version", version=f"vault {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    age_commands.register(commands)
    try:
        from vault_app.cli import vault_commands
    except ImportError:  # pragma: no cover - vault verbs not installed in this build
        pass
    else:
        vault_commands.register(commands)
    try:
        from vault_app.cli import audit_commands
    except ImportError:  # pragma: no cover - audit verb not installed in this build
        pass
    else:
        audit_commands.register(commands)
    manual.register(commands)
    help_texts.apply(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
