"""Dialogs of the desktop window (share, preview, first run, members, settings, errors)."""
