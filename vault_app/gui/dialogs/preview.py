"""PreviewDialog: the first rows of a locked file in a table, decrypted in memory only.

Decryption runs on the read lane of the window's ``Tasks``, so a preview never waits
behind a long lock on the change lane and never blocks the UI thread; it reads only the
first chunks (every one authenticated). The signed digest of the whole content is
checked next (one sequential read, about 0.5 s per GiB): the rows appear at once,
and are withdrawn with a plain warning if the content is not the content that was
signed. Closing the dialog cancels the reads; it never waits for them.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.preview import DEFAULT_LIMIT, PARQUET_EXT, Preview, preview_rows
from vault_app.core.progress import CancelToken
from vault_app.core.vault import Vault
from vault_app.gui.dialogs.errors import error_text
from vault_app.gui.tasks import Tasks

AnyIndex = QModelIndex | QPersistentModelIndex


def _alignment(numeric: bool) -> int:
    horizontal = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
    return int(horizontal | Qt.AlignmentFlag.AlignVCenter)


class PreviewModel(QAbstractTableModel):
    """Read-only rows of strings under column names."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns: list[str] = []
        self._rows: list[list[str]] = []
        self._numeric: list[bool] = []

    def set_preview(self, preview: Preview) -> None:
        self.beginResetModel()
        self._columns, self._rows = list(preview.columns), [list(r) for r in preview.rows]
        #: Columns of numbers are right-aligned, as a spreadsheet shows them.
        self._numeric = [any(row[c].strip() for row in self._rows if c < len(row))
                         and all(_number(row[c]) for row in self._rows
                                 if c < len(row) and row[c].strip())
                         for c in range(len(self._columns))]
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self._rows[index.row()][index.column()]
            if role == Qt.ItemDataRole.DisplayRole:
                return value.replace("\n", " ⏎ ")
            return value if len(value) > 40 or "\n" in value else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(self._numeric[index.column()])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.TextAlignmentRole and orientation ==
                Qt.Orientation.Horizontal and section < len(self._numeric)):
            return _alignment(self._numeric[section])
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section] if section < len(self._columns) else None
        return str(section + 1)


#: The installed app is a bundle without pyarrow: "pip install pyarrow" means nothing there.
BUNDLE_PARQUET_NOTICE = ("This build of Dataset Vault cannot preview Parquet files. "
                         "Unlock to… works: unlock a copy and open it in your usual tools.")


def bundle_lacks_parquet(name: str) -> bool:
    """A Parquet file in a frozen (installed, bundled) app that has no pyarrow."""
    if not getattr(sys, "frozen", False):
        return False   # a Python install: the core's notice says how to add pyarrow
    if Path(name).suffix.lower().lstrip(".") not in PARQUET_EXT:
        return False
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return True
    return False


#: Opens the plaintext of the file being previewed: ``opener(verify)``; with ``verify``
#: the whole content is checked against its signed digest first.
Opener = Callable[[bool], BinaryIO | io.RawIOBase]


def vault_opener(vault: Vault, locked: Path) -> Opener:
    """A vault file, read as its vault's acting user (signature checked first)."""
    return lambda verify: vault.open_reader(locked, verify_content=verify)


def load_preview(opener: Opener, name: str, limit: int, cancel: CancelToken) -> Preview:
    """The first ``limit`` rows, every chunk read authenticated (read lane)."""
    if bundle_lacks_parquet(name):
        return Preview([], [], BUNDLE_PARQUET_NOTICE)
    with opener(False) as reader:
        cancel.check()
        return preview_rows(reader, name, limit)


def check_content(opener: Opener, cancel: CancelToken) -> bool:
    """The whole content against its signed digest (read lane; raises if it differs)."""
    cancel.check()
    opener(True).close()
    return True


def _number(text: str) -> bool:
    try:
        float(text.replace(",", "").strip())
    except ValueError:
        return False
    return bool(text.strip())


