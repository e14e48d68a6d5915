"""``--help`` for every verb: a text for each option the verb modules leave bare, and
examples, added to the parser once it is built (``cli.build_parser``).

Kept apart from the verb modules so that the texts read as one manual and a verb's
definition stays short; ``tests/test_cli_help.py`` fails for any option or verb without
a text, so a new one cannot ship undocumented. The man page (``vault man``) is made from
the same parser.
"""

from __future__ import annotations

import argparse

#: (verb path, option dest) -> help, for options defined without one.
OPTION_HELP: dict[tuple[str, str], str] = {
    ("encrypt", "recipient"): "encrypt to this public key (age1…); repeatable",
    ("encrypt", "recipients_file"): "encrypt to every recipient listed in this file; "
                                    "repeatable",
    ("encrypt", "output"): "write here (default: standard output)",
    ("encrypt", "input"): "the file to encrypt (default or -: standard input)",
    ("decrypt", "identity"): "an identity file (plain or passphrase-protected); repeatable",
    ("decrypt", "output"): "write here (default: standard output)",
    ("decrypt", "input"): "the file to decrypt (default or -: standard input)",
    ("init", "dir"): "the folder to make a vault of (default: here)",
    ("share", "file"): "the locked file",
    ("share", "with_user"): "the vault member to share it with",
    ("revoke", "file"): "the locked file",
    ("revoke", "from_user"): "the member to take it from (the file is re-encrypted)",
    ("export", "file"): "the locked file",
    ("export", "recipient"): "the outsider's public key (age1…)",
    ("export", "output"): "the new age file, or - for standard output",
    ("verify", "files"): "only these locked files (default: the whole vault)",
    ("recover", "files"): "locked files to open with the recovery key",
    ("recover", "identity"): "the recovery key file written by init",
    ("recover", "output"): "folder to write to (default: here)",
    ("user", "user_command"): "what to do with members or keys",
    ("user approve", "name"): "the newcomer's user name, as in their join request",
    ("user reject", "name"): "the newcomer whose request to refuse",
    ("adopt", "file"): "the locked file whose owners all left",
    ("forget", "dir"): "the vault folder whose pinned identity to forget",
    ("user add", "name"): "the new member's user name",
    ("user show", "name"): "whose keys (default: the acting user)",
    ("user remove", "name"): "the member to remove",
    ("user export", "name"): "whose keys (default: the acting user)",
    ("user export", "output"): "the passphrase-protected key file to write, or - for "
                               "standard output",
    ("user protect", "name"): "whose keyring entry (default: the acting user)",
    ("user import", "file"): "a key file written by user export",
}

#: verb path -> examples (shell lines, with a comment where the line does not say it all).
EXAMPLES: dict[str, str] = {
    "keygen": "vault keygen -o key.txt          # the public key is printed on stderr",
    "encrypt": "vault encrypt -r age1… -o data.csv.age data.csv\n"
               "vault encrypt -p -a < notes.txt > notes.txt.age",
    "decrypt": "vault decrypt -i key.txt -o data.csv data.csv.age\n"
               "vault decrypt -i key.txt data.csv.age | head",
    "init": "vault init ~/vault --recovery-out recovery.txt   # keep recovery.txt offline",
    "lock": "vault lock ~/Downloads/patients.csv      # -> patients.csv.age, plaintext removed\n"
            "vault lock --keep study/                 # a folder: every file, tree kept\n"
            "psql -c '\\copy t to stdout csv' | vault lock - --name exports/t.csv",
    "unlock": "vault unlock patients.csv.age -o ~/work\n"
              "vault unlock study/ -o ~/work          # the folder's tree is kept\n"
              "vault unlock patients.csv.age -o - | wc -l",
    "cat": "vault cat patients.csv.age | head\n"
           "vault cat part-*.csv.age > /dev/null && echo all verified",
    "ls": "vault ls\nvault ls --json | jq '.[] | select(.signature != \"valid\")'",
    "share": "vault share patients.csv.age --with bob --role editor",
    "revoke": "vault revoke patients.csv.age --from bob",
    "export": "vault export patients.csv.age --to age1… -o for-partner.age",
    "verify": "vault verify\nvault verify patients.csv.age --json",
    "recover": "vault recover patients.csv.age -i recovery.txt -o ~/restore",
    "audit": "vault audit\nvault audit patients.csv.age --verify",
    "user": "vault user list\nvault user requests",
    "user add": "vault user add bob --recipient age1… --signing-key vaultsig1…",
    "user requests": "vault user requests --json",
    "user approve": "vault user approve bob --fingerprint XXXX:XXXX:XXXX:XXXX  # as bob read it",
    "user reject": "vault user reject mallory",
    "join": "vault join /srv/team/vault   # then read your fingerprint to an admin",
    "adopt": "vault adopt old/report.csv.age -i recovery.txt --owner ana",
    "doctor": "vault doctor                 # says what it would repair, then asks\n"
              "vault doctor --yes",
    "forget": "vault forget /srv/team/vault",
    "user list": "vault user list --json",
    "user show": "vault user show bob",
    "user remove": "vault user remove bob --revoke",
    "user export": "vault user export -o my-keys.age",
    "user protect": "vault user protect           # ask a passphrase for my keyring entry",
    "user import": "vault user import my-keys.age --protect",
    "completion": "vault completion bash > ~/.local/share/bash-completion/completions/vault\n"
                  "vault completion zsh > ~/.zfunc/_vault",
    "man": "vault man | man -l -",
}

EPILOG_TITLE = "examples:"


def subcommands(parser: argparse.ArgumentParser,
                path: tuple[str, ...] = ()) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every verb's parser, depth first, as ("user add", parser)."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((" ".join((*path, name)), sub))
                found.extend(subcommands(sub, (*path, name)))
    return found


def apply(parser: argparse.ArgumentParser) -> None:
    """Fill in the option texts and the examples of every verb."""
    for verb, sub in subcommands(parser):
        for action in sub._actions:
            text = OPTION_HELP.get((verb, action.dest))
            if action.help is None and text is not None:
                action.help = text
        example = EXAMPLES.get(verb)
        if example is not None and sub.epilog is None:
            sub.epilog = EPILOG_TITLE + "\n" + "\n".join(
                "  " + line for line in example.splitlines())
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("Run `vault COMMAND --help` for a command's options and examples, "
                     "`vault man` for the manual (exit statuses included).")
