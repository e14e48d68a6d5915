"""The end-to-end desktop test: needs Xvfb, openbox, pcmanfm, xdotool and ImageMagick
(``.ci/run`` installs them) and a D-Bus session with an unlocked keyring (CI runs the
tests in one). Outside CI a missing piece skips the test with the reason; in CI (``CI``
set) it fails. The screenshots folder of each run is listed at the end of the output.
"""

from __future__ import annotations

import pytest
from desktop_session import SHOT_FOLDERS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SHOT_FOLDERS:
        terminalreporter.section("desktop screenshots")
        for folder in SHOT_FOLDERS:
            pngs = sorted(p.name for p in folder.glob("*.png"))
            terminalreporter.write_line(f"{folder}: {', '.join(pngs)}")
