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
