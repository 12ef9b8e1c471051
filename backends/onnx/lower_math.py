"""Lowerings of activations, elementwise math, comparisons and masks, reductions and products.

Each function takes the builder and a ``Call`` and returns the output tensor name.  dtype
promotion follows the IR: every operand is cast to the IR result dtype first (torch's
promotion already decided it).  GELU is the ``Gelu`` op from opset 20 and its exact
decomposition (erf or tanh form) below that.

Imports archlang.ir.types and this package's ``call``; never another backend.
"""

from __future__ import annotations

import math

from archlang.ir.types import FLOAT_DTYPES
from archlang.ops.compare import compared_dtype

from .call import Call, cast, float_scalar, reduce

# ---------------------------------------------------------------------------- activations


def _x(g, c: Call) -> str:
    """The input, cast to the output dtype (sigmoid of an int tensor is float)."""
    return cast(g, c.inputs[0], c.types[0].dtype, c.out.dtype)


def _simple(op_type: str, **attrs):
    def lower(g, c: Call) -> str:
        return g.op(op_type, [_x(g, c)], **attrs)

    lower.__doc__ = f"{op_type}, on x cast to the result dtype"
    return lower


def _relu6(g, c: Call) -> str:
    """Clip(x, 0, 6)."""
    dtype = c.out.dtype
    return g.op("Clip", [_x(g, c), g.scalar(0, dtype), g.scalar(6, dtype)])


def _leaky_relu(g, c: Call) -> str:
    """LeakyRelu(alpha=negative_slope)."""
    return g.op("LeakyRelu", [_x(g, c)], alpha=float(c.attrs["negative_slope"]))


def _elu(g, c: Call) -> str:
    """Elu(alpha)."""
    return g.op("Elu", [_x(g, c)], alpha=float(c.attrs["alpha"]))


def _gelu(g, c: Call) -> str:
    """Gelu from opset 20; below it, its exact decomposition with Erf (or Tanh for approximate="tanh")."""
    x, dtype, approximate = _x(g, c), c.out.dtype, c.attrs["approximate"]
    if g.opset >= 20:
        return g.op("Gelu", [x], approximate=approximate)
    half = float_scalar(g, 0.5, dtype)
    one = float_scalar(g, 1.0, dtype)
    if approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, float_scalar(g, 0.044715, dtype)])])
        t = g.op("Tanh", [g.op("Mul", [inner, float_scalar(g, math.sqrt(2.0 / math.pi), dtype)])])
    else:  # 0.5·x·(1 + erf(x / √2))
        t = g.op("Erf", [g.op("Div", [x, float_scalar(g, math.sqrt(2.0), dtype)])])
    return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [t, one])])


def _silu(g, c: Call) -> str:
    """x · Sigmoid(x)."""
    x = _x(g, c)
    return g.op("Mul", [x, g.op("Sigmoid", [x])])


def _hardsigmoid(g, c: Call) -> str:
    """HardSigmoid(alpha=1/6, beta=0.5)."""
    return g.op("HardSigmoid", [_x(g, c)], alpha=1.0 / 6.0, beta=0.5)


def _softplus(g, c: Call) -> str:
    """Softplus(beta·x) / beta, and x where beta·x > threshold (Greater, Where), as torch computes it."""
    x, dtype = _x(g, c), c.out.dtype
    beta, threshold = c.attrs["beta"], c.attrs["threshold"]
    bx = x if beta == 1.0 else g.op("Mul", [x, float_scalar(g, beta, dtype)])
    soft = g.op("Softplus", [bx])
    if beta != 1.0:
        soft = g.op("Div", [soft, float_scalar(g, beta, dtype)])
    linear = g.op("Greater", [bx, float_scalar(g, threshold, dtype)])
    return g.op("Where", [linear, x, soft])


def _softmax(op_type: str):
    def lower(g, c: Call) -> str:
        return g.op(op_type, [_x(g, c)], axis=c.attrs["dim"])

    lower.__doc__ = f"{op_type}(axis=dim)"
    return lower


ACTIVATIONS = {
    "relu": _simple("Relu"), "relu6": _relu6, "leaky_relu": _leaky_relu, "elu": _elu, "gelu": _gelu,
    "silu": _silu, "mish": _simple("Mish"), "hardswish": _simple("HardSwish"), "hardsigmoid": _hardsigmoid,
    "sigmoid": _simple("Sigmoid"), "tanh": _simple("Tanh"), "softplus": _softplus,
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
}
LAYER_NAMES = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "GELU": "gelu", "SiLU": "silu",
    "Mish": "mish", "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Softplus": "softplus", "Softmax": "softmax", "LogSoftmax": "log_softmax",
}

# ---------------------------------------------------------------------------- elementwise


def _operands(g, c: Call) -> list[str]:
    return [cast(g, x, t.dtype, c.out.dtype) for x, t in zip(c.inputs, c.types)]


def _binary(op_type: str):
    def lower(g, c: Call) -> str:
        return g.op(op_type, _operands(g, c))

    lower.__doc__ = f"{op_type}, operands cast to the result dtype"
    return lower


def _add_sub(op_type: str):
    def lower(g, c: Call) -> str:
        a, b = _operands(g, c)
        alpha = c.attrs.get("alpha", 1)
        if alpha != 1:
            b = g.op("Mul", [b, g.scalar(alpha, c.out.dtype)])
        return g.op(op_type, [a, b])

    lower.__doc__ = f"{op_type}, operands cast to the result dtype (b multiplied by alpha first when alpha != 1)"
    return lower


