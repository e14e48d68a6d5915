"""Fast static checks of the installer files in packaging/ (no build, no install).

The slow end-to-end check (build the .deb, install, use, purge) is .ci/package-check;
these catch a broken desktop entry, MIME type, maintainer script or platform recipe
in the normal suite, in about a second.
"""

from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import io
import os
import plistlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from vault_app.core import age
from vault_app.core.keys import generate_identity

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
LINUX = PKG / "linux"
MIME = "application/x-age-encrypted"
DESKTOP_ID = "dataset-vault.desktop"
SMI = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is required (installed by .ci/run)")
    return path


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def _request_of(command: str, files: list[Path]) -> tuple[str, tuple[Path, ...]]:
    """What ``vault-app`` makes of a file manager's command line: %F/%f/%1 expanded to
    the selected files (as the desktop-entry spec and Explorer do), parsed by the app."""
    from vault_app.gui.main import parse_args

    argv: list[str] = []
    for word in command.replace('"', "").split():
        if word == "%F":
            argv += [str(f) for f in files]
        elif word in ("%f", "%1"):
            argv.append(str(files[0]))
        else:
            argv.append(word)
    prog = Path(argv[0].replace("\\", "/")).name
    assert prog in ("vault-app", "vault-app.exe", "{#AppExe}"), command
    request = parse_args(argv[1:]).request
    return request.action, request.paths


SELECTED = [Path("/home/ann/data/a.csv.age"), Path("/home/ann/data/b c.csv.age")]


def _locked_samples(tmp_path: Path) -> dict[str, bytes]:
    """Real age files from the core, binary and armored, plus a plain CSV."""
    recipient = generate_identity().recipient()
    out: dict[str, bytes] = {"plain.csv": b"id,value\n1,alpha\n"}
    for name, armor in (("binary", False), ("armored", True)):
        dst = io.BytesIO()
        age.encrypt(io.BytesIO(b"id,value\n1,alpha\n"), dst, [recipient], armor=armor)
        out[name] = dst.getvalue()
    return out


# --- desktop entry ---------------------------------------------------------------------

def test_desktop_entry_validates() -> None:
    result = subprocess.run([_tool("desktop-file-validate"), str(LINUX / DESKTOP_ID)],
                            capture_output=True, text=True, check=False)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "error:" in line or "warning:" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_desktop_entry_opens_locked_files_and_offers_lock_unlock() -> None:
    entry = _ini(LINUX / DESKTOP_ID)
    main = entry["Desktop Entry"]
    assert main["Type"] == "Application"
    assert MIME in main["MimeType"].split(";")
    assert _request_of(main["Exec"], SELECTED) == ("open", tuple(SELECTED))  # all files
    assert main["Icon"] == "dataset-vault"
    actions = [a for a in main["Actions"].split(";") if a]
    names = {entry[f"Desktop Action {a}"]["Name"] for a in actions}
    assert names == {"Lock with Dataset Vault", "Unlock with Dataset Vault"}
    for action in actions:
        command = entry[f"Desktop Action {action}"]["Exec"]
        assert _request_of(command, SELECTED) == (action, tuple(SELECTED))
        assert _request_of(command.replace("%F", ""), []) == (action, ())  # from a launcher


# --- MIME type -------------------------------------------------------------------------

def _mime_type_element() -> ET.Element:
    root = ET.parse(LINUX / "dataset-vault-mime.xml").getroot()
    assert root.tag == f"{SMI}mime-info"
    types = root.findall(f"{SMI}mime-type")
    assert [t.get("type") for t in types] == [MIME]
    return types[0]


def test_mime_xml_globs_age_files_only() -> None:
    patterns = [g.get("pattern") or "" for g in _mime_type_element().findall(f"{SMI}glob")]
    assert patterns == ["*.age"]
    assert fnmatch.fnmatch("patients_2026.csv.age", patterns[0])
    assert not fnmatch.fnmatch("page.txt", patterns[0])
    assert not fnmatch.fnmatch("results.parquet", patterns[0])


