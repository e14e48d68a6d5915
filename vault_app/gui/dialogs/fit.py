"""Dialogs as tall as their wrapped text.

A word-wrapped ``QLabel`` reports its height for a given width only, which a top-level
layout does not use when it sizes a window: a dialog of wrapped sentences opens (or, once
a sentence changed, stays) too short, and its text is cut in the middle of a line.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def fit_height(widget: QWidget) -> None:
    """Grow ``widget`` (a shown or about to be shown window) to the height its layout
    needs at its current width; never shrink it (a person may have made it taller)."""
    layout = widget.layout()
    if layout is None:
        return
    layout.activate()
    needed = layout.totalHeightForWidth(widget.width())
    if needed > widget.height():
        widget.resize(widget.width(), needed)
