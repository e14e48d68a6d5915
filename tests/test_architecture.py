"""The layer rules of docs/architecture.md, checked on the source (static imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vault_app"
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt")


RECIPIENT_TYPES = tuple(f"vault_app.core.recipients.{name}"
                        for name in ("x25519", "scrypt", "hybrid", "_wrap"))


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` may import: ``from a import b`` counts as ``a`` and ``a.b``
    (``b`` may be a submodule, as in ``from vault_app.core import age``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{path}: a relative import"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def lines_of(path: Path) -> int:
    """As ``wc -l`` counts them."""
    return path.read_text(encoding="utf-8").count("\n")


def imported_in_fresh_python(code: str) -> list[str]:
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", f"import sys; {code}; "
                          "print(repr(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    loaded: list[str] = ast.literal_eval(out.strip())
    return loaded


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


def test_all_cryptography_in_the_core_comes_from_cryptography() -> None:
    """PRODUCT.md: all cryptography (hashes and HMAC included) comes from `cryptography`;
    the core's SHA-256, SHAKE256 and HMAC are in core/digests.py, on top of it."""
    stdlib_crypto = ("hashlib", "hmac", "secrets", "random", "ssl")
    bad = [f"{path.relative_to(PACKAGE)} imports {name}"
           for path in modules("core") for name in imports_of(path)
           if name.split(".")[0] in stdlib_crypto]
    assert not bad, bad


def test_recipient_types_do_not_know_each_other() -> None:
    for path in modules("core/recipients"):
        others = {f"vault_app.core.recipients.{p.stem}" for p in modules("core/recipients")
                  if p.stem not in (path.stem, "__init__", "_wrap")}
        assert not imports_of(path) & others, path


def test_only_keys_and_age_know_every_recipient_type() -> None:
    allowed = {PACKAGE / "core" / "keys.py", PACKAGE / "core" / "age.py"}
    bad = [f"{path.relative_to(PACKAGE)} imports {name}"
           for path in modules("") if path not in allowed
           and PACKAGE / "core" / "recipients" not in path.parents
           for name in sorted(imports_of(path) & set(RECIPIENT_TYPES))]
    assert not bad, bad


SIGNATURE_MODULES = ("acl", "members", "audit", "signing")


def test_signature_modules_need_neither_the_keyring_nor_the_recipe() -> None:
    forbidden = {"vault_app.core.keystore", "vault_app.core.age"}
    bad = [f"core/{name}.py imports {found}" for name in SIGNATURE_MODULES
           for found in sorted(imports_of(PACKAGE / "core" / f"{name}.py") & forbidden)]
    assert not bad, bad
    loaded = imported_in_fresh_python(
        "import " + ", ".join(f"vault_app.core.{name}" for name in SIGNATURE_MODULES))
    assert not [m for m in loaded if m in forbidden or m.split(".")[0] == "keyring"], loaded


@pytest.mark.parametrize(("layer", "limit"), [("core", 500), ("gui", 600)])
def test_no_module_is_too_long(layer: str, limit: int) -> None:
    long = [f"{path.relative_to(PACKAGE)}: {lines_of(path)} lines" for path in modules(layer)
            if lines_of(path) > limit]
    assert not long, long


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
    """As in age (stream.go): stream.py states the STREAM's rules and runs nothing, nor
    does segments.py for the content digests; the threads, queues and mapped buffers that
    apply them front to back are ring.py's, which pipeline.py drives."""
    machinery = {"threading", "queue", "mmap", "concurrent.futures"}
    for rules in ("stream.py", "segments.py"):
        assert not imports_of(PACKAGE / "core" / rules) & machinery, rules
    assert {"threading", "queue", "mmap"} <= imports_of(PACKAGE / "core" / "ring.py")
    assert "vault_app.core.ring" in imports_of(PACKAGE / "core" / "pipeline.py")


#: Modules that may open files by path: the shared-folder layer itself, and modules that
#: touch only the user's own files (keys and memory in the config folder, files the user
#: names outside a vault, the plaintext a lock reads, the vault root a new vault is made in).
OPENS_FILES = {"safe_fs", "vault_folder", "atomic", "age", "api", "reader", "keystore",
               "vault_identity", "vault_config", "file_ops", "file_head", "seen",
               "folder_modes", "vault"}
_PATH_METHODS = {"read_bytes", "write_bytes", "read_text", "write_text", "mkdir", "rmdir",
                 "touch", "symlink_to", "hardlink_to"}
_OS_CALLS = {"open", "rename", "replace", "unlink", "remove", "mkdir", "rmdir", "link",
             "symlink", "chmod", "makedirs"}


def _opens(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open":
            found.append(f"open() at line {node.lineno}")
        elif isinstance(func, ast.Attribute):
            on_os = isinstance(func.value, ast.Name) and func.value.id in ("os", "shutil")
            if (on_os and func.attr in _OS_CALLS | {"rmtree", "copy", "move"}) or (
                    not on_os and func.attr in _PATH_METHODS):
                found.append(f"{func.attr}() at line {node.lineno}")
    return found


def test_only_the_shared_folder_layer_opens_vault_files() -> None:
    """Everything inside a vault goes through vault_folder/safe_fs (no links followed,
    no FIFOs, bounded reads, a publish that cannot be swapped); a vault module that opened,
    renamed or removed files by path itself would bypass that."""
    offenders = [f"core/{path.name}: {calls}" for path in modules("core")
                 if path.stem not in OPENS_FILES and path.parent.name != "recipients"
                 and (calls := _opens(path))]
    assert not offenders, offenders