def test_mime_magic_matches_what_the_core_writes(tmp_path: Path) -> None:
    matches = _mime_type_element().findall(f"{SMI}magic/{SMI}match")
    values = {m.get("value", "").replace("\\n", "\n").encode() for m in matches}
    assert all(m.get("offset") == "0" and m.get("type") == "string" for m in matches)
    samples = _locked_samples(tmp_path)
    for name in ("binary", "armored"):
        assert any(samples[name].startswith(v) for v in values), name
    assert not any(samples["plain.csv"].startswith(v) for v in values)


def test_mime_database_recognises_locked_files_by_name_and_content(tmp_path: Path) -> None:
    """Compile the package into a private shared-mime-info database and ask Qt."""
    data_dir = tmp_path / "share"
    (data_dir / "mime" / "packages").mkdir(parents=True)
    shutil.copy(LINUX / "dataset-vault-mime.xml", data_dir / "mime" / "packages")
    subprocess.run([_tool("update-mime-database"), str(data_dir / "mime")], check=True,
                   capture_output=True)
    files = tmp_path / "files"
    files.mkdir()
    samples = _locked_samples(tmp_path)
    (files / "data.csv.age").write_bytes(samples["binary"])
    (files / "no-suffix-binary").write_bytes(samples["binary"])
    (files / "no-suffix-armored").write_bytes(samples["armored"])
    (files / "plain.csv").write_bytes(samples["plain.csv"])
    probe = (
        "import sys\n"
        "from PySide6.QtCore import QMimeDatabase\n"
        "db = QMimeDatabase()\n"
        "for name in sys.argv[2:]:\n"
        "    print(name, db.mimeTypeForFile(sys.argv[1] + '/' + name).name())\n"
    )
    env = {**os.environ, "XDG_DATA_DIRS": f"{data_dir}:/usr/share",
           "XDG_DATA_HOME": str(tmp_path / "empty")}
    result = subprocess.run(
        [sys.executable, "-c", probe, str(files), "data.csv.age", "no-suffix-binary",
         "no-suffix-armored", "plain.csv"],
        capture_output=True, text=True, env=env, check=True, timeout=60)
    got = dict(line.split() for line in result.stdout.splitlines())
    assert got["data.csv.age"] == MIME
    assert got["no-suffix-binary"] == MIME
    assert got["no-suffix-armored"] == MIME
    assert got["plain.csv"] != MIME


# --- file-manager actions --------------------------------------------------------------

@pytest.mark.parametrize(("action", "shown_on"), [("lock", "all/allfiles"), ("unlock", MIME)])
def test_kde_service_menus(action: str, shown_on: str) -> None:
    menu = _ini(LINUX / "kio" / f"dataset-vault-{action}.desktop")
    entry = menu["Desktop Entry"]
    assert entry["Type"] == "Service"
    assert shown_on in entry["MimeType"].split(";")
    assert entry["Actions"].strip(";") == action
    act = menu[f"Desktop Action {action}"]
    assert act["Name"] == f"{action.capitalize()} with Dataset Vault"
    assert _request_of(act["Exec"], SELECTED) == (action, tuple(SELECTED))
    if action == "lock":
        assert MIME in entry["ExcludeServiceTypes"]


@pytest.mark.parametrize("action", ["lock", "unlock"])
def test_nemo_actions(action: str) -> None:
    nemo = _ini(LINUX / "nemo" / f"dataset-vault-{action}.nemo_action")["Nemo Action"]
    assert nemo["Name"] == f"{action.capitalize()} with Dataset Vault"
    assert _request_of(nemo["Exec"], SELECTED) == (action, tuple(SELECTED))
    assert nemo["Selection"] == "notnone"  # vault-app takes the whole selection
    assert nemo["Quote"] == "double"       # names with spaces stay one argument
    if action == "unlock":
        assert MIME in nemo["Mimetypes"].split(";")
    else:
        assert nemo["Extensions"] == "nodirs;"
        assert nemo["Conditions"] == "exec <dataset-vault-applies.sh lock %F>;"


