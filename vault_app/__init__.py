"""Dataset Vault: a desktop vault for sensitive dataset files, on standard age v1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vault_app.core.api import open_locked as open

__all__ = ["__version__", "open"]


def __getattr__(name: str) -> Any:
    """``vault_app.open`` is imported on first use, so ``import vault_app`` stays cheap."""
    if name == "open":
        from vault_app.core.api import open_locked

        return open_locked
    raise AttributeError(f"module 'vault_app' has no attribute {name!r}")
