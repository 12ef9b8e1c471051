"""Search spaces over architectures: exact size, uniform sampling, enumeration, fixing an
architecture back to readable .arch code, local moves (mutate, crossover).

Modules: space (Space, Assignment), tree (counting and sampling), fixing (an assignment's IR
picked out of the space's), to_arch, hashing (canonical hashes, distinct counts), encode
(feature vectors), formats (NAS-Bench-201, DARTS, NAS-Bench-101), constraints (params/MACs
bounds), describe (the `space` and `sample` commands' text), study and report (stored
studies, results tables), plots (study plots and a study's notebook display).

Never imports a backend: objectives that need torch are handed in as callables.
"""

from archlang.nas.space import Assignment, Space

__all__ = ["Assignment", "Space"]
