"""The one-shot methods: architecture parameters, derive rules, and what each training step
changes (DARTS first and second order, PC-DARTS, GDAS, SPOS, ProxylessNAS).

Tiny configurations (NAS-Bench-201 with C=4, N=1; DARTS with C=4, 3 cells; batch 2 of 8×8)
keep it fast.  The second-order hypergradient is checked in float64 against a brute-force
central difference of the unrolled validation loss and against double backward, as
tests/test_reference_darts.py checks the reference's.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
from torch.func import functional_call  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _oneshot import one_thread, space  # noqa: E402

import archlang  # noqa: E402
from archlang.oneshot import GDAS, SPOS, Darts, PCDarts, Proxyless  # noqa: E402
from archlang.oneshot.choice import MixedChoice  # noqa: E402
from archlang.oneshot.methods import METHODS, method, recalibrate  # noqa: E402
from archlang.oneshot.selection import Gated, Hard  # noqa: E402
from archlang.oneshot.selection import Path as PathSelection  # noqa: E402
from benchmarks.reference import measure  # noqa: E402

NB201 = dict(C=4, N=1)
DARTS = dict(C=4, layers=3)
OPS = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
       "dil_conv_5x5"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(autouse=True)
def _seeded():
    """GDAS', SPOS' and ProxylessNAS' draws use torch's generator: every test starts from one seed."""
    torch.manual_seed(0)


def nb201(method="darts", **extra):
    return archlang.supernet(space("nasbench201", **{**NB201, **extra}), method=method, seed=0)


def darts_net(method="darts"):
    return archlang.supernet(space("darts", **DARTS), method=method, seed=0)


def batch(seed: int, dtype=torch.float32):
    inputs, targets = measure.cifar_batch(batch_size=2, image_size=8, num_classes=10, seed=seed)
    return inputs.to(dtype), targets


# ---- architecture parameters ---------------------------------------------------------------------

def test_shared_decisions_share_one_architecture_parameter():
    net = nb201(N=2)  # six cells, each with the same six edge decisions
    labels = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert sorted(net.arch.keys) == sorted(labels)
    assert [tuple(p.shape) for p in net.arch_parameters()] == [(5,)] * 6
    places = {}
    for module in net.modules():
        if isinstance(module, MixedChoice):
            places.setdefault(module.key, []).append(module)
    assert {k: len(v) for k, v in places.items()} == {label: 6 for label in labels}
    # one parameter, so every cell's use of the decision adds to its gradient
    x, y = batch(0)
    F.cross_entropy(net(x), y).backward()
    single = net.arch.alpha("1<-0").grad.clone()
    assert single.abs().sum() > 0

    darts = archlang.supernet(space("darts", C=4, layers=8), method="darts", seed=0)
    assert len(darts.arch_parameters()) == 28 and all(p.shape == (8,) for p in darts.arch_parameters())
    users = [m.key for m in darts.modules() if isinstance(m, MixedChoice) and m.key.startswith("normal.3.inputs")]
    assert len(users) == 3 * 6  # three edges of node 3 in each of the six normal cells


def test_arch_and_weight_parameters_are_disjoint():
    for name in METHODS:
        net = nb201(name)
        arch = {id(p) for p in net.arch_parameters()}
        weights = {id(p) for p in net.weight_parameters()}
        assert not arch & weights and arch | weights == {id(p) for p in net.parameters()}
        assert bool(arch) == (name != "spos")


def test_methods_are_made_from_names_or_instances():
    assert isinstance(method("pcdarts", k=2), PCDarts) and method("pcdarts", k=2).k == 2
    instance = Darts(order=2)
    assert method(instance) is instance
    with pytest.raises(ValueError, match="unknown one-shot method"):
        method("enas")
    with pytest.raises(ValueError):
        Darts(order=3)


def test_every_hyperparameter_has_a_documented_source():
    for cls in METHODS.values():
        missing = set(cls().hyperparameters()) - set(cls.SOURCES)
        assert not missing, f"{cls.name}: no source for {sorted(missing)}"


# ---- derive --------------------------------------------------------------------------------------

def _set_alpha(net, key, **strong):
    alpha = net.arch.alpha(key)
    with torch.no_grad():
        alpha.zero_()
        for index, value in strong.items():
            alpha[int(index.lstrip("_"))] = value


def test_derive_takes_the_argmax_of_every_decision():
    net = nb201()
    wanted = {"1<-0": 3, "2<-0": 0, "2<-1": 4, "3<-0": 1, "3<-1": 2, "3<-2": 0}
    for label, index in wanted.items():
        _set_alpha(net, label, **{f"_{index}": 2.0, f"_{(index + 1) % 5}": 1.0})
    assert net.derive().values == wanted
    assert net.derive().space == net.space.hash


def test_derive_follows_darts_rule_in_darts_cells():
    net = darts_net()
    for key in net.arch.keys:
        _set_alpha(net, key)  # all equal: ties go to the lower input and the first op
    # node 3 of the normal cell: input 0's edge has the largest weight of all, on `none` (index 7),
    # input 1's best real op is sep_conv_3x3 (3), input 2's dil_conv_3x3 (5) is the strongest real op
    _set_alpha(net, "normal.3.inputs[0]", _7=6.0, _0=0.5)
    _set_alpha(net, "normal.3.inputs[1]", _3=2.0)
    _set_alpha(net, "normal.3.inputs[2]", _5=3.0, _4=2.9)
    # node 2 has only its two inputs: both kept, each with its best op; its added none never counts
    _set_alpha(net, "normal.2.op0", _7=9.0, _2=1.0)
    derived = net.derive().values
    assert derived["normal.3.inputs"] == (1, 2)
    assert (OPS[derived["normal.3.op0"]], OPS[derived["normal.3.op1"]]) == ("sep_conv_3x3", "dil_conv_3x3")
    assert OPS[derived["normal.2.op0"]] == "skip_connect"
    assert derived["reduce.5.inputs"] == (0, 1) and derived["reduce.5.op0"] == 0
    net.space.check(net.derive())


def test_pcdarts_derive_weights_edges_by_their_normalised_beta():
    net = darts_net("pcdarts")
    _set_alpha(net, "normal.3.inputs[0]", _3=3.0)
    _set_alpha(net, "normal.3.inputs[1]", _5=2.0)
    _set_alpha(net, "normal.3.inputs[2]", _2=1.0)
    assert net.derive().values["normal.3.inputs"] == (0, 1)
    with torch.no_grad():
        net.arch.beta("normal.3.inputs[0]").fill_(-5.0)
        net.arch.beta("normal.3.inputs[1]").fill_(0.0)
        net.arch.beta("normal.3.inputs[2]").fill_(0.0)
    assert net.derive().values["normal.3.inputs"] == (1, 2)


# ---- DARTS -----------------------------------------------------------------------------------------

def _stepped(net, dtype=torch.float32):
    """The supernet in ``dtype``, its optimisers, and one weight step done (a momentum buffer)."""
    net = net.to(dtype)
    optimizers = net.method.optimizers(net)
    train, valid = batch(1, dtype), batch(2, dtype)
    net.method.train_step(net, train, None, optimizers)
    return net, optimizers, train, valid


@pytest.mark.parametrize("order", [1, 2])
def test_darts_architecture_step_moves_alphas_and_not_weights(order):
    net, optimizers, train, valid = _stepped(archlang.supernet(space("darts", **DARTS), method=Darts(order=order), seed=0))
    weights = [p.detach().clone() for p in net.weight_parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in net.weight_parameters()]
    alphas = [a.detach().clone() for a in net.arch_parameters()]
    net.method.arch_step(net, train, valid, optimizers, F.cross_entropy)
    assert all(torch.equal(a, b) for a, b in zip(weights, net.weight_parameters()))
    assert all((g is None and p.grad is None) or torch.equal(g, p.grad) for g, p in zip(grads, net.weight_parameters()))
    for before, after in zip(alphas, net.arch_parameters()):
        # Adam's first step moves every coordinate with a gradient by about lr, none included
        assert (after - before).abs().max().item() == pytest.approx(net.method.arch_lr, rel=0.05)


def test_darts_train_step_updates_both_levels():
    net, optimizers, train, valid = _stepped(darts_net())
    weights = [p.detach().clone() for p in net.weight_parameters()]
    alphas = [a.detach().clone() for a in net.arch_parameters()]
    result = net.method.train_step(net, train, valid, optimizers)
    assert result.arch_loss is not None and result.loss > 0
    assert any(not torch.equal(a, b) for a, b in zip(weights, net.weight_parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(alphas, net.arch_parameters()))


def test_first_order_gradient_is_the_validation_loss_gradient():
    net, optimizers, train, valid = _stepped(darts_net(), torch.float64)
    net.train()
    loss, grads = net.method.first_order_gradient(net, valid, F.cross_entropy)
    torch.manual_seed(0)
    direction = [torch.randn_like(a) for a in net.arch_parameters()]
    h = 1e-6
    values = []
    for sign in (1, -1):
        with torch.no_grad():
            for a, d in zip(net.arch_parameters(), direction):
                a.add_(sign * h * d)
            values.append(_loss_without_updating_stats(net, valid))
            for a, d in zip(net.arch_parameters(), direction):
                a.sub_(sign * h * d)
    numeric = (values[0] - values[1]) / (2 * h)
    analytic = sum((g * d).sum() for g, d in zip(grads, direction)).item()
    assert analytic == pytest.approx(numeric, rel=1e-5)


def _loss_without_updating_stats(net, data):
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    return F.cross_entropy(functional_call(net, buffers, (data[0],)), data[1]).item()


def test_second_order_hypergradient_matches_brute_force_and_double_backward():
    """d/dα L_val(w − η (momentum + dL_train/dw + wd · w), α) in float64 (see the module docstring).
    The Hessian-vector product uses a small radius (1e-6/‖dw′‖) here; DARTS' 0.01 is not exact on
    a model this small (ReLU and max-pool kinks within the radius, benchmarks/reference/README.md)."""
    net, optimizers, train, valid = _stepped(darts_net(), torch.float64)
    eta = 0.025
    exact_method = Darts(order=2, hvp_radius=1e-6)
    net.train()
    _, hypergradient = exact_method.second_order_gradient(net, train, valid, F.cross_entropy, eta, optimizers.weights)
    exact = _exact_hypergradient(net, optimizers.weights, eta, train, valid)
    first = _gradient_at_virtual_weights(net, optimizers.weights, eta, train, valid)
    alphas = net.arch_parameters()
    torch.manual_seed(3)
    for _ in range(2):
        direction = [torch.randn_like(a) for a in alphas]
        along = partial(_directional, direction=direction)
        h = 1e-7
        losses = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for a, d in zip(alphas, direction):
                    a.add_(sign * h * d)
            losses.append(_unrolled_validation_loss(net, optimizers.weights, eta, train, valid))
            with torch.no_grad():
                for a, d in zip(alphas, direction):
                    a.sub_(sign * h * d)
        brute_force = ((losses[0] - losses[1]) / (2 * h)).item()
        analytic = along(hypergradient)
        second_order_term = analytic - along(first)
        assert abs(second_order_term) > 1e-8, "the implicit term must not vanish on this model"
        assert abs(analytic - brute_force) < 0.01 * abs(second_order_term)
        assert analytic == pytest.approx(along(exact), rel=1e-4)


def _directional(gradient, direction):
    return sum((g * d).sum() for g, d in zip(gradient, direction)).item()


def _weights(net):
    names, weights = zip(*net.named_weight_parameters())
    return list(names), list(weights)


def _frozen_buffers(net):
    return {name: b.clone() for name, b in net.named_buffers()}


def _virtual_weights(net, optimizer, eta, train):
    names, weights = _weights(net)
    loss = F.cross_entropy(functional_call(net, _frozen_buffers(net), (train[0],)), train[1])
    grads = torch.autograd.grad(loss, weights)
    method = net.method
    return {name: w - eta * (method.weight_momentum * optimizer.state[w]["momentum_buffer"] + g
                             + method.weight_decay * w)
            for name, w, g in zip(names, weights, grads)}


def _validation_loss(net, virtual, valid):
    return F.cross_entropy(functional_call(net, {**virtual, **_frozen_buffers(net)}, (valid[0],)), valid[1])


def _unrolled_validation_loss(net, optimizer, eta, train, valid):
    return _validation_loss(net, _virtual_weights(net, optimizer, eta, train), valid).detach()


def _gradient_at_virtual_weights(net, optimizer, eta, train, valid):
    virtual = {n: w.detach() for n, w in _virtual_weights(net, optimizer, eta, train).items()}
    return torch.autograd.grad(_validation_loss(net, virtual, valid), net.arch_parameters())


def _exact_hypergradient(net, optimizer, eta, train, valid):
    virtual = {n: w.detach().requires_grad_() for n, w in _virtual_weights(net, optimizer, eta, train).items()}
    alphas = net.arch_parameters()
    grads = torch.autograd.grad(_validation_loss(net, virtual, valid), alphas + list(virtual.values()))
    d_alpha, d_virtual = grads[:len(alphas)], grads[len(alphas):]
    names, weights = _weights(net)
    train_loss = F.cross_entropy(functional_call(net, _frozen_buffers(net), (train[0],)), train[1])
    train_grads = torch.autograd.grad(train_loss, weights, create_graph=True)
    hvp = torch.autograd.grad(sum((g * v).sum() for g, v in zip(train_grads, d_virtual)), alphas)
    return [da - eta * h for da, h in zip(d_alpha, hvp)]


# ---- PC-DARTS --------------------------------------------------------------------------------------

def test_pcdarts_saves_less_activation_memory_than_darts():
    inputs, targets = batch(0)
    saved = {}
    for name in ("darts", "pcdarts"):
        net = darts_net(name)
        saved[name] = measure.saved_tensor_bytes(net, inputs, torch.nn.CrossEntropyLoss(), targets).activation_bytes
    assert saved["pcdarts"] < 0.5 * saved["darts"]


def test_pcdarts_edge_weights_get_gradients_and_warm_up_holds_the_architecture():
    net, optimizers, train, valid = _stepped(darts_net("pcdarts"))
    assert len(net.arch.betas) == 28
    net.method.on_epoch(net, 0, 50)
    alphas = [a.detach().clone() for a in net.arch_parameters()]
    assert net.method.train_step(net, train, valid, optimizers).arch_loss is None
    assert all(torch.equal(a, b) for a, b in zip(alphas, net.arch_parameters()))
    net.method.on_epoch(net, net.method.warmup_epochs, 50)
    assert net.method.train_step(net, train, valid, optimizers).arch_loss is not None
    assert all(not torch.equal(a, b) for a, b in zip(alphas, net.arch_parameters()))


# ---- GDAS ------------------------------------------------------------------------------------------

def _recording(net):
    """Wrap the method's selection to record what each key drew in the last pass."""
    drawn = {}
    choose = net.method.selection

    def selection(supernet, key):
        result = choose(supernet, key)
        drawn[key] = result
        return result

    net.method.selection = selection
    return drawn


