"""The UI thread stays responsive while a large file locks (event-loop latency probe).

A 5 ms QTimer records the gaps between its ticks while the window locks a large file
through the TaskRunner; the largest gap is how long the UI thread was blocked. The product
target is 50 ms; CI machines are noisy, so the test asserts a generous 250 ms and prints
the figure.
"""

from __future__ import annotations

import os
import time

import pytest
from gui_support import VaultEnv
from PySide6.QtCore import QTimer

from vault_app.gui.main_window import MainWindow

SIZE = int(os.environ.get("VAULT_TEST_RESPONSIVE_MIB", "192")) << 20
BOUND = 0.250


class LatencyProbe:
    def __init__(self, interval_ms: int = 5) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


@pytest.mark.slow
def test_ui_thread_not_blocked_while_a_large_file_locks(qtbot, vault_env: VaultEnv) -> None:
    src = vault_env.root / "big.bin"
    block = os.urandom(1 << 20)
    with open(src, "wb") as f:
        for _ in range(SIZE >> 20):
            f.write(block)
    window = MainWindow(vault_env.vault)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    progress: list[int] = []
    window.tasks.progress.connect(lambda done, _total, _speed: progress.append(done))
    probe = LatencyProbe()
    probe.start()
    started = time.perf_counter()
    with qtbot.waitSignal(window.tasks.idle, timeout=180_000):
        window.lock_files([src])
    elapsed = time.perf_counter() - started
    probe.stop()
    assert (vault_env.vault.path / "big.bin.age").is_file() and not src.exists()
    assert len(progress) > 3 and progress[-1] == SIZE   # the bar moved, and reached the end
    worst = max(probe.gaps)
    gaps = sorted(probe.gaps)
    p99 = gaps[int(len(gaps) * 0.99)]
    print(f"\nlocking {SIZE >> 20} MiB took {elapsed:.2f} s; UI event loop: "
          f"{len(gaps)} ticks, max gap {worst * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    assert worst < BOUND, f"UI thread blocked for {worst * 1000:.0f} ms"
    window.close()
