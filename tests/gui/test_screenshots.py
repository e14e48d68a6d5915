"""`python -m vault_app.gui.screenshots OUTDIR` renders every main screen to a real PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

EXPECTED = ["01-empty-vault.png", "02-vault-with-files.png", "03-share-dialog.png",
            "04-progress.png", "05-preview.png", "06-error.png", "07-dark-theme.png",
            "08-not-a-member.png", "09-ask-to-join.png", "10-members-requests.png",
            "11-approve-refused.png", "12-sync-conflict.png", "13-resolve-plan.png"]


def distinct_colours(image: QImage) -> int:
    step = 7
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


@pytest.mark.slow
def test_screenshots_script_writes_every_screen(qapp, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "vault_app.gui.screenshots", str(tmp_path)],
                          capture_output=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert sorted(p.name for p in tmp_path.iterdir()) == EXPECTED
    for name in EXPECTED:
        image = QImage(str(tmp_path / name))
        assert (image.width(), image.height()) == (1180, 700), name
        assert distinct_colours(image) > 20, f"{name} looks blank"
    # the empty vault and the full vault are different screens
    assert QImage(str(tmp_path / EXPECTED[0])) != QImage(str(tmp_path / EXPECTED[1]))
    # the dark screenshot is dark, the light one light (corner of the window background)
    assert QImage(str(tmp_path / "07-dark-theme.png")).pixelColor(600, 690).lightness() < 100
    assert QImage(str(tmp_path / EXPECTED[1])).pixelColor(600, 690).lightness() > 150
