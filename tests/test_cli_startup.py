"""The command line's start-up stays lean: `encrypt`/`decrypt` load no vault machinery."""

from __future__ import annotations

import json
import subprocess
import sys

from vault_app.cli.vault_commands import ROLES
from vault_app.core.acl import Role

PROBE = (
    "import json, sys\n"
    "from vault_app.cli import build_parser\n"
    "build_parser().parse_args(['encrypt', '-r', 'x'])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_parser_role_choices_are_the_core_roles() -> None:
    assert tuple(role.value for role in Role) == ROLES


def test_building_the_parser_loads_no_vault_modules() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert "vault_app.cli.vault_commands" in loaded  # the verbs are registered...
    heavy = {"vault_app.core.vault", "vault_app.core.keystore", "vault_app.core.audit",
             "filelock", "logging"}
    assert not heavy & loaded  # ...without importing what only their handlers need


SAMPLES = [
    ["lock", "--keep", "a.csv", "b.csv"], ["unlock", "-o", "out", "a.csv.age"],
    ["share", "f.age", "--with", "bob", "--role", "editor"], ["user", "add", "carol"],
    ["user", "remove", "bob", "--revoke"], ["encrypt", "-r", "age1x", "-o", "o", "i"],
    ["decrypt", "-i", "k", "f"], ["audit", "--verify"], ["verify"], ["init", "--pq", "d"],
]


def test_a_command_parses_alike_with_only_its_own_verb_built() -> None:
    """A command builds only its verb's parser (start-up); the result is the full parser's."""
    from vault_app.cli import _named_verb, build_parser

    full = build_parser()
    for argv in SAMPLES:
        verb = _named_verb(argv)
        assert verb == argv[0]
        assert vars(build_parser(verb).parse_args(argv)) == vars(full.parse_args(argv)), argv
    assert _named_verb(["--version"]) is None and _named_verb(["bogus"]) is None


LOCK_PROBE = (
    "import json, sys\n"
    "import vault_app.cli.script_commands, vault_app.cli.vault_commands, vault_app.core.vault\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_the_vault_verbs_import_nothing_they_do_not_use() -> None:
    """Start-up is every command's: `lock`/`unlock` load no module that only `init`, `lock -`
    or another platform needs (uuid brings platform, tempfile brings random: ~15 ms)."""
    out = subprocess.run([sys.executable, "-c", LOCK_PROBE], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert "vault_app.core.file_ops" in loaded
    assert not {"uuid", "platform", "tempfile", "secrets", "random", "platformdirs"} & loaded
