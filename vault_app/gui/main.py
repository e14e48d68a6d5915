"""Entry point of ``vault-app`` (placeholder window until the GUI issue lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv if argv is None else argv)
    label = QLabel("Dataset Vault")
    label.setWindowTitle("Dataset Vault")
    label.resize(480, 200)
    label.show()
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
