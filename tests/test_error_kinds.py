"""Errors carry a kind (and, where the way out depends on the situation, a remedy) that
clients word themselves: the core speaks no command-line syntax, every kind and remedy has
the CLI's wording, and the CLI prints its ``hint:`` lines from them."""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import vault_app.cli
import vault_app.core
from vault_app.cli._common import run_command
from vault_app.cli.hints import KIND_HINTS, REMEDY_HINTS, hint_lines
from vault_app.core import errors as E
from vault_app.core.errors import ErrorKind, Remedy

PACKAGE = Path(__file__).resolve().parents[1] / "vault_app"
# a command in backticks, a --flag, an environment variable
CLI_SYNTAX = re.compile(r"`|(^|[\s(])--[a-z]|\bVAULT_[A-Z]")


def _all_error_classes() -> list[type[E.VaultError]]:
    for package in (vault_app.core, vault_app.cli):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith(".__main__"):  # that one runs the command line
                importlib.import_module(module.name)
    found: list[type[E.VaultError]] = []
    todo = [E.VaultError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("vault_app."):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__qualname__)
def test_every_error_class_states_its_kind(cls: type[E.VaultError]) -> None:
    """Each class says its kind itself: a new class cannot pass silently for its parent."""
    assert "kind" in vars(cls), f"{cls.__qualname__} inherits its kind"
    assert isinstance(cls.kind, ErrorKind)


def test_an_instance_may_override_the_kind_and_name_a_remedy() -> None:
    exc = E.FileOperationError("x: already exists", path=Path("x"), kind=ErrorKind.EXISTS,
                               remedy=Remedy.LOCK_AS_NEW_VERSION)
    assert (exc.kind, exc.remedy, exc.path) == (ErrorKind.EXISTS, Remedy.LOCK_AS_NEW_VERSION, "x")
    assert E.FileOperationError("y").kind is ErrorKind.IO  # the class's own default
    assert E.TruncatedError("cut").kind is ErrorKind.TRUNCATED
    assert E.VaultError("unclassified").kind is ErrorKind.INTERNAL


def test_every_kind_and_remedy_has_a_command_line_wording() -> None:
    assert set(KIND_HINTS) == set(ErrorKind)
    assert set(REMEDY_HINTS) == set(Remedy)
    assert all(KIND_HINTS.values()) and all(REMEDY_HINTS.values())


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def _error_call_name(call: ast.Call) -> str:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name if name.endswith("Error") else ""


def _core_advice_and_messages(root: Path) -> list[tuple[str, str]]:
    """(where, text) for every hint and every error message written in the core."""
    found: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "hint" for t in node.targets):
                found += [(where, s) for s in _strings(node.value)]
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "hint":
                        found += [(where, s) for s in _strings(keyword.value)]
                if _error_call_name(node) and node.args:
                    found += [(where, s) for s in _strings(node.args[0])]
    return found


def test_no_core_hint_or_message_speaks_command_line() -> None:
    texts = _core_advice_and_messages(PACKAGE / "core")
    assert len(texts) > 100  # the scan does find the core's messages and hints
    bad = [f"{where}: {text!r}" for where, text in texts
           if CLI_SYNTAX.search(text)]
    assert not bad, bad


def test_every_bare_vault_error_names_its_kind() -> None:
    """``VaultError(...)`` has no class of its own to say what failed: the site must."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and _error_call_name(node) == "VaultError"
                    and not any(k.arg == "kind" for k in node.keywords)):
                bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not bad, bad


@pytest.mark.parametrize(("exc", "lines"), [
    (E.NotAVaultError("/x is not a vault"),
     ["run `vault init DIR` to create one, or pass --vault DIR"]),
    (E.AccessDeniedError("x", hint="make someone else an owner first"),
     ["make someone else an owner first"]),
    (E.UnknownUserError("'bob' is not a member of this vault", remedy=Remedy.ADD_MEMBER),
     ["they can ask to join with `vault join`; an admin then approves them with "
      "`vault user approve NAME`"]),
    (E.VaultError("the last record is damaged", kind=ErrorKind.VAULT_DAMAGED,
                  hint="restore .vault/audit.log from a backup", remedy=Remedy.VERIFY_AUDIT_LOG),
     ["`vault audit --verify` shows which record is damaged",
      "restore .vault/audit.log from a backup"]),
])
def test_hint_lines_remedy_then_advice_else_kind(exc: E.VaultError, lines: list[str]) -> None:
    assert hint_lines(exc) == lines


def _run(exc: BaseException) -> int:
    def handler(_args: argparse.Namespace) -> int:
        raise exc
    return run_command(argparse.Namespace(handler=handler))


def test_the_command_line_prints_hints_from_the_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(E.KeyringUnavailableError("no usable OS keyring was found")) == 10
    assert capsys.readouterr().err.splitlines() == [
        "error: no usable OS keyring was found",
        "hint: unlock your keyring, or keep your keys in a passphrase-protected key file "
        "instead (--key-file)"]
    assert _run(E.FileOperationError("big.csv: no space", kind=ErrorKind.NO_SPACE)) == 12
    assert capsys.readouterr().err.splitlines() == [
        "error: big.csv: no space", "hint: free some space and try again"]
    assert _run(E.Cancelled()) == 130
    assert capsys.readouterr().err.splitlines()[0] == "error: cancelled"
