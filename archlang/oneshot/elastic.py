"""Weight-entangled layers: a layer whose sizes are searched holds the parameters of its
largest size only, and computes any size with slices of them.

A ``Conv2d(c, c, k)`` with ``c`` in {16, 24, 32} and ``k`` in {3, 5, 7} is built once as torch
builds ``Conv2d(32, 32, 7)`` (same initialisation); at ``c = 16, k = 3`` it convolves with
``weight[:16, :16, 2:5, 2:5]``: leading channels and features for widths and expansion
ratios, the centre for kernels.  A supernet whose only decisions are sizes therefore has the
parameters of its largest architecture, and the weights of an architecture are these slices.

Under a single path (``Path``, ``Hard``, ``Gated``) the layer computes exactly that size.
Under ``Soft`` (DARTS) it computes every joint option of its sizes, each reading the leading
part of its (largest-size) input, pads each output with zeros to the largest and sums them
with the options' weights.  Convolutions and linear layers do that in one call by mixing their
weights (the sum is linear in the weight), batch norms and embeddings by a channel mask; other
layers compute the options one by one.

Imports torch and the torch backend's layer constructor; must not import another backend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from archlang.backends.torch.layers import make_layer
from archlang.errors import SpaceError
from archlang.ir import Member, dims
from archlang.oneshot.graph import SuperModule

_CONV = {"Conv1d": F.conv1d, "Conv2d": F.conv2d, "Conv3d": F.conv3d}
_BATCHNORM = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")


def resolve(value, env):
    """Attributes with every searched size replaced by its value in ``env``."""
    if isinstance(value, dims.Expr):
        return dims.evaluate(value, env)
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(resolve(v, env) for v in value)
    return value


def labels_of(values, decisions) -> tuple[str, ...]:
    """The decision labels whose symbols (``label`` or ``label#``) occur in ``values``."""
    found: set[str] = set()
    for d in _dims_in(values):
        for name in dims.free_symbols(d):
            label = name[:-1] if name.endswith("#") else name
            if label in decisions:
                found.add(label)
    return tuple(sorted(found))


def _dims_in(value):
    if isinstance(value, dims.Expr):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _dims_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _dims_in(v)


class Elastic(SuperModule):
    """A layer with searched sizes, holding the parameters of its largest size.

    ``largest``: the size environment at which every size of the layer is largest;
    ``overrides``: attributes replaced for the search (``affine=False`` for DARTS' batch norms).
    """

    centred: dict[str, tuple[int, ...]] = {}  # parameter -> axes sliced at the centre (kernels)
    filled_affine = False  # a batch norm built without affine parameters for the search

    def __init__(self, member: Member, labels: tuple[str, ...], largest: dict, overrides: dict | None = None) -> None:
        super().__init__()
        self.op = member.op
        self.attrs = {**member.attrs, **(overrides or {})}
        self.labels = labels
        self.specs = {p.name: p.shape for p in member.params}
        self.largest = dict(largest)
        layer = make_layer(self.op, resolve(self.attrs, largest))
        for name, parameter in layer._parameters.items():  # None entries too (bias=False)
            self.register_parameter(name, parameter)
        for name, buffer in layer._buffers.items():
            self.register_buffer(name, buffer)
        self._masks: dict = {}
        self.filled_affine = bool(overrides and overrides.get("affine") is False and member.attrs.get("affine"))

    # ---- what a path computes
    def forward(self, x, *rest, ctx):
        options, scale = ctx.joint(self.labels)
        if len(options) == 1:
            y = self.at(x, options[0][1], *rest)
            return y if scale is None else y * scale
        return self.mixed(x, options, *rest)

    def at(self, x, env, *rest):
        raise NotImplementedError

    def sliced(self, name: str, env: dict) -> torch.Tensor | None:
        """Parameter or buffer ``name`` at the sizes of ``env``: leading slices, kernels centred."""
        tensor = getattr(self, name)
        if tensor is None or name not in self.specs:
            return tensor
        return tensor[self._index(name, env)]

    def _index(self, name: str, env: dict) -> tuple:
        full = getattr(self, name).shape
        centred = self.centred.get(name, ())
        index = []
        for axis, (size, d) in enumerate(zip(full, self.specs[name])):
            want = dims.evaluate(d, env)
            start = (size - want) // 2 if axis in centred else 0
            index.append(slice(start, start + want))
        return tuple(index)

    def state_at(self, env: dict) -> dict[str, torch.Tensor]:
        """The layer's state dict at the sizes of ``env`` (the fixed architecture's weights)."""
        return {name: self.sliced(name, env) for name in self.specs if getattr(self, name, None) is not None}

    # ---- what a mixture computes
    def mixed(self, x, options, *rest):
        """Σ weight · (output at the option, zero-padded to the largest), one option at a time."""
        outputs = [(weight, self.at(x, env, *rest)) for weight, env in options]
        return pad_and_sum(outputs)

    def mask(self, name: str, options, like: torch.Tensor) -> torch.Tensor:
        """Σ weight · (1 on the option's slice of parameter ``name``): mixing by masking."""
        total = None
        for weight, env in options:
            key = (name, tuple(sorted(env.items())), like.device, like.dtype)
            region = self._masks.get(key)
            if region is None:
                region = torch.zeros_like(like)
                region[self._index(name, env)] = 1
                self._masks[key] = region
            term = region * weight
            total = term if total is None else total + term
        return total


def pad_and_sum(outputs) -> torch.Tensor:
    """Σ weight · output, each output zero-padded at the end of every axis to the largest."""
    shape = [max(sizes) for sizes in zip(*(y.shape for _, y in outputs))]
    total = None
    for weight, y in outputs:
        pads = []
        for have, want in zip(reversed(y.shape), reversed(shape)):
            pads += [0, want - have]
        if any(pads):
            y = F.pad(y, pads)
        term = y * weight
        total = term if total is None else total + term
    return total


def _lead(x: torch.Tensor, axis: int, size: int) -> torch.Tensor:
    """The leading ``size`` entries of ``x`` along ``axis`` (the input an option reads)."""
    if x.shape[axis] <= size:
        return x
    return x.narrow(axis, 0, size)


class ElasticConv(Elastic):
    centred = {"weight": (2, 3, 4)}

    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        x = _lead(x, 1, a["in_channels"])
        conv = _CONV[self.op]
        return conv(x, self.sliced("weight", env), self.sliced("bias", env), a["stride"], a["padding"],
                    a["dilation"], a["groups"])

    def mixed(self, x, options, *rest):
        if not self._mixable(options):
            return super().mixed(x, options, *rest)
        a = resolve(self.attrs, self.largest)
        weight = self.weight * self.mask("weight", options, self.weight)
        bias = self.bias * self.mask("bias", options, self.bias) if self.bias is not None else None
        return _CONV[self.op](_lead(x, 1, a["in_channels"]), weight, bias, a["stride"], a["padding"],
                              a["dilation"], a["groups"])

    def _mixable(self, options) -> bool:
        """Whether Σ weight · conv_option equals one convolution with the mixed weight: same
        stride and dilation, kernels centred at the same place, and either no groups or a
        depthwise convolution at every option."""
        top = resolve(self.attrs, self.largest)
        if isinstance(top["padding"], str):
            return False
        for _, env in options:
            a = resolve(self.attrs, env)
            if a["stride"] != top["stride"] or a["dilation"] != top["dilation"]:
                return False
            depthwise = a["groups"] == a["in_channels"] == a["out_channels"]
            if a["groups"] != 1 and not (depthwise and top["groups"] == top["in_channels"] == top["out_channels"]):
                return False
            for k, k_top, p, p_top, d in zip(a["kernel_size"], top["kernel_size"], a["padding"], top["padding"],
                                             a["dilation"]):
                if (k_top - k) % 2 or p + d * (k_top - k) // 2 != p_top:
                    return False
        return True


class ElasticLinear(Elastic):
    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        return F.linear(_lead(x, x.dim() - 1, a["in_features"]), self.sliced("weight", env), self.sliced("bias", env))

    def mixed(self, x, options, *rest):
        weight = self.weight * self.mask("weight", options, self.weight)
        bias = self.bias * self.mask("bias", options, self.bias) if self.bias is not None else None
        return F.linear(x, weight, bias)


class ElasticBatchNorm(Elastic):
    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        return self._norm(_lead(x, 1, a["num_features"]), env, a)

    def _norm(self, x, env, a):
        factor = 0.0 if a["momentum"] is None else a["momentum"]
        if self.training and a["track_running_stats"]:
            self.num_batches_tracked.add_(1)
            if a["momentum"] is None:  # cumulative moving average, as torch's BatchNorm
                factor = 1.0 / float(self.num_batches_tracked)
        training = self.training or self.running_mean is None
        return F.batch_norm(x, self.sliced("running_mean", env), self.sliced("running_var", env),
                            self.sliced("weight", env), self.sliced("bias", env), training, factor, a["eps"])

    def mixed(self, x, options, *rest):
        # per channel, so the options agree on the channels they share: one norm, then a mask
        a = resolve(self.attrs, self.largest)
        y = self._norm(x, self.largest, a)
        mask = self.mask("running_mean", options, self.running_mean) if self.running_mean is not None else None
        if mask is None:
            return super().mixed(x, options, *rest)
        return y * mask.reshape(1, -1, *([1] * (y.dim() - 2)))


class ElasticLayerNorm(Elastic):
    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        shape = tuple(a["normalized_shape"])
        for axis, size in zip(range(x.dim() - len(shape), x.dim()), shape):
            x = _lead(x, axis, size)
        if self.op == "RMSNorm":
            return F.rms_norm(x, shape, self.sliced("weight", env), a["eps"])
        return F.layer_norm(x, shape, self.sliced("weight", env), self.sliced("bias", env), a["eps"])


class ElasticGroupNorm(Elastic):
    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        x = _lead(x, 1, a["num_channels"])
        return F.group_norm(x, a["num_groups"], self.sliced("weight", env), self.sliced("bias", env), a["eps"])


class ElasticEmbedding(Elastic):
    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        return F.embedding(x, self.sliced("weight", env), a.get("padding_idx"), a.get("max_norm"),
                           a.get("norm_type", 2.0), a.get("scale_grad_by_freq", False), a.get("sparse", False))

    def mixed(self, x, options, *rest):
        y = self.at(x, self.largest)
        mask = self.mask("weight", options, self.weight)[0]
        return y * mask


class ElasticStateless(Elastic):
    """A layer without parameters whose attributes are searched (a pooling kernel): torch's
    layer made for each joint option, kept by its attributes."""

    def __init__(self, member: Member, labels, largest: dict, overrides: dict | None = None) -> None:
        super().__init__(member, labels, largest, overrides)
        self._layers: dict = {}

    def at(self, x, env, *rest):
        a = resolve(self.attrs, env)
        key = repr(sorted(a.items()))
        layer = self._layers.get(key)
        if layer is None:
            layer = self._layers[key] = make_layer(self.op, a)
            layer.train(self.training)
        layer.training = self.training
        return layer(x, *rest)


_ELASTIC = {
    **{op: ElasticConv for op in _CONV}, "Linear": ElasticLinear,
    **{op: ElasticBatchNorm for op in _BATCHNORM},
    "LayerNorm": ElasticLayerNorm, "RMSNorm": ElasticLayerNorm, "GroupNorm": ElasticGroupNorm,
    "Embedding": ElasticEmbedding,
}


def make_elastic(member: Member, labels: tuple[str, ...], largest: dict, overrides: dict | None = None) -> Elastic:
    """The weight-entangled module of a layer member whose attributes hold searched sizes."""
    cls = _ELASTIC.get(member.op)
    if cls is None and not member.params:
        cls = ElasticStateless
    if cls is None:
        names = ", ".join(sorted(_ELASTIC))
        raise SpaceError(f"a supernet cannot search the size of {member.op} (searched sizes are supported for "
                         f"{names} and layers without parameters)", member.span)
    if member.op in _CONV and member.attrs.get("padding_mode", "zeros") != "zeros":
        raise SpaceError(f"a supernet cannot search the size of a {member.op} with padding_mode="
                         f"'{member.attrs['padding_mode']}'", member.span)
    return cls(member, labels, largest, overrides)
