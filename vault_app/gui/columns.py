"""The file list's columns at any window width: names first.

At 960 px the seven columns left the Name column a few letters wide ("pati…", three
"cli_b…" rows that could not be told apart) while Readers had room to spare. Now the
Name column takes what its longest name needs (up to ``NAME_MAX``) before the others:
the optional columns (Owner, then Modified, then Readers) hide while the window is too
narrow for them and come back when it widens, and names are elided in the middle
("cli_batch_00…ments.csv"), where names that share a prefix still differ.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QTableView

from vault_app.gui.file_model import Column

WIDTHS = {Column.SIZE: 76, Column.MODIFIED: 128, Column.STATE: 116, Column.OWNER: 80,
          Column.READERS: 120, Column.SIGNATURE: 112}
#: Hidden first, as the list narrows.
OPTIONAL = (Column.OWNER, Column.MODIFIED, Column.READERS)
NAME_MIN, NAME_MAX = 160, 340
#: Room beside a name: its icon, margins.
NAME_PADDING = 44


class ColumnFitter(QObject):
    """Watches ``view``'s size and refits its columns (also after its rows change)."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self._view = view
        for col, width in WIDTHS.items():
            view.setColumnWidth(col, width)
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        view.viewport().installEventFilter(self)
        model = view.model()
        model.rowsInserted.connect(self.fit)
        model.modelReset.connect(self.fit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def name_wanted(self) -> int:
        """What the longest name on the first few hundred rows needs, within limits."""
        model, metrics = self._view.model(), self._view.fontMetrics()
        rows = min(model.rowCount(), 300)
        longest = max((metrics.horizontalAdvance(str(model.index(r, Column.NAME).data()))
                       for r in range(rows)), default=0)
        return max(NAME_MIN, min(NAME_MAX, longest + NAME_PADDING))

    def fit(self, *_args: object) -> None:
        view = self._view
        room = view.viewport().width() - self.name_wanted()

        def width(col: Column) -> int:   # as the person left it, if shown
            return view.columnWidth(col) if not view.isColumnHidden(col) else WIDTHS[col]

        used = sum(width(c) for c in WIDTHS if c not in OPTIONAL)
        fits = True
        for col in reversed(OPTIONAL):   # Readers first back in, Owner last
            fits = fits and used + width(col) <= room   # (never Owner without Modified)
            view.setColumnHidden(col, not fits)
            if fits:
                used += width(col)
