"""Dataset Vault: a desktop vault for sensitive dataset files, on standard age v1."""

from __future__ import annotations

__version__ = "0.1.0"