def test_gdas_forward_is_one_hard_path_with_straight_through_gradients():
    # without DARTS' search-only norm after pooling, which a path leaves out
    net = nb201(GDAS(pool_bn=False))
    drawn = _recording(net)
    x, y = batch(0)
    net.train()
    out = net(x)
    assert set(drawn) == set(net.arch.keys)
    for key, selection in drawn.items():
        assert isinstance(selection, Hard)
        one_hot = torch.zeros(5)
        one_hot[selection.index] = 1.0
        assert torch.allclose(selection.weights.detach(), one_hot, atol=1e-6)  # one-hot in value
    # the value is exactly the drawn architecture's
    path = net.space.check(archlang.nas.Assignment({k: s.index for k, s in drawn.items()}, net.space.hash))
    with net.fixed(path):
        expected = net(x)
    assert torch.allclose(out, expected, atol=1e-6)
    # and every architecture entry gets a gradient through the Gumbel-softmax
    F.cross_entropy(out, y).backward()
    for alpha in net.arch_parameters():
        assert alpha.grad is not None and alpha.grad.abs().sum() > 0


def test_gdas_computes_only_the_drawn_candidate():
    net = nb201("gdas")
    calls = _count_candidate_calls(net)
    net(batch(0)[0])
    assert calls and all(count == 1 for count in calls.values())


