"""Backends that read archlang's IR: torch, onnx and graphviz (installed as archlang.backends).

Each backend imports only archlang.ir, archlang.ir.types, archlang.ir.dims, archlang.ops and
archlang.errors; no backend imports another.
"""
