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


class NoticeBar(QFrame):
    """``show_notice(text, kind, actions)``; ``actions``: (button text, callback) pairs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAccessibleName("Notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self._layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton(self)
        close.setObjectName("noticeClose")
        close.setText("✕")
        close.setAutoRaise(True)
        close.setAccessibleName("Close the notice")
        close.clicked.connect(self.hide)
        self._layout.addWidget(close)
        self.kind = "info"
        self.hide()

    def show_notice(self, text: str, kind: str = "info",
                    actions: tuple[tuple[str, Callable[[], object]], ...] = ()) -> None:
        for button in self._buttons:
            button.deleteLater()
        self._buttons = []
        for i, (caption, act) in enumerate(actions):
            button = QPushButton(caption, self)
            button.setObjectName(f"noticeAction{i}")
            button.clicked.connect(lambda _checked=False, act=act: act())
            self._layout.insertWidget(1 + i, button)
            self._buttons.append(button)
        self.kind = kind
        self.label.setText(text)
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        if not dark:
            self.setStyleSheet(f"QFrame#noticeBar {{ background: {_TINT[kind]}; }}")
        else:
            self.setStyleSheet("")
        self.show()

    @property
    def buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def keyPressEvent(self, event: object) -> None:
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
