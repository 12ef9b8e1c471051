"""Reports on an elaborated model, computed from the IR and the op registry: the text printer
(one line per node, the golden-file format) and the per-layer summary (shapes, parameters,
MACs).

Sits on ``ir`` and ``ops``; imports nothing of the front end, the search core or a backend.
"""
