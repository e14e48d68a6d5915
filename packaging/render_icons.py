"""Render the app's SVG icons to PNG sizes for the hicolor theme, with Qt's own SVG renderer.

Usage: python packaging/render_icons.py SVG OUT_DIR NAME [SIZE ...]
       writes OUT_DIR/<size>x<size>/<NAME>.png for each size;
       python packaging/render_icons.py SVG --icon OUT.ico|OUT.icns
       writes a Windows/macOS icon file (256 px .ico, 512 px .icns) with Qt's writers.
Runs offscreen (no display); rsvg-convert is not needed, so the build depends on
nothing beyond the app's own Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

DEFAULT_SIZES = (16, 24, 32, 48, 64, 128, 256)


def _image(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def _renderer(svg: Path) -> QSvgRenderer:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not a valid SVG")
    return renderer


def render_icon_file(svg: Path, target: Path) -> Path:
    """A single-image .ico (256 px) or .icns (512 px) for the Windows/macOS recipes."""
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in ("ico", "icns"):
        raise SystemExit(f"error: {target}: only .ico and .icns are supported")
    image = _image(_renderer(svg), 256 if fmt == "ico" else 512)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(target), fmt.upper()):
        raise SystemExit(f"error: could not write {target}")
    return target


def render(svg: Path, out_dir: Path, name: str, sizes: tuple[int, ...]) -> list[Path]:
    renderer = _renderer(svg)
    written = []
    for size in sizes:
        image = _image(renderer, size)
        target = out_dir / f"{size}x{size}" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"error: could not write {target}")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    app = QGuiApplication([])  # QImage/QPainter need a Gui application for fonts/paint engines
    if argv[1] == "--icon":
        print(render_icon_file(Path(argv[0]), Path(argv[2])))
    else:
        svg, out_dir, name = Path(argv[0]), Path(argv[1]), argv[2]
        sizes = tuple(int(s) for s in argv[3:]) or DEFAULT_SIZES
        for path in render(svg, out_dir, name, sizes):
            print(path)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
