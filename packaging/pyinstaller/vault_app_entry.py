"""PyInstaller entry for the ``vault-app`` window (same as the gui script)."""

import sys

from vault_app.gui.main import main

sys.exit(main())
