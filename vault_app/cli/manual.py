"""``vault completion SHELL`` and ``vault man``: shell completion and the manual page,
both generated from the argparse parser, so they can never disagree with ``--help``.

Completion scripts come from ``shtab`` (bash, zsh, tcsh); the man page (roff, section 1)
is written here: every verb with its usage, options and examples, then the exit
statuses (``cli/exit_codes.py``) and the environment.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vault_app import __version__
from vault_app.cli import exit_codes
from vault_app.cli.help_texts import EPILOG_TITLE, subcommands

SHELLS = ("bash", "zsh", "tcsh")
#: The verbs this module adds.
VERBS = ("completion", "man")

#: The environment variables every part of the command line reads.
ENVIRONMENT = [
    ("VAULT_DIR", "the vault, when --vault is not given (else the nearest one above here, "
                  "else the one the named files are in)"),
    ("VAULT_USER", "the acting vault user, when --user is not given (else your login)"),
    ("VAULT_PASSPHRASE_FILE", "a file whose first line is the passphrase, for batch jobs"),
    ("VAULT_KEY_FILE", "non-empty: keep keys in a passphrase-protected file, as --key-file"),
    ("VAULT_KEYRING_SERVICE", "the keyring service name (default: dataset-vault)"),
    ("VAULT_DEBUG", "non-empty: log what happens on stderr"),
]


def register(commands: Any) -> None:
    p = commands.add_parser("completion", help="print a shell completion script")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    p.set_defaults(handler=cmd_completion)
    p = commands.add_parser("man", help="print the manual page (roff)")
    p.set_defaults(handler=cmd_man)


def _root(args: argparse.Namespace) -> argparse.ArgumentParser:
    from vault_app.cli import build_parser

    return build_parser()


def cmd_completion(args: argparse.Namespace) -> int:
    import shtab  # only here: nothing else needs it

    sys.stdout.write(shtab.complete(_root(args), shell=args.shell))
    return 0


def cmd_man(args: argparse.Namespace) -> int:
    sys.stdout.write(man_page(_root(args)))
    return 0


def _roff(text: str) -> str:
    """Plain text as roff: backslashes escaped, no line taken for a request."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _option(action: argparse.Action) -> str:
    names = ", ".join(f"\\fB{_roff(o).replace('-', chr(92) + '-')}\\fR"
                      for o in action.option_strings)
    if not names:
        names = f"\\fI{_roff(str(action.metavar or action.dest))}\\fR"
    elif action.nargs != 0:
        names += f" \\fI{_roff(str(action.metavar or action.dest.upper()))}\\fR"
    return names


def _verb(name: str, parser: argparse.ArgumentParser, summary: str) -> list[str]:
    out = [f'.SS "vault {name}"', _roff(summary), ".PP", ".nf",
           _roff(parser.format_usage().removeprefix("usage: ").strip()), ".fi"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        out += [".TP", _option(action), _roff(action.help or "")]
    if parser.epilog and parser.epilog.startswith(EPILOG_TITLE):
        out += [".PP", "Examples:", ".PP", ".nf", ".RS 4",
                _roff("\n".join(line.strip() for line in parser.epilog.splitlines()[1:])),
                ".RE", ".fi"]
    return out


def _summaries(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Each verb's one-line help, by its full name ("user add")."""
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                found[" ".join((*path, choice.dest))] = choice.help or ""
            for name, sub in action.choices.items():
                found.update(_summaries(sub, (*path, name)))
    return found


def man_page(parser: argparse.ArgumentParser) -> str:
    summaries = _summaries(parser)
    lines = [f'.TH VAULT 1 "" "vault {__version__}" "User Commands"',
             ".SH NAME", "vault \\- " + _roff(parser.description or ""),
             ".SH SYNOPSIS", ".B vault", "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
             ".SH COMMANDS"]
    for name, sub in subcommands(parser):
        lines += _verb(name, sub, summaries.get(name, ""))
    lines += [".SH EXIT STATUS"]
    for code, words in exit_codes.rows():
        lines += [".TP", f"\\fB{code}\\fR", _roff(words)]
    lines += [".SH ENVIRONMENT"]
    for name, words in ENVIRONMENT:
        lines += [".TP", f"\\fB{name}\\fR", _roff(words)]
    lines += [".SH SEE ALSO", "\\fBage\\fR(1), \\fBvault-app\\fR(1)", ""]
    return "\n".join(lines)