def _count_candidate_calls(net):
    calls = {}
    for module in net.modules():
        if isinstance(module, MixedChoice):
            for index in range(module._count):
                candidate = module.candidate(index)
                candidate.register_forward_hook(lambda m, i, o, key=id(module): calls.__setitem__(key, calls.get(key, 0) + 1))
    return calls


def test_gdas_temperature_anneals_linearly_from_10_to_0_1():
    net = nb201("gdas")
    assert net.method.tau == 10.0
    net.method.on_epoch(net, 0, 10)
    assert net.method.tau == pytest.approx(10.0)
    net.method.on_epoch(net, 9, 10)
    assert net.method.tau == pytest.approx(0.1)
    net.method.on_epoch(net, 3, 10)
    assert net.method.tau == pytest.approx(10 - 9.9 * 3 / 9)


def test_gdas_train_step_updates_weights_then_alphas():
    net = nb201("gdas")
    optimizers = net.method.optimizers(net)
    alphas = [a.detach().clone() for a in net.arch_parameters()]
    result = net.method.train_step(net, batch(1), batch(2), optimizers)
    assert result.arch_loss is not None
    assert all(not torch.equal(a, b) for a, b in zip(alphas, net.arch_parameters()))


# ---- SPOS ------------------------------------------------------------------------------------------

