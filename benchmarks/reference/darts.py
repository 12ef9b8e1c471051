"""DARTS: the CIFAR-10 search network, its genotype rule and its bilevel Architect.

Rebuilt in plain PyTorch from Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search"
(ICLR 2019) and its public code, github.com/quark0/darts, folder ``cnn/``:

* ``operations.py``   -> the candidate operations (``ReLUConvBN``, ``DilConv``, ``SepConv``,
                         ``FactorizedReduce``, ``Zero``, ``Identity``, ``make_op``);
* ``genotypes.py``    -> ``PRIMITIVES`` and ``Genotype``;
* ``model_search.py`` -> ``MixedOp``, ``SearchCell``, ``Network`` and ``parse_cell`` (the genotype rule);
* ``architect.py``    -> ``Architect`` (first-order and second-order/unrolled alpha updates);
* ``train_search.py`` -> ``make_weight_optimizer``, ``weight_step`` and ``search_step`` (one
                         iteration of the search loop) and the hyper-parameter defaults below.

The module layout, parameter names and state-dict keys are our own, but every module is built in
the same order as in the original, so for the same ``torch.manual_seed`` the weights and alphas
are initialised to the same values (checked once against the original; see README.md).

Nothing here imports archlang: this is the independent baseline the compiled supernets are
benchmarked against.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

# ---------------------------------------------------------------------------------------------
# Search-space vocabulary (cnn/genotypes.py)
# ---------------------------------------------------------------------------------------------

#: The eight candidate operations of the DARTS CIFAR space, in the original's order. The order
#: matters: it is the column order of the alpha matrices and decides ties in the genotype rule.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

#: A discrete cell pair: ``normal``/``reduce`` are lists of ``(op_name, input_index)``, two per
#: intermediate node; the ``*_concat`` lists name the nodes concatenated into the cell output.
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

# ---------------------------------------------------------------------------------------------
# Default hyper-parameters, as in cnn/train_search.py (argparse defaults) and the paper, §3.1.1
# ---------------------------------------------------------------------------------------------

#: Initial channels C, number of cells and classes of the CIFAR-10 search network.
INIT_CHANNELS, LAYERS, NUM_CLASSES = 16, 8, 10
#: Network weights w: SGD, lr 0.025 (cosine-annealed to 0.001 over 50 epochs), momentum 0.9,
#: weight decay 3e-4, gradient-norm clipping at 5 (train_search.py --learning_rate,
#: --learning_rate_min, --momentum, --weight_decay, --grad_clip).
WEIGHT_LR, WEIGHT_LR_MIN, WEIGHT_MOMENTUM, WEIGHT_DECAY, GRAD_CLIP = 0.025, 0.001, 0.9, 3e-4, 5.0
#: Architecture parameters alpha: Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3
#: (train_search.py --arch_learning_rate, --arch_weight_decay; betas hard-coded in architect.py).
ARCH_LR, ARCH_BETAS, ARCH_WEIGHT_DECAY = 3e-4, (0.5, 0.999), 1e-3
#: Finite-difference radius of the Hessian-vector product: eps = 0.01 / ||dw'|| (paper, eq. 8;
#: architect.py ``_hessian_vector_product(r=1e-2)``).
HVP_RADIUS = 0.01

# ---------------------------------------------------------------------------------------------
# Candidate operations (cnn/operations.py)
# ---------------------------------------------------------------------------------------------


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BN: the cell-input preprocessing of DARTS."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU -> depthwise (optionally dilated) conv -> pointwise conv -> BN.

    With ``dilation=1`` this is one half of ``SepConv``.
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable blocks; only the first one may be strided.

    DARTS' "sep_conv" applies the separable convolution twice (as in NASNet/AmoebaNet), which is
    why a sep_conv edge holds twice the weights of a dil_conv edge of the same kernel size.
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__(
            DilConv(C_in, C_in, kernel_size, stride, padding, dilation=1, affine=affine),
            DilConv(C_in, C_out, kernel_size, 1, padding, dilation=1, affine=affine),
        )


class Identity(nn.Module):
    """skip_connect on a stride-1 edge."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: a zero tensor of the edge's output shape.

    Computed as ``x * 0`` like the original (rather than ``torch.zeros``), so NaNs/infs in the
    input propagate identically.
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel.

    Two stride-2 1x1 convs, the second on the input shifted by one pixel, each producing half of
    the output channels; used for strided skip_connect and to reshape the cell input that comes
    from before a reduction cell.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_even = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_odd = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        out = torch.cat([self.conv_even(x), self.conv_odd(x[:, :, 1:, 1:])], dim=1)
        return self.bn(out)


