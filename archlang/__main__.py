"""``python -m archlang`` runs the command line."""

import sys

from archlang.cli import main

sys.exit(main())