def test_spos_trains_only_the_sampled_path():
    net = nb201(SPOS(seed=1))
    optimizers = net.method.optimizers(net)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    net.method.train_step(net, batch(1), None, optimizers)
    changed = {name for name, p in net.named_parameters() if not torch.equal(before[name], p)}
    assert changed
    # a candidate with weights that the sampled path does not take keeps them
    untouched = [name for name in before if name not in changed and ".3.op.1.weight" in name]
    assert untouched, "some 3x3 convolution off the path must be left alone"


def test_spos_default_forward_samples_uniform_paths():
    net = nb201(SPOS(seed=0))
    seen = set()
    for _ in range(30):
        seen.add(net.method.sample_path(net).dumps())
    assert len(seen) > 20


def test_recalibration_recomputes_batch_norm_statistics():
    net = nb201(SPOS(seed=0))
    path = net.space.sample(seed=4)
    batches = [batch(i)[0] for i in range(3)]
    norm = net.net.stem[1]
    seen = []
    handle = norm.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    with net.fixed(path):
        recalibrate(net, batches)
    handle.remove()
    stacked = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen])
    assert torch.allclose(norm.running_mean, stacked.mean(0), atol=1e-6)
    assert int(norm.num_batches_tracked) == 3


def test_evolution_finds_the_best_architecture_of_a_known_score():
    """A synthetic score (how many edges match a target architecture) the evolution must climb."""
    net = nb201(SPOS(seed=0, population=12, iterations=6, parents=4, mutations=6, crossovers=6,
                     calibration_batches=1))
    target = {"1<-0": 3, "2<-0": 1, "2<-1": 3, "3<-0": 1, "3<-1": 3, "3<-2": 3}

    def score(supernet):
        return sum(supernet.path.values[k] == v for k, v in target.items())

    buffers = {name: b.clone() for name, b in net.named_buffers()}
    ranked = net.method.evolve(net, score, [batch(0)[0]])
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] >= 5
    assert net.derive() == ranked[0][0]
    assert all(torch.equal(buffers[name], b) for name, b in net.named_buffers())  # the supernet's stats are back
    with pytest.raises(archlang.ArchError, match="evolutionary search"):
        nb201("spos").derive()


