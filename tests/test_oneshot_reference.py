"""archlang's DARTS and PC-DARTS supernets against the reference implementations
(benchmarks/reference/, rebuilt from the papers' public code).

Compiled from specs/spaces/darts.arch, the DARTS supernet has the reference's structure: the
same parameter count (1,930,618 weights at C=16, 8 cells; 2 × 14 × 8 architecture entries),
and with the reference's weights and alphas copied in it computes the same function — same
logits and the same gradients for weights and alphas — and derives the same genotype.
PC-DARTS computes the reference's function too once the reference's C/K-channel candidates
are copied into the leading slices of archlang's full-width ones.  Small configurations
(C=4 or 8, 3–5 cells, batch 2 of 8×8 or 16×16) keep it fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _oneshot import one_thread, relative_error  # noqa: E402

import archlang  # noqa: E402
from benchmarks.reference import darts, measure, pcdarts  # noqa: E402

SPEC = Path(__file__).resolve().parent.parent / "specs" / "spaces" / "darts.arch"
ORIGINAL_DARTS_SEARCH_WEIGHTS = 1_930_618  # as tests/test_reference_darts.py records it


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with one_thread():
        yield


def test_darts_supernet_has_the_reference_parameter_count():
    net = archlang.supernet(SPEC, method="darts", seed=0)
    counts = measure.count_parameters(net)
    assert counts.weights == ORIGINAL_DARTS_SEARCH_WEIGHTS
    assert counts.arch == 2 * 14 * 8
    reference = measure.count_parameters(darts.Network(16, 10, 8))
    assert counts == reference


def test_arch_and_weight_parameters_are_disjoint_and_cover_everything():
    net = archlang.supernet(SPEC, method="pcdarts", seed=0, C=4, layers=3)
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert arch and weights and not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}


# ---- the same function --------------------------------------------------------------------------

def _edges(cell_index: int, net):
    """(node, input, archlang's mixed edge) for every edge of a cell, in the reference's row order."""
    cell = net.net.cells._modules[str(cell_index)]
    found = []
    for node in range(2, 6):
        module = getattr(cell, f"node{node}")
        for j in range(node):
            if node == 2:
                edge = getattr(module, "a" if j == 0 else "b")
            else:
                edge = module.edges[str(j)]
            found.append((node, j, edge))
    return found


def _copy_state(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Copy tensors in registration order, checking that the shapes agree (or, for PC-DARTS,
    into the leading slice of a larger tensor)."""
    src = list(source.state_dict().values())
    dst = list(target.state_dict().values())
    assert len(src) == len(dst), (source, target)
    with torch.no_grad():
        for s, d in zip(src, dst):
            region = tuple(slice(0, n) for n in s.shape)
            assert all(a <= b for a, b in zip(s.shape, d.shape)), (s.shape, d.shape)
            d[region].copy_(s)


def _transplant(reference, net, kind: str = "darts") -> None:
    """The reference's weights and alphas (and PC-DARTS betas) into archlang's supernet."""
    _copy_state(reference.stem, net.net.stem)
    _copy_state(reference.classifier, net.net.classifier)
    primitives = darts.PRIMITIVES
    for i, ref_cell in enumerate(reference.cells):
        cell = net.net.cells._modules[str(i)]
        _copy_state(ref_cell.preprocess0, cell.preprocess0)
        _copy_state(ref_cell.preprocess1, cell.preprocess1)
        for e, (node, j, edge) in enumerate(_edges(i, net)):
            ref_edge = ref_cell.edges[e]
            candidates = ref_edge.mixed.candidates if kind == "pcdarts" else ref_edge.candidates
            for k, name in enumerate(primitives):
                if name == "none":
                    continue
                _copy_state(candidates[k], edge.candidate(k - 1))
    order = [primitives.index(p) for p in primitives if p != "none"] + [primitives.index("none")]
    for reduction, alphas, betas in ((False, reference.alphas_normal, getattr(reference, "betas_normal", None)),
                                     (True, reference.alphas_reduce, getattr(reference, "betas_reduce", None))):
        cell = next(i for i, c in enumerate(reference.cells) if c.reduction == reduction)
        with torch.no_grad():
            for e, (node, j, edge) in enumerate(_edges(cell, net)):
                net.arch.alpha(edge.key).copy_(alphas[e, order])
                if betas is not None:
                    net.arch.beta(edge.key).copy_(betas[e])


def _batch(seed: int, size: int = 16):
    return measure.cifar_batch(batch_size=2, image_size=size, num_classes=10, seed=seed)


@pytest.mark.parametrize("kind", ["darts", "pcdarts"])
def test_supernet_computes_the_reference_function(kind):
    torch.manual_seed(0)
    if kind == "darts":
        reference = darts.Network(C=8, num_classes=10, layers=5)
        net = archlang.supernet(SPEC, method="darts", seed=0, C=8, layers=5)
    else:
        reference = pcdarts.PCDartsNetwork(C=8, num_classes=10, layers=5, k=4)
        net = archlang.supernet(SPEC, method="pcdarts", seed=0, C=8, layers=5)
    with torch.no_grad():
        for p in reference.arch_parameters():
            p.normal_()  # far from uniform, so the weights matter
    _transplant(reference, net, kind)
    reference.train(), net.train()
    inputs, targets = _batch(1)
    ours, theirs = net(inputs), reference(inputs)
    assert relative_error(ours, theirs) <= 1e-5
    loss_ours = torch.nn.functional.cross_entropy(ours, targets)
    loss_theirs = torch.nn.functional.cross_entropy(theirs, targets)
    loss_ours.backward(), loss_theirs.backward()
    # alpha gradients, permuted back to the reference's rows
    order = [darts.PRIMITIVES.index(p) for p in darts.PRIMITIVES if p != "none"] + [0]
    for reduction, alphas in ((False, reference.alphas_normal), (True, reference.alphas_reduce)):
        cell = next(i for i, c in enumerate(reference.cells) if c.reduction == reduction)
        ours_grad = torch.zeros_like(alphas)
        for e, (node, j, edge) in enumerate(_edges(cell, net)):
            ours_grad[e, order] = net.arch.alpha(edge.key).grad
        assert relative_error(ours_grad, alphas.grad) <= 1e-4
    # weight gradients (relative to their largest entry: float32 sums in another order)
    assert relative_error(net.net.stem[0].weight.grad, reference.stem[0].weight.grad) <= 1e-4
    assert relative_error(net.net.classifier.weight.grad, reference.classifier.weight.grad) <= 1e-4
    sep_conv = _edges(0, net)[3][2].candidate(3)  # node 3's edge from input 1: sep_conv_3x3
    ref_sep_conv = (reference.cells[0].edges[3].mixed.candidates if kind == "pcdarts"
                    else reference.cells[0].edges[3].candidates)[darts.PRIMITIVES.index("sep_conv_3x3")]
    ours_w, theirs_w = sep_conv.op[1].weight.grad, ref_sep_conv[0][1].weight.grad
    assert relative_error(ours_w[:theirs_w.shape[0]], theirs_w) <= 1e-4


def test_derive_gives_the_reference_genotype():
    torch.manual_seed(0)
    reference = darts.Network(C=4, num_classes=10, layers=3)
    net = archlang.supernet(SPEC, method="darts", seed=0, C=4, layers=3)
    primitives = [p for p in darts.PRIMITIVES if p != "none"]
    for trial in range(20):
        with torch.no_grad():
            for p in reference.arch_parameters():
                p.copy_(torch.randn(p.shape) * 2)
        _transplant(reference, net)
        genotype = reference.genotype()
        derived = net.derive().values
        for kind, gene in (("normal", genotype.normal), ("reduce", genotype.reduce)):
            for node in range(2, 6):
                pair = gene[2 * (node - 2): 2 * (node - 1)]
                inputs = sorted(j for _, j in pair)
                op_of = {j: op for op, j in pair}
                if node > 2:
                    options = tuple(range(node))
                    assert derived[f"{kind}.{node}.inputs"] == tuple(options.index(j) for j in inputs), trial
                for place, j in enumerate(inputs):
                    assert primitives[derived[f"{kind}.{node}.op{place}"]] == op_of[j], (trial, kind, node)
