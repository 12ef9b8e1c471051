"""Stage 2, AST → resolved names: loading a file and everything it imports (each file once,
never outside the spec's folder), binding imported names, and the static checks every block
must pass before anything is elaborated (unknown names, type names, inputs, returns).

Imports ``archlang.syntax`` and the leaves; never the elaborator, the search core or a backend.
"""
