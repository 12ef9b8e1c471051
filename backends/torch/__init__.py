"""The PyTorch backend: an ir.Model becomes an ``nn.Module`` with the spec's parameter names.

    build_module(model, seed=None) -> torch.nn.Module
    build_member(member, make_layer=...) -> torch.nn.Module   one decision-free member (supernets)

Reads only the IR (archlang.ir, archlang.ir.dims, archlang.errors); never another backend.
"""

from .build import build_member, build_module
from .layers import make_layer

__all__ = ["build_member", "build_module", "make_layer"]
