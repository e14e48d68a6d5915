"""Every ``vault ...`` command the GUI's texts and docs mention is one the CLI accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from vault_app.cli import build_parser

GUI = Path(__file__).resolve().parents[2] / "vault_app" / "gui"
MENTION = re.compile(r"`+(vault [a-z][^`]*)`+")


def _mentions() -> list[str]:
    found = {m.group(1) for path in GUI.rglob("*.py")
             for m in MENTION.finditer(path.read_text(encoding="utf-8"))}
    return sorted(found)


def test_the_gui_mentions_some_commands() -> None:
    assert "vault audit --verify" in _mentions()


@pytest.mark.parametrize("command", _mentions())
def test_a_mentioned_command_parses(command: str) -> None:
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exc:  # argparse rejects it
        pytest.fail(f"{command!r} is not a valid vault command (exit {exc.code})")