def test_calibration_is_counted_in_images_in_whole_batches():
    batches = [torch.zeros(3, 1)] * 5  # 15 images
    assert len(SPOS(calibration_images=7).calibration_set(batches)) == 3  # 9 images: whole batches
    assert len(SPOS(calibration_images=6).calibration_set(batches)) == 2
    assert len(SPOS().calibration_set(batches)) == 5  # the paper's 20,000: every image there is
    assert len(SPOS(calibration_batches=2).calibration_set(iter(batches))) == 2
    pairs = [(torch.zeros(4, 1), torch.zeros(4))] * 3
    assert len(SPOS(calibration_images=5).calibration_set(pairs)) == 2


def test_fast_rating_ranks_the_candidates_as_batch_by_batch_rating_does():
    """The trainer's search rates on a few concatenated tensors (``score_chunks``) under
    inference mode; ranked candidates and scores equal those of rating batch by batch."""
    from archlang.oneshot.trainer import score_chunks

    inputs, targets = measure.cifar_batch(batch_size=24, image_size=8, num_classes=10, seed=3)
    batches = [(inputs[i:i + 5], targets[i:i + 5]) for i in range(0, 24, 5)]  # uneven: 5, 5, 5, 5, 4
    chunks = score_chunks(batches)
    assert len(chunks) == 1 and torch.equal(chunks[0][0], inputs)

    def rated_on(valid):
        def accuracy(supernet):
            return sum(int((supernet(x).argmax(-1) == y).sum()) for x, y in valid) / 24
        net = nb201(SPOS(seed=0, population=6, iterations=2, parents=3, mutations=3, crossovers=3))
        return [(a.dumps(), s) for a, s in net.method.evolve(net, accuracy, [batch(0)[0], batch(1)[0]])]

    assert rated_on(chunks) == rated_on(batches)


