"""Search spaces over architectures: exact size, uniform sampling, enumeration, fixing an
architecture back to readable .arch code, local moves (mutate, crossover).

Never imports a backend: objectives that need torch are handed in as callables.
"""

from archlang.search.space import Assignment, Space

__all__ = ["Assignment", "Space"]
