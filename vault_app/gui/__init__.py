"""The Qt desktop window. A client of ``vault_app.core``; never imported by it."""