def test_score_chunks_keep_order_and_bound_their_size(monkeypatch):
    from archlang.oneshot import trainer

    monkeypatch.setattr(trainer, "SCORE_CHUNK", 8)
    batches = [(torch.full((3, 2), float(i)), torch.full((3,), i)) for i in range(5)]
    chunks = trainer.score_chunks(batches)
    assert [len(y) for _, y in chunks] == [6, 6, 3]
    assert torch.equal(torch.cat([y for _, y in chunks]), torch.cat([y for _, y in batches]))


# ---- ProxylessNAS ----------------------------------------------------------------------------------

def test_proxyless_weight_step_runs_one_candidate_and_arch_step_two():
    net = nb201("proxyless")
    calls = _count_candidate_calls(net)
    net.method.mode = "weights"
    net(batch(0)[0])
    assert all(count == 1 for count in calls.values())
    calls.clear()
    drawn = _recording(net)
    net.method.mode = "arch"
    net(batch(0)[0])
    net.method.mode = "weights"
    assert all(count == 2 for count in calls.values())
    for selection in drawn.values():
        assert isinstance(selection, Gated) and selection.active != selection.inactive
        assert selection.gates.detach()[selection.active] == 1 and selection.gates.detach().sum() == 1


def test_proxyless_gate_gradient_is_the_two_path_rule():
    """∂L/∂α_i = Σ_j ∂L/∂g_j · p_j (δ_ij − p_i) over the two drawn options (mix_op.py)."""
    net = nb201("proxyless")
    alpha = net.arch.alpha("1<-0")
    with torch.no_grad():
        alpha.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0, 0.5]))
    net.method.mode = "arch"
    torch.manual_seed(0)
    selection = net.method.selection(net, "1<-0")
    pair = [selection.active, selection.inactive]
    upstream = torch.zeros(5)
    upstream[pair] = torch.tensor([0.7, -1.3])
    (selection.gates * upstream).sum().backward()
    p = torch.softmax(alpha.detach()[pair], 0)
    expected = torch.zeros(5)
    for i in range(2):
        for j in range(2):
            expected[pair[i]] += upstream[pair[j]] * p[j] * (float(i == j) - p[i])
    assert torch.allclose(alpha.grad, expected, atol=1e-6)


