"""Shared helpers of the one-shot (supernet) tests: the spaces at test size, random weights,
and the comparison of a supernet path with the fixed architecture's own module."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

import archlang

SPACES_DIR = Path(__file__).resolve().parent.parent / "specs" / "spaces"

# Small versions of the spaces: (file, entry point, parameters, input shape).
SPACES = {
    "nasbench201": ("NASBench201", dict(C=8, N=1), (2, 3, 32, 32)),
    "darts": ("DARTS", dict(C=8, layers=5), (2, 3, 32, 32)),
    "proxylessnas": ("ProxylessNAS", dict(num_classes=10, image_size=16, width_mult=0.25), (2, 3, 16, 16)),
    "hybrid_space": ("HybridNet", dict(num_classes=10, image_size=16), (2, 3, 16, 16)),
    "tiny_cnn": ("TinyCNN", {}, (2, 3, 32, 32)),
    "digits_cnn": ("DigitsCNN", {}, (2, 1, 8, 8)),
    "nasbench101": ("NASBench101", dict(C=8, cells=1), (2, 3, 32, 32)),
    "flexibert": ("FlexiBERT", dict(layers=2, vocab_size=100), (2, 7)),
}


def space(name: str, inputs: dict | None = None, **extra):
    entry, params, _ = SPACES[name]
    return archlang.space(SPACES_DIR / f"{name}.arch", entry, inputs=inputs, **{**params, **extra})


def inputs(name: str, seed: int = 0) -> torch.Tensor:
    shape = SPACES[name][2]
    generator = torch.Generator().manual_seed(seed)
    if name == "flexibert":
        return torch.randint(0, 100, shape, generator=generator)
    return torch.randn(*shape, generator=generator)


def randomize(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights that keep activations of order one: torch's own random initialisation of
    convolutions and linear layers, and every vector parameter and running statistic (norms'
    scales, shifts, means, variances; architecture vectors) drawn at random too, so that equal
    outputs mean equal weights and statistics, not default values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if not tensor.is_floating_point() or tensor.dim() > 1:
                continue
            noise = torch.rand(tensor.shape, generator=generator)
            if name.endswith(("running_var", "weight")):
                tensor.copy_(noise + 0.5)
            else:
                tensor.copy_((noise - 0.5) * 0.4)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def fixed_module(net, assignment, train: bool) -> torch.nn.Module:
    """``to_torch(space.fix_model(a))`` loaded strictly with the supernet's weights for ``a``."""
    module = archlang.to_torch(net.space.fix_model(assignment))
    module.load_state_dict(net.subnet_state_dict(assignment), strict=True)
    return module.train(train)


@contextlib.contextmanager
def one_thread():
    """Small convolutions on a shared machine: one thread is faster and its CPU time steady."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
