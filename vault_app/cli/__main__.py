import sys

from vault_app.cli import main

sys.exit(main())
