"""How many bytes a model's parameters and buffers take, and whether this process can
allocate them: ``check_fits(model, what)`` raises a located ``LimitError`` giving the size in
bytes *before* a backend allocates anything (``Linear(1000000, 100000)`` is 400 GB: a clear
error, not a torch RuntimeError or the kernel's OOM killer).

``weight_bytes`` counts every parameter and buffer once per member instance (tied parameters
twice: an upper bound), memoised per shared graph, so it is linear in the shared IR.  What the
process may allocate is the smallest of the memory the system reports available
(``MemAvailable``) and the room left under the address-space limit (``ulimit -v`` /
``prlimit --as``); where neither is known (not Linux), nothing is refused.

Imports archlang.errors and this package only.
"""

from __future__ import annotations

import os

from archlang.errors import LimitError
from archlang.ir import dims
from archlang.ir.graph import Graph, Member, Model

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4, "bool": 1}


def weight_bytes(model: Model) -> int:
    """Bytes of the concrete model's parameters and buffers."""
    memo: dict[int, int] = {}
    return _graph_bytes(model.graph, memo)


def _graph_bytes(graph: Graph, memo: dict) -> int:
    found = memo.get(id(graph))
    if found is None:
        found = memo[id(graph)] = sum(_member_bytes(member, memo) for _, member in graph.members)
    return found


def _member_bytes(member: Member, memo: dict) -> int:
    if member.kind == "layer":
        return sum(_size(p.numel()) * DTYPE_BYTES.get(p.dtype, 8) for p in member.params)
    if member.kind == "block" and member.graph is not None:
        return _graph_bytes(member.graph, memo)
    counts = [_member_bytes(m, memo) for _, m in member.members]
    return max(counts, default=0) if member.kind == "choice" else sum(counts)


def _size(numel) -> int:
    if isinstance(numel, int):
        return numel
    try:  # a size left symbolic (a free choice): count its largest option
        return int(dims.bounds(numel)[1])
    except (TypeError, ValueError, OverflowError):
        return 0


def available_bytes() -> int | None:
    """What this process may still allocate, if the system says (Linux), else None."""
    limits = [v for v in (_mem_available(), _address_space_room()) if v is not None]
    return min(limits) if limits else None


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_space_room() -> int | None:
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _virtual_size()
    return max(0, soft - used) if used is not None else soft


def _virtual_size() -> int | None:
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_fits(model: Model, what: str, room: int | None = None) -> int:
    """The model's weight bytes; a LimitError located at the model when they exceed ``room``
    (default: ``available_bytes()``), so ``what`` (e.g. "build as a PyTorch module") is
    refused before anything is allocated."""
    needed = weight_bytes(model)
    room = available_bytes() if room is None else room
    if room is not None and needed > room:
        memo: dict[int, int] = {}
        name, largest = max(((n, _member_bytes(m, memo)) for n, m in model.graph.members), key=lambda x: x[1],
                            default=(None, 0))
        notes = [f"its largest member, {name}, takes {largest:,} bytes ({_human(largest)})"] if name else []
        raise LimitError(
            f"cannot {what}: {model.name}'s parameters and buffers take {needed:,} bytes ({_human(needed)}), "
            f"more than the {room:,} bytes ({_human(room)}) this process can allocate",
            model.graph.span,
            notes + ["make the model smaller (`archlang summary` shows each layer's parameters), or run where "
                     "there is more memory"],
        )
    return needed


def _human(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{count} B"
        value /= 1024
    return f"{count} B"
