"""Small helpers for the dialogs' tables of vault users (members, share)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget


def selected_key(table: QTableWidget) -> str | None:
    """The name stored (``UserRole``) in column 0 of the one selected row; None unless
    exactly one row is selected."""
    rows = {i.row() for i in table.selectedIndexes()}
    if len(rows) != 1:
        return None
    item = table.item(rows.pop(), 0)
    return str(item.data(Qt.ItemDataRole.UserRole)) if item else None
