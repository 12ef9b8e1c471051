"""``Supernet``: the ``torch.nn.Module`` that ``archlang.supernet`` returns.

    net = archlang.supernet("specs/spaces/nasbench201.arch", method="darts", C=16, N=5)
    net(x)                              # the method's forward: mixed (DARTS), sampled (GDAS,
                                        # SPOS), gated (ProxylessNAS)
    net.arch_parameters()               # one vector per decision (or DARTS edge); [] for SPOS
    net.weight_parameters()             # everything else (disjoint)
    net.set_path(a); net(x)             # exactly architecture a of the space
    net.set_path(None)                  # back to the method's forward
    a = net.derive()                    # the method's discrete architecture, an Assignment
    sd = net.subnet_state_dict(a)       # loads strictly into to_torch(space.fix_model(a))

``method`` (``net.method``) holds the method's hyperparameters and its training step
(``archlang.oneshot.methods``).  Imports torch; the backend only through the compiled modules.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from archlang.backends.torch import build_module
from archlang.nas import Assignment
from archlang.nas.fixing import environment
from archlang.oneshot import subnet
from archlang.oneshot.arch import ArchParameters
from archlang.oneshot.compile import Compiler
from archlang.oneshot.selection import Forward, Path


class Supernet(nn.Module):
    """A space compiled for a one-shot method: every architecture of the space shares its weights."""

    def __init__(self, space, method, seed: int | None = None) -> None:
        super().__init__()
        self.space = space
        self.method = method
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            compiler = Compiler(space, method.compile_options())
            self.net = compiler.compile()
            # after every weight, as DARTS creates its alphas: a seed gives the same weights
            arities = {key: len(info.options) for key, info in compiler.keys.items()} if method.relaxed else {}
            betas = sorted({key for group in compiler.groups for key in group}) if method.edge_normalisation else ()
            self.arch = ArchParameters(arities, tuple(k for k in betas if k in arities), std=method.init_std)
        self.keys = compiler.keys
        self.edge_nodes = compiler.edge_nodes
        self.groups = compiler.groups
        self.sizes = compiler.sizes
        self._path: Assignment | None = None
        method.bind(self)

    # ---- forward
    def forward(self, *inputs):
        return self.net(*inputs, ctx=self.forward_pass())

    def forward_pass(self) -> Forward:
        """The selections of one forward pass: the set path, a path the method samples (SPOS),
        or the method's own selections."""
        path = self._path if self._path is not None else self.method.sample_path(self)
        if path is not None:
            return self.path_pass(path.values)
        return Forward(lambda key: self.method.selection(self, key), self.sizes,
                       edge_weights=lambda keys: self.method.edge_weights(self, keys))

    def path_pass(self, values: dict) -> Forward:
        decisions = self.space.tree.by_label

        def choose(key: str):
            return Path(decisions[key].index(values[key]))

        return Forward(choose, self.sizes, values=values)

    # ---- parameters
    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (alphas, and PC-DARTS' edge weights); empty for SPOS."""
        return list(self.arch.alphas) + list(self.arch.betas)

    def named_weight_parameters(self) -> list[tuple[str, nn.Parameter]]:
        arch = {id(p) for p in self.arch_parameters()}
        return [(name, p) for name, p in self.named_parameters() if id(p) not in arch]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not an architecture parameter."""
        return [p for _, p in self.named_weight_parameters()]

    # ---- single paths
    def assignment(self, assignment) -> Assignment:
        """``assignment`` (an Assignment, or a dict of decision values) checked against the space."""
        if isinstance(assignment, dict):
            assignment = Assignment(dict(assignment), self.space.hash)
        return self.space.check(assignment)

    def set_path(self, assignment) -> None:
        """Compute exactly ``assignment`` from now on; ``None``: back to the method's forward."""
        self._path = None if assignment is None else self.assignment(assignment)

    @property
    def path(self) -> Assignment | None:
        return self._path

    @contextlib.contextmanager
    def fixed(self, assignment):
        """``with net.fixed(a): …``: the path ``a`` inside the block, the previous one after."""
        previous = self._path
        self.set_path(assignment)
        try:
            yield self
        finally:
            self._path = previous

    def derive(self) -> Assignment:
        """The method's discrete architecture (argmax per decision; DARTS' rule in DARTS cells)."""
        return self.method.derive(self)

    def subnet_state_dict(self, assignment) -> dict[str, torch.Tensor]:
        """The weights ``assignment`` inherits: a state dict (copies) that loads with
        ``strict=True`` into ``archlang.to_torch(space.fix_model(assignment))``."""
        assignment = self.assignment(assignment)
        env = environment(self.space.tree.by_label, assignment.values)
        return subnet.state_dict(self.net, assignment.values, env, self.space.tree.by_label)

    def fixed_model(self, assignment):
        """The ir.Model of ``assignment`` (``space.fix_model``)."""
        return self.space.fix_model(self.assignment(assignment))

    def subnet(self, assignment) -> nn.Module:
        """``assignment`` as an ordinary module of the torch backend, with the inherited weights."""
        assignment = self.assignment(assignment)
        module = build_module(self.space.fix_model(assignment))
        module.load_state_dict(self.subnet_state_dict(assignment), strict=True)
        return module.to(next(self.parameters()).device)

    def extra_repr(self) -> str:
        return f"space={self.space.name}, method={self.method.name}"