# What each file manager should offer: (selection, Lock shown, Unlock shown).
SELECTIONS = [
    (["a.csv"], True, False),
    (["a.csv", "b c.parquet"], True, False),
    (["a.csv.age"], False, True),
    (["a.csv.age", "B.CSV.AGE"], False, True),
    (["a.csv", "b.csv.age"], False, False),   # a mix: neither fits every file
]


@pytest.mark.parametrize(("names", "lock", "unlock"), SELECTIONS)
def test_nemo_condition_script_decides_by_name(tmp_path: Path, names: list[str], lock: bool,
                                               unlock: bool) -> None:
    script = LINUX / "nemo" / "dataset-vault-applies.sh"
    assert os.access(script, os.X_OK)
    files = [str(tmp_path / n) for n in names]
    for verb, shown in (("lock", lock), ("unlock", unlock)):
        code = subprocess.run(["sh", str(script), verb, *files], check=False).returncode
        assert (code == 0) == shown, (verb, names)
    assert subprocess.run(["sh", str(script), "lock"], check=False).returncode != 0


def _desema_shows(profile: configparser.SectionProxy, names: list[str]) -> bool:
    """DES-EMA conditions as libfm evaluates them (src/actions/condition.vala): in a
    list, negated entries must hold for every file (ANDed), plain ones are ORed, each
    over all the selected files."""
    def mime(name: str) -> str:
        return MIME if name.lower().endswith(".age") else "text/csv"

    def holds(entries: str, test: Callable[[str, str], bool]) -> bool:
        rules = [e for e in entries.split(";") if e]
        plain = [r for r in rules if not r.startswith("!")]
        negated = [r[1:] for r in rules if r.startswith("!")]
        if any(test(n, r) for r in negated for n in names):
            return False
        return not plain or any(all(test(n, r) for n in names) for r in plain)

    def mime_is(name: str, rule: str) -> bool:
        return rule in ("all/all", "all/allfiles", "*") or mime(name) == rule

    def base_is(name: str, rule: str) -> bool:
        return fnmatch.fnmatchcase(name.lower(), rule.lower())

    return (holds(profile.get("MimeTypes", ""), mime_is)
            and holds(profile.get("Basenames", ""), base_is)
            and profile["SelectionCount"] == ">0" and len(names) > 0)


@pytest.mark.parametrize(("names", "lock", "unlock"), SELECTIONS)
def test_file_manager_actions_show_only_what_applies(names: list[str], lock: bool,
                                                     unlock: bool) -> None:
    """PCManFM, PCManFM-Qt and Caja (DES-EMA files): Lock on plain files, Unlock on
    locked ones."""
    for action, shown in (("lock", lock), ("unlock", unlock)):
        spec = _ini(LINUX / "file-manager" / f"dataset-vault-{action}.desktop")
        entry = spec["Desktop Entry"]
        assert entry["Type"] == "Action"
        assert entry["Name"] == f"{action.capitalize()} with Dataset Vault"
        (profile_name,) = [p for p in entry["Profiles"].split(";") if p]
        profile = spec[f"X-Action-Profile {profile_name}"]
        assert _request_of(profile["Exec"], SELECTED) == (action, tuple(SELECTED))
        assert profile["Schemes"] == "file;"
        assert _desema_shows(profile, names) == shown, (action, names)


class _FakeItem:
    """What Nautilus and Thunar hand an extension for one selected file."""

    def __init__(self, path: str, folder: bool = False) -> None:
        self.path = path
        self.folder = folder

    def get_location(self) -> object:
        return type("Location", (), {"get_path": lambda _self: self.path})()

    def is_directory(self) -> bool:
        return self.folder

    def get_name(self) -> str:
        return Path(self.path).name

    def get_mime_type(self) -> str:
        return MIME if self.path.lower().endswith(".age") else "text/csv"