def _div(g, c: Call) -> str:
    """Div; a rounding mode adds Floor, or Ceil/Floor by sign for trunc (floats), or a Mod correction for integer floor."""
    a, b = _operands(g, c)
    mode, dtype = c.attrs.get("rounding_mode"), c.out.dtype
    if mode is None:
        return g.op("Div", [a, b])
    if dtype in FLOAT_DTYPES:
        q = g.op("Div", [a, b])
        if mode == "floor":
            return g.op("Floor", [q])
        negative = g.op("Less", [q, g.scalar(0, dtype)])
        return g.op("Where", [negative, g.op("Ceil", [q]), g.op("Floor", [q])])
    if mode == "trunc":
        return g.op("Div", [a, b])  # integer Div truncates toward zero
    rest = g.op("Mod", [a, b], fmod=0)  # floor division: (a - a mod b) / b, Python's sign rule
    return g.op("Div", [g.op("Sub", [a, rest]), b])


def _where(g, c: Call) -> str:
    """Where, the condition cast to bool and the operands to the result dtype."""
    cond = cast(g, c.inputs[0], c.types[0].dtype, "bool")
    a, b = (cast(g, x, t.dtype, c.out.dtype) for x, t in zip(c.inputs[1:], c.types[1:]))
    return g.op("Where", [cond, a, b])


def _unary(op_type: str):
    def lower(g, c: Call) -> str:
        return g.op(op_type, [_x(g, c)])

    lower.__doc__ = f"{op_type}, on x cast to the result dtype"
    return lower


def _rsqrt(g, c: Call) -> str:
    """Reciprocal(Sqrt(x))."""
    return g.op("Reciprocal", [g.op("Sqrt", [_x(g, c)])])


def _square(g, c: Call) -> str:
    """Mul(x, x)."""
    x = _x(g, c)
    return g.op("Mul", [x, x])


# ---------------------------------------------------------------------------- comparisons and masks


def _compare(op_type: str, negate: bool = False):
    def lower(g, c: Call) -> str:
        dtype = compared_dtype(c.types)
        if dtype == "bool" and op_type != "Equal":  # ONNX orders numbers, not booleans
            dtype = "int32"
        a, b = (cast(g, x, t.dtype, dtype) for x, t in zip(c.inputs, c.types))
        y = g.op(op_type, [a, b])
        return g.op("Not", [y]) if negate else y

    lower.__doc__ = f"{'Not(' if negate else ''}{op_type}{')' if negate else ''} in the promoted dtype"
    return lower


def _logical(op_type: str):
    def lower(g, c: Call) -> str:
        return g.op(op_type, [cast(g, x, t.dtype, "bool") for x, t in zip(c.inputs, c.types)])

    lower.__doc__ = f"{op_type} of the operands cast to bool (nonzero is true)"
    return lower


def _masked_fill(g, c: Call) -> str:
    """Where(mask, value, x)."""
    x, mask = c.inputs
    return g.op("Where", [mask, g.scalar(c.attrs["value"], c.out.dtype), x])


COMPARISONS = {
    "eq": _compare("Equal"), "not_equal": _compare("Equal", negate=True), "less": _compare("Less"),
    "less_equal": _compare("LessOrEqual"), "greater": _compare("Greater"), "greater_equal": _compare("GreaterOrEqual"),
    "logical_and": _logical("And"), "logical_or": _logical("Or"), "logical_not": _logical("Not"),
    "masked_fill": _masked_fill,
}

ELEMENTWISE = {
    "add": _add_sub("Add"), "sub": _add_sub("Sub"), "mul": _binary("Mul"), "div": _div,
    "pow": _binary("Pow"), "maximum": _binary("Max"), "minimum": _binary("Min"), "where": _where,
    "exp": _unary("Exp"), "log": _unary("Log"), "sqrt": _unary("Sqrt"), "rsqrt": _rsqrt,
    "sin": _unary("Sin"), "cos": _unary("Cos"), "erf": _unary("Erf"), "reciprocal": _unary("Reciprocal"),
    "neg": _unary("Neg"), "abs": _unary("Abs"), "square": _square,
}

# ---------------------------------------------------------------------------- reductions


def _reduction(op_type: str):
    def lower(g, c: Call) -> str:
        x, t = c.inputs[0], c.types[0]
        x = cast(g, x, t.dtype, c.out.dtype)
        dim = c.attrs["dim"]
        axes = None if dim is None else [d % max(t.rank, 1) for d in dim]
        if t.rank == 0:
            return g.op("Identity", [x])
        return reduce(g, op_type, x, axes, c.attrs["keepdim"])

    lower.__doc__ = f"{op_type} over dim (axes as an input from opset 18), x cast to the result dtype"
    return lower


REDUCTIONS = {
    "mean": _reduction("ReduceMean"), "sum": _reduction("ReduceSum"),
    "amax": _reduction("ReduceMax"), "amin": _reduction("ReduceMin"),
}

# ---------------------------------------------------------------------------- products


def _matmul(g, c: Call) -> str:
    """MatMul, operands cast to the result dtype."""
    return g.op("MatMul", _operands(g, c))


def _einsum(g, c: Call) -> str:
    """Einsum(equation)."""
    return g.op("Einsum", _operands(g, c), equation=c.attrs["equation"].replace(" ", ""))


PRODUCTS = {"matmul": _matmul, "mm": _matmul, "bmm": _matmul, "einsum": _einsum}


def lowerings() -> dict:
    table = {**ACTIVATIONS, **ELEMENTWISE, **COMPARISONS, **REDUCTIONS, **PRODUCTS}
    table.update({layer: ACTIVATIONS[fn] for layer, fn in LAYER_NAMES.items()})
    return table