def test_proxyless_expected_macs_are_the_analytic_counts():
    net = nb201("proxyless")
    assignment = net.space.sample(seed=3)
    with torch.no_grad():
        for label, value in assignment.values.items():
            alpha = net.arch.alpha(label)
            alpha.fill_(-30.0)
            alpha[value] = 30.0
    expected = float(net.method.expected_cost(net).detach())
    exact = archlang.summary(net.space.fix_model(assignment)).macs
    exact = archlang.ir.dims.evaluate(exact, {"B": 1}) if not isinstance(exact, int) else exact
    assert expected == pytest.approx(exact, rel=1e-6)
    assert net.method.cost_model.exact(assignment.values) == pytest.approx(exact, rel=1e-9)
    # ProxylessNAS' space with searched depths: the exact count too
    prox = archlang.supernet(space("proxylessnas"), method="proxyless", seed=0)
    a = prox.space.sample(seed=1)
    macs = archlang.summary(prox.space.fix_model(a)).macs
    macs = archlang.ir.dims.evaluate(macs, {"B": 1}) if not isinstance(macs, int) else macs
    assert prox.method.cost_model.exact(a.values) == pytest.approx(macs, rel=1e-9)


def test_proxyless_architecture_step_follows_the_macs_term():
    net = nb201(Proxyless(loss_type="add#linear", reg_lambda=50.0, warmup_epochs=0, arch_every=1))
    optimizers = net.method.optimizers(net)
    cost_before = float(net.method.expected_cost(net).detach())
    for step in range(6):
        net.method.train_step(net, batch(step), batch(step + 10), optimizers)
    assert float(net.method.expected_cost(net).detach()) < cost_before  # a heavy MACs term lowers the expected cost


def test_proxyless_regularised_losses_follow_the_code():
    method = Proxyless(target=100.0)
    loss, cost = torch.tensor(2.0), torch.tensor(200.0)
    assert float(method.regularised(loss, cost)) == pytest.approx(0.2 * 2.0 * (torch.log(cost) / torch.log(torch.tensor(100.0))) ** 0.3)
    linear = Proxyless(target=100.0, loss_type="add#linear")
    assert float(linear.regularised(loss, cost)) == pytest.approx(2.0 + 0.1 * 1.0)


def test_path_selection_under_a_set_path():
    net = nb201("proxyless")
    assignment = net.space.sample(seed=0)
    with net.fixed(assignment):
        ctx = net.forward_pass()
        assert ctx.select("1<-0") == PathSelection(assignment.values["1<-0"])
    assert net.path is None


def test_docs_list_every_methods_hyperparameters():
    text = (Path(__file__).resolve().parent.parent / "docs" / "supernets.md").read_text(encoding="utf-8")
    sections = text.split("\n**`")
    for cls in METHODS.values():
        section = next(s for s in sections if s.startswith(f"{cls.name}`**"))
        names = cls().hyperparameters()
        if "DARTS' fields" in section:  # PC-DARTS lists what differs from DARTS
            darts = Darts().hyperparameters()
            names = {k: v for k, v in names.items() if k not in darts or darts[k] != v}
        for name in names:
            assert f"`{name}`" in section, f"docs/supernets.md: {cls.name} does not list `{name}`"


def test_proxyless_takes_a_per_layer_cost_model():
    """A latency table instead of MACs: here one unit per convolution, so the cost of an
    architecture is its number of convolutions."""
    def per_layer(op, attrs, inputs, output):
        return 1.0 if op.startswith("Conv") else 0.0

    net = nb201(Proxyless(cost=per_layer))
    for seed in range(3):
        a = net.space.sample(seed=seed)
        convs = sum(isinstance(m, torch.nn.Conv2d) for m in archlang.to_torch(net.space.fix_model(a)).modules())
        assert net.method.cost_model.exact(a.values) == convs
    with pytest.raises(ValueError, match="cost is 'macs' or a callable"):
        Proxyless(cost="latency")