def _skip_connect(C: int, stride: int, affine: bool) -> nn.Module:
    return Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)


#: Builders ``(C, stride, affine) -> nn.Module`` for every primitive; all preserve the channel count.
OP_BUILDERS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    # count_include_pad=False: border averages ignore the zero padding, as in the original.
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1,
                                                           count_include_pad=False),
    "skip_connect": _skip_connect,
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
}


def make_op(primitive: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """Build one candidate operation with ``C`` channels in and out."""
    return OP_BUILDERS[primitive](C, stride, affine)


# ---------------------------------------------------------------------------------------------
# Continuous relaxation (cnn/model_search.py)
# ---------------------------------------------------------------------------------------------


def make_search_op(primitive: str, C: int, stride: int) -> nn.Module:
    """A candidate operation as it appears inside the search network.

    BN is non-affine everywhere during search: a learnable per-op scale would fight with alpha,
    which is itself the op's scale. Pooling has no BN of its own, so the original appends a
    BN(affine=False) to bring its output to the same statistics as the conv ops'.
    """
    op = make_op(primitive, C, stride, affine=False)
    if "pool" in primitive:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


class MixedOp(nn.Module):
    """One edge of the supernet: the alpha-weighted sum of every candidate operation."""

    def __init__(self, C: int, stride: int, primitives: Sequence[str] = PRIMITIVES) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(make_search_op(p, C, stride) for p in primitives)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.candidates))


#: A factory ``(C, stride) -> edge module``; PC-DARTS swaps in its partial-channel edge here.
EdgeFactory = Callable[[int, int], nn.Module]


def edge_inputs(steps: int) -> list[tuple[int, int]]:
    """``(node, input)`` of every edge, in the row order of the alpha matrices.

    Intermediate node ``i`` (0-based) reads from the two cell inputs and the ``i`` earlier
    intermediate nodes, so it has ``i + 2`` incoming edges; 4 steps give 2+3+4+5 = 14 edges.
    """
    return [(node, j) for node in range(steps) for j in range(node + 2)]


