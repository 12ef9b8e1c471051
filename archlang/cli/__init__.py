"""The command line (``archlang …``): argument parsing, one function per command, and
the demo (``python -m archlang.cli.demo``).  The top layer: it may use every other part.
"""

from archlang.cli.app import main

__all__ = ["main"]
