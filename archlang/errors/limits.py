"""Resource limits that keep a hostile or mistaken spec from hanging or exhausting archlang.

One place to configure them all.  Exceeding any of them is a located ``LimitError``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    max_nesting: int = 64  # brackets inside brackets
    max_expr_depth: int = 150  # operators/calls nested inside one expression
    max_repeat: int = 10_000  # elements of one range/comprehension/list (a 10k-layer spec checks in ~1 s)
    max_nodes: int = 2_000_000  # dataflow nodes in one elaborated model
    max_int_bits: int = 64  # magnitude of any integer a spec computes
    max_call_depth: int = 48  # block calls nested inside block calls (recursion included)
    max_str_len: int = 10_000  # length of any string a spec builds
    max_loop_steps: int = 250_000  # statements (and comprehension items) run while elaborating one model


LIMITS = Limits()