class SearchCell(nn.Module):
    """A DARTS search cell: two preprocessed inputs, ``steps`` intermediate nodes, each the sum
    of its mixed edges, and the last ``multiplier`` nodes concatenated as output.

    In a reduction cell the edges that read the two cell inputs have stride 2.
    """

    def __init__(self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
                 steps: int = 4, multiplier: int = 4, edge_factory: EdgeFactory = MixedOp) -> None:
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.multiplier = multiplier
        # If the previous cell reduced, s0 is at twice the resolution of s1 and must be halved.
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            edge_factory(C, 2 if reduction and j < 2 else 1) for _, j in edge_inputs(steps)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, op_weights: torch.Tensor,
                edge_weights: torch.Tensor | None = None) -> torch.Tensor:
        """``op_weights``: (edges, ops) softmaxed alphas; ``edge_weights``: optional (edges,)
        per-edge scale (PC-DARTS edge normalisation), ``None`` for plain DARTS."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            terms = []
            for j, h in enumerate(states):
                out = self.edges[offset + j](h, op_weights[offset + j])
                terms.append(out if edge_weights is None else edge_weights[offset + j] * out)
            offset += len(states)
            states.append(sum(terms))
        return torch.cat(states[-self.multiplier:], dim=1)


def parse_cell(weights: torch.Tensor, steps: int,
               primitives: Sequence[str] = PRIMITIVES) -> list[tuple[str, int]]:
    """The DARTS discretisation rule for one cell type.

    ``weights`` is the (edges, ops) matrix of op strengths (softmaxed alphas; in PC-DARTS also
    multiplied by the normalised edge weight). For every intermediate node keep the two incoming
    edges whose strongest non-``none`` op is strongest, and on each kept edge the strongest
    non-``none`` op. Ties go to the lower index, as with the original's stable ``sorted`` and
    strict ``>`` comparison.
    """
    rows = weights.detach().cpu().tolist()
    candidates = [k for k, name in enumerate(primitives) if name != "none"]
    gene: list[tuple[str, int]] = []
    start = 0
    for node in range(steps):
        incoming = rows[start:start + node + 2]
        strength = [max(row[k] for k in candidates) for row in incoming]
        strongest_two = sorted(range(len(incoming)), key=lambda j: -strength[j])[:2]
        for j in strongest_two:
            best = max(candidates, key=lambda k: incoming[j][k])  # first maximum wins ties
            gene.append((primitives[best], j))
        start += node + 2
    return gene


class Network(nn.Module):
    """The DARTS CIFAR search network (supernet): stem, ``layers`` search cells, classifier.

    Cells at ``layers // 3`` and ``2 * layers // 3`` are reduction cells that double the
    channels. All normal cells share ``alphas_normal`` and all reduction cells ``alphas_reduce``,
    each of shape (14, 8) for 4 steps, initialised to ``1e-3 * randn`` (near-uniform softmax).

    The alphas are registered as ``nn.Parameter`` (the original kept them as bare tensors) so
    that ``.to()``, ``.double()`` and ``state_dict()`` carry them; ``weight_parameters()`` and
    ``arch_parameters()`` keep the two groups apart for the two optimisers.
    """

    def __init__(self, C: int = INIT_CHANNELS, num_classes: int = NUM_CLASSES, layers: int = LAYERS,
                 steps: int = 4, multiplier: int = 4, stem_multiplier: int = 3,
                 primitives: Sequence[str] = PRIMITIVES, edge_factory: EdgeFactory | None = None) -> None:
        super().__init__()
        self.C, self.num_classes, self.layers = C, num_classes, layers
        self.steps, self.multiplier = steps, multiplier
        self.primitives = tuple(primitives)
        if edge_factory is None:
            def edge_factory(C_edge: int, stride: int) -> nn.Module:
                return MixedOp(C_edge, stride, self.primitives)

        C_stem = stem_multiplier * C
        # The stem BN is the only affine BN of the search network, as in the original.
        self.stem = nn.Sequential(nn.Conv2d(3, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        self.cells, C_out = self._build_cells(C, C_stem, edge_factory)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_out, num_classes)
        # Created after every module, as in the original, so a given seed gives the same weights.
        num_edges, num_ops = len(edge_inputs(steps)), len(self.primitives)
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(num_edges, num_ops))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(num_edges, num_ops))

    def _build_cells(self, C: int, C_stem: int, edge_factory: EdgeFactory) -> tuple[nn.ModuleList, int]:
        """The cells, and the channel count of the last cell's output."""
        cells = nn.ModuleList()
        C_prev_prev, C_prev, C_curr = C_stem, C_stem, C
        reduction_prev = False
        for i in range(self.layers):
            reduction = i in (self.layers // 3, 2 * self.layers // 3)
            if reduction:
                C_curr *= 2
            cells.append(SearchCell(C_prev_prev, C_prev, C_curr, reduction, reduction_prev,
                                    self.steps, self.multiplier, edge_factory))
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, self.multiplier * C_curr
        return cells, C_prev

    # -- architecture / weight parameter groups --------------------------------------------

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce]

    def weight_parameters(self) -> list[nn.Parameter]:
        arch_ids = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch_ids]

    def named_weight_parameters(self) -> list[tuple[str, nn.Parameter]]:
        arch_ids = {id(p) for p in self.arch_parameters()}
        return [(n, p) for n, p in self.named_parameters() if id(p) not in arch_ids]

    # -- forward ----------------------------------------------------------------------------

    def cell_weights(self, reduction: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(op weights, edge weights) fed to a cell; DARTS has no edge weights."""
        alphas = self.alphas_reduce if reduction else self.alphas_normal
        return F.softmax(alphas, dim=-1), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        # Softmax once per cell type per forward (the original recomputed it for every cell,
        # which gives the same values and gradients).
        weights = {False: self.cell_weights(False), True: self.cell_weights(True)}
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, *weights[cell.reduction])
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1))

    # -- discretisation ----------------------------------------------------------------------

    def edge_strengths(self, reduction: bool) -> torch.Tensor:
        """(edges, ops) matrix ranked by the genotype rule: softmaxed alphas in DARTS."""
        alphas = self.alphas_reduce if reduction else self.alphas_normal
        return F.softmax(alphas.detach(), dim=-1)

    def genotype(self) -> Genotype:
        concat = list(range(2 + self.steps - self.multiplier, self.steps + 2))
        return Genotype(
            normal=parse_cell(self.edge_strengths(False), self.steps, self.primitives), normal_concat=concat,
            reduce=parse_cell(self.edge_strengths(True), self.steps, self.primitives), reduce_concat=concat,
        )


# ---------------------------------------------------------------------------------------------
# Bilevel optimisation (cnn/architect.py, cnn/train_search.py)
# ---------------------------------------------------------------------------------------------


def make_weight_optimizer(model: nn.Module, lr: float = WEIGHT_LR, momentum: float = WEIGHT_MOMENTUM,
                          weight_decay: float = WEIGHT_DECAY) -> torch.optim.SGD:
    """SGD over the network weights only, with the DARTS defaults (train_search.py)."""
    return torch.optim.SGD(model.weight_parameters(), lr, momentum=momentum, weight_decay=weight_decay)


class Architect:
    """Updates the architecture parameters on validation data (the upper level of DARTS).

    ``step(..., unrolled=False)`` is first-order DARTS: alpha follows dL_val(w, alpha)/dalpha.
    ``step(..., unrolled=True)`` is second-order DARTS (paper eq. 6-8): alpha follows the
    gradient of L_val(w', alpha) where w' = w - eta * (SGD update direction of L_train), i.e.

        dalpha = d_alpha L_val(w', alpha) - eta * d2_{alpha,w} L_train(w, alpha) . d_w' L_val(w', alpha)

    with the Hessian-vector product replaced by the central difference
    (d_alpha L_train(w+, alpha) - d_alpha L_train(w-, alpha)) / (2 eps), w+- = w +- eps * d_w' L_val,
    eps = 0.01 / ||d_w' L_val||. As in the original, the virtual step w' includes the weight
    optimiser's momentum and weight decay.

    Works with any model exposing ``arch_parameters()`` and ``weight_parameters()`` (or
    ``named_weight_parameters()``), so it can also drive a compiled supernet.

    Defaults: Adam(lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3) on alpha; momentum 0.9 and
    weight decay 3e-4 for the virtual weight step (architect.py / train_search.py defaults).
    """

    def __init__(self, model: nn.Module, criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 weight_momentum: float = WEIGHT_MOMENTUM, weight_decay: float = WEIGHT_DECAY,
                 arch_lr: float = ARCH_LR, arch_betas: tuple[float, float] = ARCH_BETAS,
                 arch_weight_decay: float = ARCH_WEIGHT_DECAY, hvp_radius: float = HVP_RADIUS) -> None:
        self.model = model
        self.criterion = criterion
        self.weight_momentum = weight_momentum
        self.weight_decay = weight_decay
        self.hvp_radius = hvp_radius
        self.optimizer = torch.optim.Adam(model.arch_parameters(), lr=arch_lr, betas=arch_betas,
                                          weight_decay=arch_weight_decay)

    # -- public API --------------------------------------------------------------------------

    def step(self, x_train: torch.Tensor, y_train: torch.Tensor, x_valid: torch.Tensor,
             y_valid: torch.Tensor, eta: float, weight_optimizer: torch.optim.Optimizer | None,
             unrolled: bool) -> None:
        """One Adam step on alpha; ``eta`` is the current weight learning rate (used by the
        virtual step only). Weight values and weight ``.grad`` are left untouched."""
        if unrolled:
            grads = self.unrolled_gradient(x_train, y_train, x_valid, y_valid, eta, weight_optimizer)
        else:
            grads = self.first_order_gradient(x_valid, y_valid)
        for alpha, g in zip(self.model.arch_parameters(), grads):
            alpha.grad = g.detach()
        self.optimizer.step()

    def first_order_gradient(self, x_valid: torch.Tensor, y_valid: torch.Tensor) -> list[torch.Tensor]:
        """d L_val(w, alpha) / d alpha."""
        loss = self.criterion(self.model(x_valid), y_valid)
        return list(torch.autograd.grad(loss, self.model.arch_parameters()))

    def unrolled_gradient(self, x_train: torch.Tensor, y_train: torch.Tensor, x_valid: torch.Tensor,
                          y_valid: torch.Tensor, eta: float,
                          weight_optimizer: torch.optim.Optimizer | None) -> list[torch.Tensor]:
        """The second-order DARTS hypergradient (see the class docstring)."""
        alphas = self.model.arch_parameters()
        virtual_weights = [w.requires_grad_() for w in
                           self._virtual_step(x_train, y_train, eta, weight_optimizer)]
        loss = self.criterion(self._forward_with_weights(virtual_weights, x_valid), y_valid)
        grads = torch.autograd.grad(loss, alphas + virtual_weights)
        d_alpha, d_virtual = grads[:len(alphas)], grads[len(alphas):]
        implicit = self._hessian_vector_product(d_virtual, x_train, y_train)
        return [da - eta * ig for da, ig in zip(d_alpha, implicit)]

    # -- pieces of the second-order update ---------------------------------------------------

    def _named_weights(self) -> list[tuple[str, nn.Parameter]]:
        if hasattr(self.model, "named_weight_parameters"):
            return list(self.model.named_weight_parameters())
        arch_ids = {id(p) for p in self.model.arch_parameters()}
        return [(n, p) for n, p in self.model.named_parameters() if id(p) not in arch_ids]

    def _weights(self) -> list[nn.Parameter]:
        return [p for _, p in self._named_weights()]

    def _virtual_step(self, x_train: torch.Tensor, y_train: torch.Tensor, eta: float,
                      weight_optimizer: torch.optim.Optimizer | None) -> list[torch.Tensor]:
        """w' = w - eta * (momentum * buf + dL_train/dw + weight_decay * w), detached.

        This is exactly the next SGD-with-momentum iterate (PyTorch's SGD convention), with the
        momentum buffer taken from the live weight optimiser; no buffer yet means zero momentum.
        """
        weights = self._weights()
        loss = self.criterion(self.model(x_train), y_train)
        grads = torch.autograd.grad(loss, weights)
        virtual = []
        for w, g in zip(weights, grads):
            buf = weight_optimizer.state.get(w, {}).get("momentum_buffer") if weight_optimizer else None
            momentum = self.weight_momentum * buf if buf is not None else torch.zeros_like(w)
            virtual.append((w - eta * (momentum + g + self.weight_decay * w)).detach())
        return virtual

    def _forward_with_weights(self, weights: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Run the model with ``weights`` substituted for its own (alpha stays the live tensor).

        Replaces the original's copy of the network (``model.new()`` + ``load_state_dict``). The
        buffers are cloned so the BN running statistics of the real model are not updated by the
        virtual forward, matching the original, whose copy was thrown away.
        """
        params = {name: w for (name, _), w in zip(self._named_weights(), weights)}
        buffers = {name: b.clone() for name, b in self.model.named_buffers()}
        return functional_call(self.model, {**params, **buffers}, (x,))

    def _hessian_vector_product(self, vector: Sequence[torch.Tensor], x_train: torch.Tensor,
                                y_train: torch.Tensor) -> list[torch.Tensor]:
        """Central difference of d L_train / d alpha along ``vector`` in weight space.

        The weights are restored from a copy afterwards (the original added and subtracted
        eps * v, which can leave rounding residue in w).
        """
        weights = self._weights()
        alphas = self.model.arch_parameters()
        eps = self.hvp_radius / torch.cat([v.reshape(-1) for v in vector]).norm()
        saved = [w.detach().clone() for w in weights]

        def grad_alpha_at(sign: float) -> tuple[torch.Tensor, ...]:
            with torch.no_grad():
                for w, w0, v in zip(weights, saved, vector):
                    w.copy_(w0 + sign * eps * v)
            loss = self.criterion(self.model(x_train), y_train)
            return torch.autograd.grad(loss, alphas)

        try:
            grads_plus = grad_alpha_at(+1.0)
            grads_minus = grad_alpha_at(-1.0)
        finally:
            with torch.no_grad():
                for w, w0 in zip(weights, saved):
                    w.copy_(w0)
        return [(gp - gm) / (2 * eps) for gp, gm in zip(grads_plus, grads_minus)]


def weight_step(model: nn.Module, criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                grad_clip: float | None = GRAD_CLIP) -> torch.Tensor:
    """One SGD step on the weights on a training batch, with gradient clipping on the weights only.

    Gradients are computed for the weights only (the original's ``loss.backward()`` also
    accumulated alpha gradients that the Architect then zeroed; the result is the same).
    """
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    weights = model.weight_parameters()
    loss.backward(inputs=weights)
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(weights, grad_clip)
    optimizer.step()
    return loss.detach()


def search_step(model: nn.Module, architect: Architect, weight_optimizer: torch.optim.Optimizer,
                train_batch: tuple[torch.Tensor, torch.Tensor],
                valid_batch: tuple[torch.Tensor, torch.Tensor], eta: float, unrolled: bool = False,
                update_arch: bool = True, grad_clip: float | None = GRAD_CLIP) -> torch.Tensor:
    """One iteration of the DARTS search loop (train_search.py ``train``): an alpha step on the
    validation batch, then a weight step on the training batch. Returns the training loss."""
    model.train()
    x_train, y_train = train_batch
    x_valid, y_valid = valid_batch
    if update_arch:
        architect.step(x_train, y_train, x_valid, y_valid, eta, weight_optimizer, unrolled)
    return weight_step(model, architect.criterion, weight_optimizer, x_train, y_train, grad_clip)
