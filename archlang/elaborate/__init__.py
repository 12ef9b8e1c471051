"""Stage 3, resolved AST → IR: running block bodies with concrete arguments and input types.

Modules, lowest first: ``values`` (what a spec computes while elaborated), ``builtins``
(the language's constant functions), ``evaluate`` (expressions), ``choices`` (search
decisions), ``layers`` (a layer applied to input types becomes a member and a node),
``constrain`` (``constrain`` statements captured as data), ``body`` (statements, calls,
the per-model context), ``entry`` (entry points, checking a whole file), ``program``
(a loaded file and its entry points).

Imports ``archlang.resolve``, ``archlang.syntax`` and the leaves; never the search core or a backend.
"""