class PreviewDialog(QDialog):
    """Shows the first ``limit`` rows of ``locked_path``; ``loaded``/``failed`` report the end."""

    loaded = Signal(object)   # Preview
    failed = Signal(object)   # exception

    def __init__(self, vault: Vault | None, locked_path: Path, tasks: Tasks,
                 parent: QWidget | None = None, *, limit: int = DEFAULT_LIMIT,
                 opener: Opener | None = None, name: str | None = None) -> None:
        """A vault file (``vault``), or any locked file through ``opener`` and ``name``."""
        super().__init__(parent)
        self.setObjectName("previewDialog")
        self._path = Path(locked_path)
        if opener is None:
            assert vault is not None
            opener = vault_opener(vault, self._path)
        self._opener = opener
        self._limit = limit
        self.name = name or (vault.display_name(self._path) if vault else self._path.stem)
        self.preview: Preview | None = None
        self.setWindowTitle(f"{self.name} — first {limit} rows")
        self.resize(820, 520)

        self.notice = QLabel(f"Decrypting the first rows of {self.name} in memory…", self)
        self.notice.setObjectName("previewNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.model = PreviewModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("previewTable")
        self.table.setAccessibleName(f"First rows of {self.name}")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.safety = QLabel("Decrypted in memory only: nothing is written to disk.", self)
        self.safety.setObjectName("previewSafety")
        self.safety.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.safety)
        layout.addWidget(buttons)

        self._closed = False
        self.content_verified: bool | None = None
        self._tasks = tasks
        self._cancel = CancelToken()   # both reads; cancelled when the dialog closes
        tasks.read(functools.partial(load_preview, opener, self.name, limit, self._cancel),
                   cancel=self._cancel, owner=self, on_success=self._show,
                   on_failure=self._fail)

    def _check_content(self) -> None:
        """After the rows: the whole content against its signed digest."""
        self._tasks.read(functools.partial(check_content, self._opener, self._cancel),
                         cancel=self._cancel, owner=self, on_success=self._verified,
                         on_failure=self._fail)

    def _verified(self, _ok: bool) -> None:
        if self._closed:
            return
        self.content_verified = True
        self.safety.setText("Decrypted in memory only: nothing is written to disk. "
                            "The content matches its signature.")

    def _show(self, preview: Preview) -> None:
        if self._closed or self.content_verified is False:
            return
        self.preview = preview
        self.model.set_preview(preview)
        if preview.available:
            shown = min(len(preview.rows), self._limit)
            self.setWindowTitle(f"{self.name} — first {shown} rows" if not preview.complete
                                else f"{self.name} — all {shown} rows")
            self.table.resizeColumnsToContents()
            header = self.table.horizontalHeader()
            for col in range(self.model.columnCount()):
                header.resizeSection(col, min(header.sectionSize(col), 320))
        else:
            self.setWindowTitle(f"{self.name} — no preview")
            self.table.hide()
        self.notice.setText(preview.note)
        self.loaded.emit(preview)
        self._check_content()

    def _fail(self, exc: BaseException) -> None:
        if self._closed or self.content_verified is False:
            return
        self.content_verified = False
        self._cancel.cancel()   # the other read's outcome no longer matters
        self.model.set_preview(Preview([], [], ""))  # withdraw any rows already shown
        title, text, hint = error_text(exc, f"preview {self.name}")
        self.setWindowTitle(f"{self.name} — {title}")
        self.notice.setText(f"{title}. {text} {hint}".strip())
        self.table.hide()
        self.safety.hide()   # nothing is shown: "decrypted in memory" would mislead
        self.failed.emit(exc)

    def _stop(self) -> None:
        """Never wait for the reads on close: cancel them; their outcome is dropped."""
        self._closed = True
        self._cancel.cancel()

    def done(self, result: int) -> None:
        self._stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop()
        super().closeEvent(event)
