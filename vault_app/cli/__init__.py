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


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given the ``verb`` a command names, only that verb's
    parser is built (building every verb's is a noticeable part of start-up, and
    ``encrypt``/``decrypt`` then load nothing of the vault); all of them otherwise."""
    parser = argparse.ArgumentParser(
        prog="vault",
        description="Dataset Vault: lock, unlock and share dataset files (age v1 format).",
    )
    parser.add_argument("--version", action="version", version=f"vault {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if verb is None or verb in age_commands.VERBS:
        age_commands.register(commands)
    if verb in age_commands.VERBS:
        help_texts.apply(parser)
        return parser
    try:
        from vault_app.cli import vault_commands
    except ImportError:  # pragma: no cover - vault verbs not installed in this build
        pass
    else:
        if verb is None or verb in vault_commands.VERBS:
            vault_commands.register(commands, only=verb)
    if verb in (None, "audit"):
        try:
            from vault_app.cli import audit_commands
        except ImportError:  # pragma: no cover - audit verb not installed in this build
            pass
        else:
            audit_commands.register(commands)
    if verb is None or verb in manual.VERBS:
        manual.register(commands)
    help_texts.apply(parser)
    return parser


def _named_verb(argv: Sequence[str]) -> str | None:
    """The verb ``argv`` starts with, if it is one (else None: the full parser decides)."""
    if not argv or argv[0] in ("-h", "--help", "--version"):
        return None
    if argv[0] in (*age_commands.VERBS, *manual.VERBS, "audit"):
        return argv[0]
    try:
        from vault_app.cli.vault_commands import VERBS
    except ImportError:  # pragma: no cover - vault verbs not installed in this build
        return None
    return argv[0] if argv[0] in VERBS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_named_verb(argv)).parse_args(argv)
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
