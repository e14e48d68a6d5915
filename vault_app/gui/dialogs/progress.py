"""ProgressPanel: the status-bar view of the window's ``Tasks``: the change running now
(label, bar, speed, file n of m, Cancel), else a labelled read (verify) as a busy bar.

It only listens to the helper's signals, so it never touches a worker thread; it hides
itself when there is nothing to show.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from vault_app.gui.tasks import Tasks
from vault_app.gui.units import human_size

BAR_STEPS = 1000  # the bar counts in permille: byte counts overflow a 32-bit int


def format_speed(bytes_per_second: float) -> str:
    """In the units of every other size the window and the CLI show (KiB, MiB, GiB)."""
    return f"{human_size(bytes_per_second)}/s"


def format_remaining(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


class ProgressPanel(QWidget):
    """Embeddable in a status bar; constructed with a ``Tasks`` and bound to its signals."""

    def __init__(self, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._reading = ""
        self.setObjectName("progressPanel")
        self.label = QLabel(self)
        self.label.setObjectName("progressLabel")
        self.label.setMinimumWidth(120)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("progressBar")
        self.bar.setAccessibleName("Progress of the running operation")
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.speed = QLabel(self)
        self.speed.setObjectName("progressSpeed")
        self.count = QLabel(self)
        self.count.setObjectName("progressCount")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("progressCancel")
        self.cancel_button.setAccessibleName("Cancel the running operation")
        self.cancel_button.setToolTip("Stop now; nothing half-written is left behind")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(12)
        for widget in (self.label, self.bar, self.speed, self.count, self.cancel_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.cancel_button.clicked.connect(self._cancel)
        tasks.task_started.connect(self._on_started)
        tasks.progress.connect(self._on_progress)
        tasks.queue_changed.connect(self._on_queue)
        tasks.idle.connect(self._on_idle)
        tasks.reading.connect(self._on_reading)
        self.setVisible(tasks.busy())

    @Slot()
    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self._tasks.cancel_all()

    @Slot(str)
    def _on_started(self, label: str) -> None:
        self.label.setText(label)
        self.label.setToolTip(label)
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.show()

    @Slot(str)
    def _on_reading(self, label: str) -> None:
        self._reading = label
        if not self._tasks.busy():   # a change, if any, has the panel
            self._show_reading()

    def _show_reading(self) -> None:
        """A read cannot be stopped half-way, so no Cancel: a label and a busy bar."""
        if not self._reading:
            self.hide()
            return
        self.label.setText(self._reading)
        self.label.setToolTip(self._reading)
        self.bar.setRange(0, 0)
        self.speed.clear()
        self.count.clear()
        self.cancel_button.hide()
        self.show()

    @Slot("qlonglong", "qlonglong", float)
    def _on_progress(self, done: int, total: int, speed: float) -> None:
        if total <= 0:
            self.bar.setRange(0, 0)  # unknown size: a busy indicator
        else:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(min(BAR_STEPS, done * BAR_STEPS // total))
        parts = []
        if speed > 0:
            parts.append(format_speed(speed))
            if total > done:
                parts.append(format_remaining((total - done) / speed))
        self.speed.setText(" · ".join(parts))

    @Slot(int, int)
    def _on_queue(self, done: int, total: int) -> None:
        current = min(done + 1, total)
        self.count.setText(f"file {current} of {total}" if total > 1 else "")
        self.count.setVisible(total > 1)

    @Slot()
    def _on_idle(self) -> None:
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)
        self.speed.clear()
        self.count.clear()
        self.label.clear()
        self._show_reading()
