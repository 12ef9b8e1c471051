"""The PyTorch backend: an ir.Model becomes an ``nn.Module`` with the spec's parameter names.

    build_module(model, seed=None) -> torch.nn.Module

Reads only the IR (archlang.ir, archlang.ir.dims, archlang.errors); never another backend.
"""

from .build import build_module

__all__ = ["build_module"]
