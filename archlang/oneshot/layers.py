"""The decision-free layers of a supernet, as the torch backend builds them, with two search
variants substituted through the backend's ``make_layer`` hook:

* ``SearchBatchNorm*``: DARTS' batch norms inside cells are built with ``affine=False``; the
  fixed architecture's affine batch norm computes the same with weight 1 and bias 0, which is
  what ``subnet_state_dict`` gives it (``filled_affine``).
* ``Partial*`` (PC-DARTS): convolutions, batch norms and linear layers that also accept fewer
  channels than they were built for, using the leading slices of their weights (a depthwise
  convolution keeps its channel multiplier).  With the full channel count they are torch's layer.

Everything else is the backend's layer unchanged, so parameter names, shapes, order and
initialisation are torch's.  Imports torch and the torch backend; no other backend.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from archlang.backends.torch.layers import make_layer

_CONVS = {"Conv1d": (nn.Conv1d, F.conv1d), "Conv2d": (nn.Conv2d, F.conv2d), "Conv3d": (nn.Conv3d, F.conv3d)}
_NORMS = {"BatchNorm1d": nn.BatchNorm1d, "BatchNorm2d": nn.BatchNorm2d, "BatchNorm3d": nn.BatchNorm3d}

# Layers a PC-DARTS edge can run on a fraction of its channels.
PARTIAL_LAYERS = frozenset({
    *_CONVS, *_NORMS, "Linear", "Identity", "Zero", "Dropout", "Dropout2d",
    "ReLU", "ReLU6", "SiLU", "GELU", "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh", "ELU", "LeakyReLU", "Mish",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d",
})


def _search_norm(base: type) -> type:
    class SearchBatchNorm(base):
        """A batch norm built with ``affine=False`` for the search; the fixed model's is affine."""

        filled_affine = True

    SearchBatchNorm.__name__ = SearchBatchNorm.__qualname__ = "Search" + base.__name__
    return SearchBatchNorm


SEARCH_NORMS = {op: _search_norm(cls) for op, cls in _NORMS.items()}


def _partial_conv(base: type, conv) -> type:
    class PartialConv(base):
        """A convolution that also runs on its leading input channels (PC-DARTS)."""

        def forward(self, x):
            c = x.shape[1]
            if c == self.in_channels:
                return super().forward(x)
            if self.groups == 1:
                out = self.out_channels * c // self.in_channels
                weight = self.weight[:out, :c]
                groups = 1
            else:  # depthwise: the channel multiplier is kept
                groups = c
                weight = self.weight[:self.out_channels * c // self.in_channels]
            bias = self.bias[:weight.shape[0]] if self.bias is not None else None
            return conv(x, weight, bias, self.stride, self.padding, self.dilation, groups)

    PartialConv.__name__ = PartialConv.__qualname__ = "Partial" + base.__name__
    return PartialConv


def _partial_norm(base: type) -> type:
    class PartialBatchNorm(base):
        """A batch norm that also normalises only its leading channels (PC-DARTS)."""

        def forward(self, x):
            c = x.shape[1]
            if c == self.num_features:
                return super().forward(x)
            factor = 0.0 if self.momentum is None else self.momentum
            if self.training and self.track_running_stats:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked)
            running = self.running_mean is not None
            return F.batch_norm(x, self.running_mean[:c] if running else None, self.running_var[:c] if running else None,
                                self.weight[:c] if self.weight is not None else None,
                                self.bias[:c] if self.bias is not None else None,
                                self.training or not running, factor, self.eps)

    PartialBatchNorm.__name__ = PartialBatchNorm.__qualname__ = "Partial" + base.__name__
    return PartialBatchNorm


class PartialLinear(nn.Linear):
    """A linear layer that also reads only its leading input features (PC-DARTS)."""

    def forward(self, x):
        c = x.shape[-1]
        if c == self.in_features:
            return super().forward(x)
        out = self.out_features * c // self.in_features
        return F.linear(x, self.weight[:out, :c], self.bias[:out] if self.bias is not None else None)


_PARTIAL = {op: _partial_conv(cls, conv) for op, (cls, conv) in _CONVS.items()}
_PARTIAL_NORMS = {op: _partial_norm(cls) for op, cls in _NORMS.items()}
_PARTIAL_SEARCH_NORMS = {op: _partial_norm(cls) for op, cls in SEARCH_NORMS.items()}


def layer_factory(affine: bool = True, partial: bool = False):
    """``make_layer(op, attrs)`` for the backend's builder: batch norms without affine
    parameters when ``affine`` is off (and they had them), layers that accept fewer channels
    when ``partial``."""

    def make(op: str, attrs: dict) -> nn.Module:
        if op in _NORMS and not affine and attrs.get("affine", True):
            cls = (_PARTIAL_SEARCH_NORMS if partial else SEARCH_NORMS)[op]
            return cls(**{**attrs, "affine": False})
        if partial:
            cls = _PARTIAL.get(op) or _PARTIAL_NORMS.get(op) or (PartialLinear if op == "Linear" else None)
            if cls is not None:
                return _rebuilt(make_layer(op, attrs), cls)
        return make_layer(op, attrs)

    return make


def _rebuilt(layer: nn.Module, cls: type) -> nn.Module:
    """``layer`` as an instance of ``cls``, a subclass of its class that only changes forward."""
    layer.__class__ = cls
    return layer
