"""The layer rules of docs/architecture.md, checked on the source (static imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vault_app"
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize(("layer", "forbidden"), [
    ("core", (*QT, "vault_app.gui", "vault_app.cli")),
    ("cli", (*QT, "vault_app.gui")),
    ("gui", ("vault_app.cli",)),
])
def test_layer_imports(layer: str, forbidden: tuple[str, ...]) -> None:
    files = modules(layer)
    assert files, f"no modules found under vault_app/{layer}"
    bad = [f"{path.relative_to(PACKAGE)} imports {name}"
           for path in files for name in imports_of(path)
           if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert not bad, bad


def test_recipient_types_do_not_know_each_other() -> None:
    for path in modules("core/recipients"):
        others = {f"vault_app.core.recipients.{p.stem}" for p in modules("core/recipients")
                  if p.stem not in (path.stem, "__init__", "_wrap")}
        assert not imports_of(path) & others, path


def test_core_import_loads_no_qt() -> None:
    import subprocess
    import sys
    code = ("import sys, vault_app.core.age, vault_app.core.keys;"
            "import vault_app.cli;"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_stream_holds_the_rules_and_the_pipeline_the_threads() -> None:
    """As in age (stream.go): stream.py states the STREAM's rules and runs nothing; the
    threads, queues and mapped buffers that apply them front to back are pipeline.py's."""
    machinery = {"threading", "queue", "mmap", "concurrent.futures"}
    assert not imports_of(PACKAGE / "core" / "stream.py") & machinery
    assert {"threading", "queue", "mmap"} <= imports_of(PACKAGE / "core" / "pipeline.py")
