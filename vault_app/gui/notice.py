"""A message strip above the list: what just happened, and what to do next.

The status bar is easy to miss and forgets within seconds; what a person needs to see
(where a locked file went, that a cancel left nothing half-done, that a file turned out
damaged) goes here, with a button where there is a next step ("Show in file manager").
One notice at a time: a new one replaces the old; Close or Esc hides it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

#: Background tints per kind (light palette; the dark palette uses the base colour).
_TINT = {"info": "#e8f1fb", "done": "#e7f5ea", "warning": "#fdecea"}

#: A button on a strip: its caption and what it does.
Action = tuple[str, Callable[[], object]]


class Strip(QFrame):
    """One tinted, selectable line of text (wrapped) with action buttons after it; the
    notice bar and the vault banner's strips are all one."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.hide()

    def show_text(self, text: str, kind: str, actions: tuple[Action, ...] = (),
                  tip: str = "") -> None:
        """Show ``text`` tinted for ``kind`` ("info", "done", "warning"), with one button
        per action, replacing what was shown."""
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        for i, (caption, act) in enumerate(actions):
            button = QPushButton(caption, self)
            button.setObjectName(f"{self.objectName()}:{caption.rstrip('…')}")
            button.clicked.connect(lambda _checked=False, act=act: act())
            self._layout.insertWidget(1 + i, button)  # after the text, before any close
            self.buttons.append(button)
        self.label.setText(text)
        self.label.setToolTip(tip)
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.setStyleSheet("" if dark else
                           f"QFrame#{self.objectName()} {{ background: {_TINT[kind]}; }}")
        self.show()

    def button(self, caption: str) -> QPushButton | None:
        return next((b for b in self.buttons if b.text() == caption), None)


class NoticeBar(Strip):
    """``show_notice(text, kind, actions)``: the latest news, with a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("noticeBar", parent)
        self.setAccessibleName("Notice")
        close = QToolButton(self)
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setAutoRaise(True)
        close.setAccessibleName("Close the notice")
        close.clicked.connect(self.hide)
        self._layout.addWidget(close)
        self.kind = "info"

    def show_notice(self, text: str, kind: str = "info",
                    actions: tuple[Action, ...] = ()) -> None:
        self.kind = kind
        self.show_text(text, kind, actions)

    def keyPressEvent(self, event: object) -> None:
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
