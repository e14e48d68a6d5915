"""PyInstaller entry for the ``vault`` command line (same as the console script)."""

import sys

from vault_app.cli import main

sys.exit(main())
