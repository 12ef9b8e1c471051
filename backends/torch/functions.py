"""Functional ops of the registry as torch callables: ``FUNCTIONS[op](*tensors, **attrs)``.

Attribute names are the registry's (which follow torch's); attributes that hold symbolic
sizes arrive already resolved to ints.  Each entry is a plain function so torch.fx records
one call per IR node and torch.compile inlines it.  Imports only torch and archlang's
registry-side helpers (the rearrange pattern parser); never another backend.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F

DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float64": torch.float64, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool,
}


def _unary(fn):
    return lambda x, **_: fn(x)


def _pool(fn, *names):
    def run(x, **a):
        return fn(x, **{k: a[k] for k in names if k in a})

    return run


def _binary(fn):
    return lambda a, b, **kw: fn(a, b, **kw)


def add(a, b, alpha=1):
    return a + b if alpha == 1 else torch.add(a, b, alpha=alpha)


def sub(a, b, alpha=1):
    return a - b if alpha == 1 else torch.sub(a, b, alpha=alpha)


def div(a, b, rounding_mode=None):
    return a / b if rounding_mode is None else torch.div(a, b, rounding_mode=rounding_mode)


def const(value, dtype="float32"):
    return torch.tensor(value, dtype=DTYPES[dtype])


def arange(start=0, end=None, step=1, dtype="int64", device=None):
    return torch.arange(start, end, step, dtype=DTYPES[dtype], device=device)


def zeros(size, dtype="float32", device=None):
    return torch.zeros(tuple(size), dtype=DTYPES[dtype], device=device)


def ones(size, dtype="float32", device=None):
    return torch.ones(tuple(size), dtype=DTYPES[dtype], device=device)


def cat(*tensors, dim=0):
    return torch.cat(tensors, dim=dim)


def stack(*tensors, dim=0):
    return torch.stack(tensors, dim=dim)


def einsum(*operands, equation):
    return torch.einsum(equation, *operands)


def getitem(x, index):
    if any(isinstance(e, slice) and e.step is not None and e.step < 0 for e in index):
        return _reversed_slices(x, index)
    return x[index]


def _reversed_slices(x, index):
    """torch slices with positive steps only: a negative-step slice is a flip, then the
    mirrored positive slice (``range(n)[s]`` read backwards)."""
    full = _full_index(index, x.dim())
    axis, flipped, mirrored = 0, [], []
    for e in full:
        if isinstance(e, slice) and e.step is not None and e.step < 0:
            n = x.shape[axis]
            start, stop, step = e.indices(n)
            flipped.append(axis)
            e = slice(n - 1 - start, n - 1 - stop, -step)
        mirrored.append(e)
        axis += e is not None
    return x.flip(flipped)[tuple(mirrored)]


def _full_index(index, rank: int) -> tuple:
    """The index with its Ellipsis spelled out as full slices."""
    used = sum(1 for e in index if e is not None and e is not Ellipsis)
    if Ellipsis not in index:
        return tuple(index)
    at = index.index(Ellipsis)
    return tuple(index[:at]) + (slice(None),) * (rank - used) + tuple(index[at + 1:])


def index_tensor(x, index, dim):
    return x[(slice(None),) * dim + (index,)]


def roll(x, shifts, dims=None):
    return torch.roll(x, tuple(shifts), None if dims is None else tuple(dims))


def cumsum(x, dim, dtype=None):
    return torch.cumsum(x, dim, dtype=None if dtype is None else DTYPES[dtype])


def topk(x, k, dim=-1, largest=True, sorted=True):
    return tuple(torch.topk(x, k, dim=dim, largest=largest, sorted=sorted))


def sort(x, dim=-1, descending=False, stable=False):
    return tuple(torch.sort(x, dim=dim, descending=descending, stable=stable))


def item(x, index):
    return x[index]


def reshape(x, shape):
    return x.reshape(tuple(shape))


def view(x, shape):
    return x.view(tuple(shape))


def expand(x, sizes):
    return x.expand(tuple(sizes))


def permute(x, dims):
    return x.permute(tuple(dims))


def reduce(fn):
    def run(x, dim=None, keepdim=False):
        return fn(x) if dim is None else fn(x, dim=dim, keepdim=keepdim)

    return run


def squeeze(x, dim=None):
    return x.squeeze() if dim is None else x.squeeze(dim)


def to(x, dtype):
    return x.to(DTYPES[dtype])


def dropout(x, p=0.5, training=True, inplace=False):
    return F.dropout(x, p=p, training=training, inplace=inplace)


def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    kwargs = {"enable_gqa": True} if enable_gqa else {}
    return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                                          is_causal=is_causal, scale=scale, **kwargs)


def rearrange(x, split, permutation, shape):
    return x.reshape(tuple(split)).permute(tuple(permutation)).reshape(tuple(shape))


def topk_gate(logits, k):
    values, indices = logits.topk(k, dim=-1)
    gates = torch.softmax(values, dim=-1)
    return torch.zeros_like(logits).scatter(-1, indices, gates)


def mix(gates, *experts):
    stacked = torch.stack(experts, dim=-1)
    return (stacked * gates.unsqueeze(-2)).sum(dim=-1)


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Mamba's selective scan (reference recurrence over the length dimension)."""
    if delta_bias is not None:
        delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaBu = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    state = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for i in range(u.shape[2]):
        state = deltaA[:, :, i] * state + deltaBu[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", state, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    if D is not None:
        y = y + u * D[:, None]
    if z is not None:
        y = y * F.silu(z)
    return y


FUNCTIONS = {
    "abs": _unary(torch.abs), "cos": _unary(torch.cos), "sin": _unary(torch.sin),
    "exp": _unary(torch.exp), "log": _unary(torch.log), "sqrt": _unary(torch.sqrt),
    "rsqrt": _unary(torch.rsqrt), "erf": _unary(torch.erf), "neg": _unary(torch.neg),
    "reciprocal": _unary(torch.reciprocal), "square": _unary(torch.square),
    "sigmoid": _unary(torch.sigmoid), "tanh": _unary(torch.tanh),
    "clone": _unary(torch.clone), "contiguous": lambda x: x.contiguous(),
    "relu": lambda x, inplace=False: F.relu(x, inplace=inplace),
    "relu6": lambda x, inplace=False: F.relu6(x, inplace=inplace),
    "silu": lambda x, inplace=False: F.silu(x, inplace=inplace),
    "mish": lambda x, inplace=False: F.mish(x, inplace=inplace),
    "hardswish": lambda x, inplace=False: F.hardswish(x, inplace=inplace),
    "hardsigmoid": lambda x, inplace=False: F.hardsigmoid(x, inplace=inplace),
    "elu": lambda x, alpha=1.0, inplace=False: F.elu(x, alpha=alpha, inplace=inplace),
    "leaky_relu": lambda x, negative_slope=0.01, inplace=False: F.leaky_relu(x, negative_slope, inplace),
    "gelu": lambda x, approximate="none": F.gelu(x, approximate=approximate),
    "softplus": lambda x, beta=1.0, threshold=20.0: F.softplus(x, beta=beta, threshold=threshold),
    "softmax": lambda x, dim=-1: torch.softmax(x, dim=dim),
    "log_softmax": lambda x, dim=-1: torch.log_softmax(x, dim=dim),
    "add": add, "sub": sub, "mul": operator.mul, "div": div, "pow": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "where": torch.where,
    "matmul": torch.matmul, "mm": torch.mm, "bmm": torch.bmm, "einsum": einsum,
    "const": const, "arange": arange, "zeros": zeros, "ones": ones,
    "cat": cat, "stack": stack,
    "split": lambda x, split_size_or_sections, dim=0: torch.split(x, split_size_or_sections, dim=dim),
    "chunk": lambda x, chunks, dim=0: torch.chunk(x, chunks, dim=dim),
    "unbind": lambda x, dim=0: torch.unbind(x, dim=dim),
    "getitem": getitem, "item": item, "reshape": reshape, "view": view, "expand": expand,
    "permute": permute, "transpose": lambda x, dim0, dim1: x.transpose(dim0, dim1),
    "flatten": lambda x, start_dim=0, end_dim=-1: torch.flatten(x, start_dim, end_dim),
    "unsqueeze": lambda x, dim: x.unsqueeze(dim), "squeeze": squeeze,
    "mean": reduce(torch.mean), "sum": reduce(torch.sum),
    "amax": lambda x, dim=(), keepdim=False: torch.amax(x, dim=dim if dim is not None else (), keepdim=keepdim),
    "amin": lambda x, dim=(), keepdim=False: torch.amin(x, dim=dim if dim is not None else (), keepdim=keepdim),
    "to": to, "dropout": dropout, "rearrange": rearrange,
    "scaled_dot_product_attention": sdpa,
    "interpolate": lambda x, **a: F.interpolate(x, **a),
    "max_pool1d": _pool(F.max_pool1d, "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "max_pool2d": _pool(F.max_pool2d, "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "max_pool3d": _pool(F.max_pool3d, "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool1d": _pool(F.avg_pool1d, "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "avg_pool2d": _pool(F.avg_pool2d, "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "avg_pool3d": _pool(F.avg_pool3d, "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive_avg_pool1d": _pool(F.adaptive_avg_pool1d, "output_size"),
    "adaptive_avg_pool2d": _pool(F.adaptive_avg_pool2d, "output_size"),
    "adaptive_avg_pool3d": _pool(F.adaptive_avg_pool3d, "output_size"),
    "adaptive_max_pool1d": _pool(F.adaptive_max_pool1d, "output_size"),
    "adaptive_max_pool2d": _pool(F.adaptive_max_pool2d, "output_size"),
    "adaptive_max_pool3d": _pool(F.adaptive_max_pool3d, "output_size"),
    "topk_gate": topk_gate, "mix": mix, "selective_scan": selective_scan,
    "roll": roll, "flip": lambda x, dims: torch.flip(x, tuple(dims)),
    "tril": lambda x, diagonal=0: torch.tril(x, diagonal), "triu": lambda x, diagonal=0: torch.triu(x, diagonal),
    "cumsum": cumsum,
    "eq": torch.eq, "not_equal": torch.ne, "less": torch.lt, "less_equal": torch.le, "greater": torch.gt,
    "greater_equal": torch.ge,
    "logical_and": torch.logical_and, "logical_or": torch.logical_or, "logical_not": torch.logical_not,
    "masked_fill": lambda x, mask, value: x.masked_fill(mask, value),
    "gather": lambda x, index, dim: torch.gather(x, dim, index),
    "index_select": lambda x, index, dim: torch.index_select(x, dim, index.reshape(-1)),
    "index_tensor": index_tensor, "topk": topk, "sort": sort,
    "argmax": lambda x, dim=None, keepdim=False: torch.argmax(x, dim=dim, keepdim=keepdim),
    "argmin": lambda x, dim=None, keepdim=False: torch.argmin(x, dim=dim, keepdim=keepdim),
}

# Ops whose result needs the device of the tensors around them (they have no tensor input).
MAKES_TENSORS = {"const", "arange", "zeros", "ones"}
