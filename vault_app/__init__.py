"""Dataset Vault: a desktop vault for sensitive dataset files, on standard age v1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from vault_app.analyst import close_session, open, session

__all__ = ["__version__", "close_session", "open", "session"]

# Imported on first use, so ``import vault_app`` stays cheap.
_LAZY = {"open", "session", "close_session"}


def __getattr__(name: str) -> Any:
    """``vault_app.open``, ``vault_app.session``, ``vault_app.close_session``: loaded on
    first use."""
    if name in _LAZY:
        from vault_app import analyst

        return getattr(analyst, name)
    raise AttributeError(f"module 'vault_app' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Tab completion lists the lazy names too (``__getattr__`` alone hides them)."""
    return sorted({*globals(), *_LAZY})
