"""The plain-PyTorch DARTS / PC-DARTS reference implementations (benchmarks/reference/).

They are the baseline archlang's compiled supernets will be benchmarked against, so these
tests pin them to the original code: parameter counts recorded from the original model_search.py,
the genotype rule on hand-set alphas, the architect's first- and second-order updates (the
latter against a brute-force finite difference), and PC-DARTS' activation-memory saving.
Small configurations (C=4, 3 cells, batch 2 of 3x8x8) keep the file fast; nothing asserts on
wall-clock time.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
from torch.func import functional_call  # noqa: E402

# benchmarks/ is not an installed package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.reference import darts, measure, pcdarts  # noqa: E402

# Weights of the CIFAR-10 search networks at C=16, 8 cells, 10 classes, as counted on the
# original code: quark0/darts@f276dd3 cnn/model_search.py and yuhuixu1993/PC-DARTS@b74702f
# model_search.py, copied to /tmp with their `.cuda()` calls stripped, built on CPU as
# Network(16, 10, 8, nn.CrossEntropyLoss()) and summed as sum(p.numel() for p in model.parameters())
# (their alphas/betas are plain tensors, not parameters). DARTS' utils.count_parameters_in_MB
# gives the same figure, 1.930618 "MB".
ORIGINAL_DARTS_SEARCH_WEIGHTS = 1_930_618
ORIGINAL_PCDARTS_SEARCH_WEIGHTS = 299_578

TINY = dict(C=4, num_classes=10, layers=3)
OP = {name: i for i, name in enumerate(darts.PRIMITIVES)}


def tiny_batch(seed: int, dtype=torch.float32):
    inputs, targets = measure.cifar_batch(batch_size=2, image_size=8, num_classes=10, seed=seed)
    return inputs.to(dtype), targets


def logits_row(**strong: float) -> list[float]:
    """One alpha row: 0 everywhere except the named ops."""
    row = [0.0] * len(darts.PRIMITIVES)
    for name, value in strong.items():
        row[OP[name]] = value
    return row


# ---- structure and parameter counts ------------------------------------------------------------


def test_darts_search_network_has_the_original_parameter_count():
    torch.manual_seed(0)
    counts = measure.count_parameters(darts.Network(C=16, num_classes=10, layers=8))
    assert counts.weights == ORIGINAL_DARTS_SEARCH_WEIGHTS
    assert counts.arch == 2 * 14 * 8
    assert counts.total == ORIGINAL_DARTS_SEARCH_WEIGHTS + 2 * 14 * 8


def test_pcdarts_search_network_has_the_original_parameter_count():
    torch.manual_seed(0)
    counts = measure.count_parameters(pcdarts.PCDartsNetwork(C=16, num_classes=10, layers=8, k=4))
    assert counts.weights == ORIGINAL_PCDARTS_SEARCH_WEIGHTS
    assert counts.arch == 2 * 14 * 8 + 2 * 14


def test_darts_network_layout_follows_the_paper():
    torch.manual_seed(0)
    model = darts.Network(C=16, num_classes=10, layers=8)
    assert darts.PRIMITIVES == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                                "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
    assert [i for i, cell in enumerate(model.cells) if cell.reduction] == [8 // 3, 2 * 8 // 3]
    for alphas in model.arch_parameters():
        assert alphas.shape == (14, 8)
        assert alphas.abs().max() < 1e-2  # 1e-3 * randn: near-uniform softmax at the start
    assert model.stem[0].out_channels == 3 * 16
    assert model.classifier.in_features == 4 * 16 * 4  # 4 nodes x C doubled twice
    # Inside the search network BN is non-affine everywhere except the stem.
    affine = [name for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d) and m.affine]
    assert affine == ["stem.1"]
    pool_edge = model.cells[0].edges[0].candidates[OP["avg_pool_3x3"]]
    assert isinstance(pool_edge[0], nn.AvgPool2d) and not pool_edge[0].count_include_pad
    assert isinstance(pool_edge[1], nn.BatchNorm2d)
    reduction = model.cells[8 // 3]
    assert isinstance(reduction.edges[0].candidates[OP["skip_connect"]], darts.FactorizedReduce)
    assert isinstance(model.cells[8 // 3 + 1].preprocess0, darts.FactorizedReduce)
    ids = {id(p) for p in model.arch_parameters()}
    assert not ids & {id(p) for p in model.weight_parameters()}


# ---- genotype rule ------------------------------------------------------------------------------


def test_genotype_rule_on_hand_set_alphas():
    model = darts.Network(**TINY)
    normal = [
        # node 0 (inputs 0, 1): both edges kept, strongest first
        logits_row(sep_conv_3x3=2), logits_row(skip_connect=1),
        # node 1: edge 0's `none` is the largest weight of the cell but never counts
        logits_row(none=5, max_pool_3x3=0.5), logits_row(dil_conv_3x3=3), logits_row(sep_conv_5x5=1.5),
        # node 2: a strong `none` on input 1 lowers the rest of its softmax row
        logits_row(avg_pool_3x3=1), logits_row(none=4, sep_conv_3x3=2),
        logits_row(dil_conv_5x5=2.5), logits_row(),
        # node 3: max_pool (0.51) beats sep_conv_5x5 (0.45, whose row has a runner-up at 2.9)
        logits_row(none=3), logits_row(skip_connect=0.5), logits_row(),
        logits_row(sep_conv_5x5=3, sep_conv_3x3=2.9), logits_row(max_pool_3x3=2),
    ]
    with torch.no_grad():
        model.alphas_normal.copy_(torch.tensor(normal))
        model.alphas_reduce.zero_()
    genotype = model.genotype()
    assert genotype.normal == [
        ("sep_conv_3x3", 0), ("skip_connect", 1),
        ("dil_conv_3x3", 1), ("sep_conv_5x5", 2),
        ("dil_conv_5x5", 2), ("avg_pool_3x3", 0),
        ("max_pool_3x3", 4), ("sep_conv_5x5", 3),
    ]
    # Uniform alphas: every tie goes to the lower index (stable sort, strict '>' in the original).
    assert genotype.reduce == [("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4
    assert genotype.normal_concat == genotype.reduce_concat == [2, 3, 4, 5]


def test_pcdarts_genotype_ranks_edges_by_alpha_times_normalised_beta():
    torch.manual_seed(0)
    darts_model, pc_model = darts.Network(**TINY), pcdarts.PCDartsNetwork(**TINY, k=4)
    alphas = torch.zeros(14, 8)
    alphas[2:5] = torch.tensor([logits_row(sep_conv_3x3=3), logits_row(dil_conv_3x3=2),
                                logits_row(skip_connect=1)])  # node 1's three edges
    with torch.no_grad():
        for model in (darts_model, pc_model):
            model.alphas_normal.copy_(alphas)
        pc_model.betas_normal.zero_()
        pc_model.betas_normal[2] = -5.0  # node 1's strongest op edge gets almost no edge weight
    node1 = slice(2, 4)
    assert darts_model.genotype().normal[node1] == [("sep_conv_3x3", 0), ("dil_conv_3x3", 1)]
    assert pc_model.genotype().normal[node1] == [("dil_conv_3x3", 1), ("skip_connect", 2)]
    # Edge normalisation is a softmax over each node's incoming edges.
    weights = pcdarts.normalise_edges(pc_model.betas_normal, steps=4)
    starts = [0, 2, 5, 9, 14]
    for a, b in zip(starts, starts[1:]):
        assert weights[a:b].sum().item() == pytest.approx(1.0)


# ---- forward / backward -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [partial(darts.Network, **TINY), partial(pcdarts.PCDartsNetwork, **TINY, k=4)],
                         ids=["darts", "pcdarts"])
def test_forward_and_backward_reach_weights_and_architecture(make):
    torch.manual_seed(0)
    model = make()
    inputs, targets = tiny_batch(0)
    logits = model(inputs)
    assert logits.shape == (2, 10)
    nn.functional.cross_entropy(logits, targets).backward()
    for p in model.arch_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.weight_parameters())


def test_partial_channel_edge_keeps_shape_and_shuffles_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    shuffled = pcdarts.channel_shuffle(x, 4)
    assert sorted(shuffled.sum(dim=(0, 2, 3)).tolist()) == sorted(x.sum(dim=(0, 2, 3)).tolist())
    assert torch.equal(shuffled[:, 1], x[:, 2])  # (4 groups x 2) -> (2 x 4 groups)
    weights = torch.softmax(torch.zeros(8), 0)
    assert pcdarts.PartialChannelMixedOp(8, 1, k=4)(x, weights).shape == (2, 8, 6, 6)
    assert pcdarts.PartialChannelMixedOp(8, 2, k=4)(x, weights).shape == (2, 8, 3, 3)


# ---- architect ----------------------------------------------------------------------------------


def _search_setup(dtype=torch.float32):
    torch.manual_seed(0)
    model = darts.Network(**TINY).to(dtype)
    criterion = nn.CrossEntropyLoss()
    optimizer = darts.make_weight_optimizer(model)
    train, valid = tiny_batch(1, dtype), tiny_batch(2, dtype)
    darts.weight_step(model, criterion, optimizer, *train)  # so a momentum buffer exists
    return model, criterion, optimizer, train, valid


@pytest.mark.parametrize("unrolled", [False, True], ids=["first_order", "second_order"])
def test_architect_step_changes_alphas_and_not_weights(unrolled):
    model, criterion, optimizer, train, valid = _search_setup()
    architect = darts.Architect(model, criterion)
    weights_before = [p.detach().clone() for p in model.weight_parameters()]
    grads_before = [p.grad.clone() for p in model.weight_parameters()]
    alphas_before = [a.detach().clone() for a in model.arch_parameters()]
    architect.step(*train, *valid, eta=0.025, weight_optimizer=optimizer, unrolled=unrolled)
    assert all(torch.equal(a, b) for a, b in zip(weights_before, model.weight_parameters()))
    assert all(torch.equal(g, p.grad) for g, p in zip(grads_before, model.weight_parameters()))
    for before, after in zip(alphas_before, model.arch_parameters()):
        # Adam's first step moves every coordinate with a non-zero gradient by ~lr.
        assert (after - before).abs().max().item() == pytest.approx(darts.ARCH_LR, rel=0.05)


def test_second_order_hypergradient_matches_a_brute_force_finite_difference():
    """d/dalpha L_val(w - eta * (momentum + dL_train/dw + wd * w), alpha), in float64.

    The architect's finite-difference Hessian-vector product is checked with a small radius
    (1e-6 / ||dw'||), where it must agree with both a brute-force central difference of the
    unrolled validation loss along random alpha directions and the exact double-backward
    hypergradient. DARTS' default radius 0.01 / ||dw'|| is printed, not asserted: on a model
    this small it is far from exact (ReLU/max-pool kinks within the radius).
    """
    model, criterion, optimizer, train, valid = _search_setup(torch.float64)
    eta = 0.025
    hypergradient = darts.Architect(model, criterion, hvp_radius=1e-6).unrolled_gradient(
        *train, *valid, eta, optimizer)
    default_radius = darts.Architect(model, criterion).unrolled_gradient(*train, *valid, eta, optimizer)
    exact = _exact_hypergradient(model, criterion, optimizer, eta, train, valid)
    first_order = _gradient_at_virtual_weights(model, criterion, optimizer, eta, train, valid)
    alphas = model.arch_parameters()
    torch.manual_seed(3)
    for _ in range(2):
        direction = [torch.randn_like(a) for a in alphas]
        along = partial(_directional, direction=direction)

        # A tiny step: a larger one lets ReLU/max-pool kinks in dL_train/dw make w' jump.
        h = 1e-7
        losses = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for a, d in zip(alphas, direction):
                    a.add_(sign * h * d)
            losses.append(_unrolled_validation_loss(model, criterion, optimizer, eta, train, valid))
            with torch.no_grad():
                for a, d in zip(alphas, direction):
                    a.sub_(sign * h * d)
        brute_force = ((losses[0] - losses[1]) / (2 * h)).item()
        analytic = along(hypergradient)
        second_order_term = analytic - along(first_order)
        print(f"directional hypergradient {analytic:.6e}, brute force {brute_force:.6e}, "
              f"exact {along(exact):.6e}, second-order term {second_order_term:.3e}, "
              f"with DARTS' default radius {along(default_radius):.6e}")
        # The implicit (Hessian) term itself must be reproduced, not just the first-order term.
        assert abs(analytic - brute_force) < 0.01 * abs(second_order_term)
        assert analytic == pytest.approx(along(exact), rel=1e-4)


def _directional(gradient, direction):
    return sum((g * d).sum() for g, d in zip(gradient, direction)).item()


def _exact_hypergradient(model, criterion, optimizer, eta, train, valid):
    """Same hypergradient with the Hessian-vector product by double backward."""
    virtual = {n: w.detach().requires_grad_() for n, w in
               _virtual_weights(model, criterion, optimizer, eta, train).items()}
    loss = criterion(functional_call(model, virtual, (valid[0],)), valid[1])
    alphas = model.arch_parameters()
    grads = torch.autograd.grad(loss, alphas + list(virtual.values()))
    d_alpha, d_virtual = grads[:len(alphas)], grads[len(alphas):]
    weights = model.weight_parameters()
    train_grads = torch.autograd.grad(criterion(model(train[0]), train[1]), weights, create_graph=True)
    hvp = torch.autograd.grad(sum((g * v).sum() for g, v in zip(train_grads, d_virtual)), alphas)
    return [da - eta * h for da, h in zip(d_alpha, hvp)]


def _virtual_weights(model, criterion, optimizer, eta, train):
    names, weights = zip(*model.named_weight_parameters())
    grads = torch.autograd.grad(criterion(model(train[0]), train[1]), weights)
    return {name: w - eta * (darts.WEIGHT_MOMENTUM * optimizer.state[w]["momentum_buffer"] + g
                             + darts.WEIGHT_DECAY * w)
            for name, w, g in zip(names, weights, grads)}


def _unrolled_validation_loss(model, criterion, optimizer, eta, train, valid):
    virtual = _virtual_weights(model, criterion, optimizer, eta, train)
    return criterion(functional_call(model, virtual, (valid[0],)), valid[1]).detach()


def _gradient_at_virtual_weights(model, criterion, optimizer, eta, train, valid):
    virtual = {n: w.detach() for n, w in _virtual_weights(model, criterion, optimizer, eta, train).items()}
    loss = criterion(functional_call(model, virtual, (valid[0],)), valid[1])
    return torch.autograd.grad(loss, model.arch_parameters())


def test_search_step_updates_both_levels():
    model, criterion, optimizer, train, valid = _search_setup()
    architect = darts.Architect(model, criterion)
    weights_before = [p.detach().clone() for p in model.weight_parameters()]
    alphas_before = [a.detach().clone() for a in model.arch_parameters()]
    loss = darts.search_step(model, architect, optimizer, train, valid, eta=0.025, unrolled=True)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(weights_before, model.weight_parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(alphas_before, model.arch_parameters()))


# ---- measurements ------------------------------------------------------------------------------


def test_pcdarts_saves_less_activation_memory_than_darts():
    inputs, targets = tiny_batch(0)
    saved = {}
    for name, make in (("darts", partial(darts.Network, **TINY)),
                       ("pcdarts", partial(pcdarts.PCDartsNetwork, **TINY, k=4))):
        torch.manual_seed(0)
        saved[name] = measure.saved_tensor_bytes(make(), inputs, nn.CrossEntropyLoss(), targets)
    ratio = saved["pcdarts"].activation_bytes / saved["darts"].activation_bytes
    print(f"saved activations: DARTS {saved['darts'].activation_bytes} B, "
          f"PC-DARTS K=4 {saved['pcdarts'].activation_bytes} B, ratio {ratio:.3f}")
    assert ratio < 0.5  # about 1/K on the edges, plus the unreduced preprocessing and bypass


def test_saved_tensor_bytes_counts_each_storage_once():
    layer = nn.Linear(4, 3, bias=False)
    model = nn.Sequential(layer, nn.ReLU())
    inputs = torch.randn(2, 4)
    saved = measure.saved_tensor_bytes(model, inputs)
    # mm saves its input (2x4 floats) for the weight gradient; ReLU saves its output (2x3).
    assert saved.activation_bytes == (2 * 4 + 2 * 3) * 4
    # The same activation read twice is counted once; a slice keeps its whole storage alive.
    twice = measure.saved_tensor_bytes(_ReadTwice(), torch.randn(2, 6, requires_grad=True))
    assert twice.activation_bytes == 2 * 6 * 4


class _ReadTwice(nn.Module):
    def forward(self, x):
        y = x * 2.0                        # saves nothing (scalar multiplier)
        return (y[:, :3] * y[:, :3]).sum()  # saves the slice twice: one storage of 2x6 floats


def test_count_parameters_without_arch_parameters():
    counts = measure.count_parameters(nn.Linear(4, 3))
    assert counts == measure.ParameterCount(weights=15, arch=0, total=15)


def test_step_timing_reports_medians_of_the_samples():
    torch.manual_seed(0)
    model = nn.Linear(8, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    timing = measure.time_training_step(model, nn.CrossEntropyLoss(), optimizer, torch.randn(4, 8),
                                        torch.randint(0, 10, (4,)), repeats=3, warmup=1)
    assert len(timing.cpu_samples_ms) == len(timing.wall_samples_ms) == 3
    assert timing.wall_ms in timing.wall_samples_ms and timing.cpu_ms in timing.cpu_samples_ms
    assert timing.threads >= 1


def test_peak_step_memory_in_a_subprocess_covers_the_saved_activations():
    make = partial(measure.reference_setup, "darts", C=4, layers=3, batch_size=2, image_size=8)
    peak = measure.peak_step_memory(make, num_threads=1)
    setup = make()
    saved = measure.saved_tensor_bytes(setup.model, setup.inputs, setup.loss_fn, setup.targets)
    input_bytes = setup.inputs.numel() * setup.inputs.element_size()
    print(f"peak step memory {peak}")
    # Everything saved for backward is allocated during the step and alive when backward
    # starts (except the batch, which is resident); gradients make the peak larger still.
    assert peak.step_peak_bytes >= saved.activation_bytes - input_bytes
    weight_bytes = 4 * measure.count_parameters(setup.model).weights
    assert peak.resident_bytes >= 2 * weight_bytes  # weights + momentum buffers (grads were freed)