def _load_extension(path: Path, toolkit: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Load a file-manager extension with stand-ins for PyGObject's modules."""
    class MenuItem:
        def __init__(self, **kwargs: str) -> None:
            self.__dict__.update(kwargs)

        def connect(self, _signal: str, _callback: object) -> None:
            pass

    repository = ModuleType("gi.repository")
    repository.GObject = type("GObjectModule", (), {  # type: ignore[attr-defined]
        "GObject": type("GObject", (), {})})
    setattr(repository, toolkit, type(toolkit, (), {"MenuProvider": type("MP", (), {}),
                                                     "MenuItem": MenuItem}))
    gi = ModuleType("gi")
    gi.require_version = lambda *_args: None  # type: ignore[attr-defined]
    gi.repository = repository  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gi", gi)
    monkeypatch.setitem(sys.modules, "gi.repository", repository)
    return _load(path)


@pytest.mark.parametrize(("names", "lock", "unlock"), SELECTIONS)
def test_nautilus_and_thunar_extensions_offer_only_what_applies(
        monkeypatch: pytest.MonkeyPatch, names: list[str], lock: bool, unlock: bool) -> None:
    files = [_FakeItem(f"/home/ann/{n}") for n in names]
    nautilus = _load_extension(LINUX / "nautilus" / "dataset_vault.py", "Nautilus",
                               monkeypatch)
    thunar = _load_extension(LINUX / "thunar" / "dataset_vault_thunar.py", "Thunarx",
                             monkeypatch)
    offered = {
        "nautilus": nautilus.DatasetVaultMenu().get_file_items(files),
        "thunar": thunar.DatasetVaultThunarMenu().get_file_menu_items(None, files),
    }
    expected = (["Lock with Dataset Vault"] if lock else []) + (
        ["Unlock with Dataset Vault"] if unlock else [])
    for manager, items in offered.items():
        assert [item.label for item in items] == expected, manager
    folder = [_FakeItem("/home/ann/data", folder=True)]
    assert nautilus.DatasetVaultMenu().get_file_items(folder) == []


def test_file_manager_extensions_launch_one_request_per_selection() -> None:
    for path in (LINUX / "nautilus" / "dataset_vault.py",
                 LINUX / "thunar" / "dataset_vault_thunar.py"):
        source = path.read_text(encoding="utf-8")
        assert 'Popen([exe, f"--{verb}", "--", *paths]' in source, path
    for verb in ("lock", "unlock"):
        from vault_app.gui.main import parse_args

        request = parse_args([f"--{verb}", "--", *map(str, SELECTED)]).request
        assert (request.action, request.paths) == (verb, tuple(SELECTED))


# --- maintainer scripts ----------------------------------------------------------------

def _maintainer(script: str, arg: str, root: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DPKG_ROOT": str(root)}
    subprocess.run(["sh", "-e", str(LINUX / "debian" / script), arg], env=env, check=True,
                   capture_output=True, timeout=60)


@pytest.mark.parametrize("script", ["postinst", "postrm"])
def test_maintainer_scripts_are_valid_and_guard_the_cache_tools(script: str) -> None:
    path = LINUX / "debian" / script
    subprocess.run(["sh", "-n", str(path)], check=True)
    text = path.read_text(encoding="utf-8")
    for tool in ("update-mime-database", "update-desktop-database", "gtk-update-icon-cache"):
        assert f"command -v {tool}" in text


def test_default_handler_registration_is_added_and_removed_cleanly(tmp_path: Path) -> None:
    mimeapps = tmp_path / "etc" / "xdg" / "mimeapps.list"
    _maintainer("postinst", "configure", tmp_path)
    assert mimeapps.read_text() == f"[Default Applications]\n{MIME}={DESKTOP_ID};\n"
    _maintainer("postinst", "configure", tmp_path)  # reconfigure: no duplicate line
    assert mimeapps.read_text().count(DESKTOP_ID) == 1
    _maintainer("postrm", "upgrade", tmp_path)  # an upgrade keeps it
    assert DESKTOP_ID in mimeapps.read_text()
    _maintainer("postrm", "remove", tmp_path)
    assert not mimeapps.exists()  # the file was ours alone
    assert not mimeapps.parent.exists()  # and so was the folder


def test_default_handler_registration_keeps_the_admins_entries(tmp_path: Path) -> None:
    mimeapps = tmp_path / "etc" / "xdg" / "mimeapps.list"
    mimeapps.parent.mkdir(parents=True)
    admin = "[Default Applications]\ntext/csv=libreoffice-calc.desktop;\n"
    mimeapps.write_text(admin)
    _maintainer("postinst", "configure", tmp_path)
    lines = mimeapps.read_text().splitlines()
    assert lines[0] == "[Default Applications]"
    assert f"{MIME}={DESKTOP_ID};" in lines and "text/csv=libreoffice-calc.desktop;" in lines
    _maintainer("postrm", "purge", tmp_path)
    assert mimeapps.read_text() == admin

    chosen = f"[Default Applications]\n{MIME}=other-age-tool.desktop;\n"
    mimeapps.write_text(chosen)
    _maintainer("postinst", "configure", tmp_path)  # an admin's own choice wins
    assert mimeapps.read_text() == chosen


# --- Windows and macOS recipes ---------------------------------------------------------

def _iss_registry() -> list[dict[str, str]]:
    text = (PKG / "windows" / "dataset-vault.iss").read_text(encoding="utf-8")
    section = text.split("[Registry]", 1)[1].split("\n[", 1)[0]
    entries = []
    for line in section.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = re.findall(r'(\w+): ("(?:[^"]|"")*"|[^;]+)', line)
        entries.append({k: v.strip().strip('"') for k, v in fields})
    return entries


def test_inno_setup_associates_age_files_and_adds_explorer_verbs() -> None:
    text = (PKG / "windows" / "dataset-vault.iss").read_text(encoding="utf-8")
    assert re.search(r"^ChangesAssociations=yes$", text, re.M)
    assert '"{#BundleDir}\\*"' in text and "recursesubdirs" in text
    progid = re.search(r'#define ProgId "([^"]+)"', text)
    assert progid is not None
    registry = _iss_registry()
    by_key = {(e["Subkey"], e.get("ValueName", "")): e for e in registry}
    assert by_key[("Software\\Classes\\.age", "")]["ValueData"] == "{#ProgId}"
    assert "uninsdeletevalue" in by_key[("Software\\Classes\\.age", "")]["Flags"]
    assert "uninsdeletekey" in by_key[("Software\\Classes\\{#ProgId}", "")]["Flags"]
    opener = by_key[("Software\\Classes\\{#ProgId}\\shell\\open\\command", "")]["ValueData"]
    assert "{#AppExe}" in opener and "%1" in opener
    unlock = by_key[("Software\\Classes\\{#ProgId}\\shell\\DatasetVault.Unlock", "")]
    assert unlock["ValueData"] == "Unlock with {#AppName}"
    assert _request_of(opener, SELECTED) == ("open", tuple(SELECTED[:1]))
    for verb, key in (("unlock", "{#ProgId}"), ("lock", "*")):
        command = by_key[(f"Software\\Classes\\{key}\\shell\\DatasetVault."
                          f"{verb.capitalize()}\\command", "")]["ValueData"]
        assert _request_of(command, SELECTED) == (verb, tuple(SELECTED[:1]))
    lock = by_key[("Software\\Classes\\*\\shell\\DatasetVault.Lock", "")]
    assert lock["ValueData"] == "Lock with {#AppName}" and "uninsdeletekey" in lock["Flags"]
    applies = by_key[("Software\\Classes\\*\\shell\\DatasetVault.Lock", "AppliesTo")]
    assert ".age" in applies["ValueData"]
    assert "RemoveFromPath" in text and "usPostUninstall" in text


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_macos_bundle_declares_the_age_document_type() -> None:
    plist_mod = _load(PKG / "macos" / "info_plist.py")
    info = plist_mod.info_plist("9.9.9")
    plistlib.loads(plistlib.dumps(info))  # serialises to a valid Info.plist
    exported = info["UTExportedTypeDeclarations"]
    uti = exported[0]["UTTypeIdentifier"]
    tags = exported[0]["UTTypeTagSpecification"]
    assert tags["public.filename-extension"] == ["age"]
    assert tags["public.mime-type"] == [MIME]
    assert "public.data" in exported[0]["UTTypeConformsTo"]
    owner = [d for d in info["CFBundleDocumentTypes"] if d["LSHandlerRank"] == "Owner"]
    assert owner and owner[0]["LSItemContentTypes"] == [uti]
    assert info["CFBundleShortVersionString"] == "9.9.9"
    spec = (PKG / "macos" / "dataset-vault-macos.spec").read_text(encoding="utf-8")
    assert "BUNDLE(" in spec and "info_plist=info_plist(" in spec
    assert "argv_emulation=True" in spec  # Finder's open-document event becomes argv
    dmg = (PKG / "macos" / "build-dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil create" in dmg


def test_installer_workflow_builds_on_windows_and_macos() -> None:
    workflow = (ROOT / ".github" / "workflows" / "installers.yml").read_text(encoding="utf-8")
    assert "runs-on: windows-latest" in workflow and "runs-on: macos-latest" in workflow
    assert "packaging\\windows\\dataset-vault.iss" in workflow
    assert "packaging/macos/build-dmg.sh" in workflow


# --- the PyInstaller spec's Qt trimming ------------------------------------------------

def test_bundle_keeps_only_the_qt_pieces_the_app_uses() -> None:
    qt_trim = _load(PKG / "pyinstaller" / "qt_trim.py")
    keep = qt_trim.keep
    for needed in ("PySide6/Qt/lib/libQt6Widgets.so.6", "PySide6/Qt/lib/libQt6Svg.so.6",
                   "PySide6/Qt/plugins/platforms/libqxcb.so",
                   "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                   "PySide6/Qt/plugins/platforms/qwindows.dll",
                   "PySide6/Qt/plugins/imageformats/libqsvg.so",
                   "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
                   "PySide6/Qt/plugins/printsupport/libcupsprintersupport.so"):
        assert keep(needed), needed
    for unused in ("PySide6/Qt/lib/libQt6Qml.so.6", "PySide6/Qt/lib/libQt6Quick.so.6",
                   "PySide6/Qt/lib/libQt6WebEngineCore.so.6", "PySide6/Qt/lib/libQt6Pdf.so.6",
                   "PySide6/Qt/lib/libQt6Multimedia.so.6", "PySide6/Qt/lib/libQt63DCore.so.6",
                   "PySide6/Qt/plugins/platforms/libqvnc.so",
                   "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                   "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
                   "PySide6/Qt/translations/qtbase_de.qm"):
        assert not keep(unused), unused
    excluded = qt_trim.excluded_modules(["cryptography>=50", "pyarrow>=15"])
    assert "PySide6.QtQml" in excluded and "pandas" in excluded
    assert "pyarrow" not in excluded  # a runtime dependency is never excluded


@pytest.mark.parametrize("spec", ["pyinstaller/dataset-vault.spec",
                                  "macos/dataset-vault-macos.spec"])
def test_pyinstaller_specs_are_valid_python_with_two_executables(spec: str) -> None:
    source = (PKG / spec).read_text(encoding="utf-8")
    compile(source, spec, "exec")
    assert source.count("EXE(") == 2 and "COLLECT(" in source
    assert 'name="vault"' in source and 'name="vault-app"' in source
