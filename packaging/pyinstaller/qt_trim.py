"""Keep only the Qt pieces Dataset Vault uses (shared by the Linux, Windows and macOS specs).

The app imports QtCore, QtGui, QtWidgets, QtNetwork (QLocalServer), QtSvg and
QtPrintSupport. PyInstaller's PySide6 hooks already follow imports, but binary
dependency analysis and the plugin hooks still pull in pieces nobody loads (QML,
Quick, PDF, virtual keyboard, eglfs/vnc platforms, TLS backends, 14 MB of
translations). Dropping them here keeps the bundle lean; `check_bundle` in the
build script then proves every kept library still resolves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Python modules that must never be analysed into the bundle.
EXCLUDED_MODULES = [
    # Qt modules the app does not use (the names PyInstaller would otherwise follow).
    *(f"PySide6.{m}" for m in (
        "QtQml", "QtQuick", "QtQuickWidgets", "QtQuickControls2", "QtQuick3D",
        "QtWebEngineCore", "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel",
        "QtWebSockets", "QtWebView", "Qt3DCore", "Qt3DRender", "Qt3DInput", "Qt3DLogic",
        "Qt3DAnimation", "Qt3DExtras", "QtMultimedia", "QtMultimediaWidgets",
        "QtSpatialAudio", "QtCharts", "QtDataVisualization", "QtGraphs",
        "QtGraphsWidgets", "QtPdf", "QtPdfWidgets", "QtPositioning", "QtLocation",
        "QtSensors", "QtSerialPort", "QtSerialBus", "QtBluetooth", "QtNfc", "QtSql",
        "QtTest", "QtDesigner", "QtHelp", "QtUiTools", "QtOpenGL", "QtOpenGLWidgets",
        "QtConcurrent", "QtStateMachine", "QtScxml", "QtRemoteObjects",
        "QtTextToSpeech", "QtHttpServer", "QtAxContainer", "QtSvgWidgets", "QtXml",
        "QtCanvasPainter",
    )),
    # Tools and test stacks that may sit in the build environment.
    "tkinter", "pytest", "_pytest", "pytestqt", "hypothesis", "pyrage", "matplotlib",
    "IPython", "mypy", "ruff", "setuptools", "pip", "pydoc", "doctest", "lib2to3",
]

# Data-science stacks are optional at run time (test extras): bundled only if
# pyproject.toml lists them as runtime dependencies (see `excluded_modules`).
OPTIONAL_DATA_STACK = ("pandas", "numpy", "pyarrow")


def excluded_modules(runtime_dependencies: Iterable[str]) -> list[str]:
    """EXCLUDED_MODULES plus the optional data stack the project does not depend on."""
    deps = {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].strip().lower()
            for d in runtime_dependencies}
    return EXCLUDED_MODULES + [m for m in OPTIONAL_DATA_STACK if m not in deps]

# Qt shared libraries (any platform spelling) that must not be bundled.
_UNUSED_QT_LIB = re.compile(
    r"Qt6?(Qml|Quick|Labs|Lottie|Pdf|WebEngine|WebChannel|WebSockets|WebView|3D|"
    r"Multimedia|SpatialAudio|Charts|DataVis|Graphs|Positioning|Location|Sensors|"
    r"Serial|Bluetooth|Nfc|Sql|Test|Designer|Help|UiTools|Concurrent|StateMachine|"
    r"Scxml|RemoteObjects|TextToSpeech|HttpServer|VirtualKeyboard|ShaderTools|"
    r"QuickTest|Wayland(Compositor|EglCompositor)|EglFS|CanvasPainter|VectorImage)",
    re.IGNORECASE,
)

# Plugin folders/files to keep (everything else under plugins/ is dropped).
_KEEP_PLUGINS = {
    "platforms": {"qxcb", "qwayland", "qoffscreen", "qminimal", "qwindows", "qcocoa"},
    # The portal theme gives native dialogs and the dark/light scheme over D-Bus; the
    # gtk3 theme would drag the whole GTK/cairo/pango stack into the bundle.
    "platformthemes": {"qxdgdesktopportal"},
    "platforminputcontexts": {"composeplatforminputcontextplugin",
                              "ibusplatforminputcontextplugin"},
    "xcbglintegrations": None,  # None = keep the whole folder
    "wayland-shell-integration": {"xdg-shell"},
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": {"qt-plugin-wayland-egl"},
    "imageformats": {"qsvg", "qico", "qjpeg", "qgif"},
    "iconengines": None,
    "printsupport": None,
    "styles": None,  # Windows/macOS native styles live here
}

_PLUGIN_PATH = re.compile(r"(?:^|[\\/])plugins[\\/]([^\\/]+)[\\/]([^\\/]+)$")


def _plugin_stem(filename: str) -> str:
    stem = filename.split(".", 1)[0]
    return stem[3:] if stem.startswith("lib") else stem


def keep(dest: str) -> bool:
    """True if a bundled file (its destination path) is needed at run time."""
    norm = dest.replace("\\", "/")
    if "/Qt/translations/" in norm or "/Qt6/translations/" in norm or norm.endswith(".qm"):
        return False  # the UI is English-only; Qt's own translations are never loaded
    if "/qml/" in norm or norm.endswith(".qmltypes"):
        return False
    match = _PLUGIN_PATH.search(norm)
    if match:
        folder, filename = match.groups()
        if folder not in _KEEP_PLUGINS:
            return False
        wanted = _KEEP_PLUGINS[folder]
        return wanted is None or _plugin_stem(filename) in wanted
    # Any path component: a Linux/Windows library file or a macOS QtXyz.framework folder.
    return not any(_UNUSED_QT_LIB.search(part) for part in norm.split("/"))


# Where Debian keeps shared libraries: a .deb depends on these packages instead of
# carrying copies that would miss security updates (libssl, libdbus, libX11, ...).
_SYSTEM_LIB_DIRS = {"/lib", "/lib64", "/usr/lib", "/usr/lib64",
                    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                    "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"}


def is_system_library(source: str, typecode: str) -> bool:
    """True for a distribution shared library (not a Python extension, not libpython)."""
    import os

    if typecode != "BINARY" or not source:
        return False
    name = os.path.basename(source)
    if name.startswith("libpython"):
        return False  # the bootloader loads the bundled interpreter from _internal/
    return os.path.dirname(os.path.realpath(source)) in _SYSTEM_LIB_DIRS or \
        os.path.dirname(source) in _SYSTEM_LIB_DIRS


def without_system_libraries(toc: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Drop distribution libraries (Linux packages declare them as Depends instead)."""
    return [entry for entry in toc if not is_system_library(entry[1], entry[2])]


def trim(toc: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Filter a PyInstaller TOC (dest, source, typecode) with `keep`."""
    return [entry for entry in toc if keep(entry[0])]
