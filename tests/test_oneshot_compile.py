"""Compiling spaces into supernets: every space of specs/spaces/ for every method that applies,
weight entanglement of searched sizes, the relaxed forward, and located errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _oneshot import SPACES, SPACES_DIR, inputs, one_thread, randomize, relative_error, space  # noqa: E402

import archlang  # noqa: E402
from archlang.ir import dims  # noqa: E402
from archlang.oneshot import Darts  # noqa: E402
from archlang.oneshot.elastic import Elastic, ElasticConv  # noqa: E402
from archlang.oneshot.methods import METHODS  # noqa: E402
from archlang.oneshot.selection import Forward, Soft  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with one_thread():
        yield


# A searched head count reshapes the width into heads of width/heads: the shape is largest at the
# smallest head count, so no single largest-size computation holds every option's mixture.
NOT_RELAXABLE = {("flexibert", "darts"), ("flexibert", "pcdarts")}


def test_the_table_covers_every_space_of_the_zoo():
    assert set(SPACES) == {p.stem for p in SPACES_DIR.glob("*.arch")}


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_space_compiles_for_every_method_that_applies(name, method):
    extra = {"inputs": {"ids": SPACES[name][2]}} if name == "flexibert" else {}
    if name == "darts":
        extra = {"C": 4, "layers": 3}  # the smallest DARTS network (built once per method here)
    if (name, method) in NOT_RELAXABLE:
        with pytest.raises(archlang.ArchError) as caught:
            archlang.supernet(space(name, **extra), method=method, seed=0)
        diagnostic = caught.value.diagnostics[0]
        assert "largest" in diagnostic.message and diagnostic.span.file.endswith("flexibert.arch")
        return
    net = archlang.supernet(space(name, **extra), method=method, seed=0)
    net.train()
    # the draws of GDAS and ProxylessNAS are seeded: a draw whose ops are all `none` in a cell
    # would (rightly) give every architecture entry a zero gradient
    torch.manual_seed(0)
    if method == "proxyless":
        net.method.mode = "arch"  # its architecture step's forward (the weight step's draws one path)
        assert torch.isfinite(net.method.expected_cost(net))
    x = inputs(name)
    out = net(x)
    assert out.shape == (x.shape[0], 10 if name != "flexibert" else 2) and torch.isfinite(out).all()
    F.cross_entropy(out, torch.zeros(x.shape[0], dtype=torch.long)).backward()
    if method != "spos":
        grads = [p.grad for p in net.arch_parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads)
        assert all(g is None or torch.isfinite(g).all() for g in grads)
        assignment = net.derive()
        assert net.space.check(assignment) is assignment
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.weight_parameters())


# ---- weight entanglement ----------------------------------------------------------------------------

ENTANGLED = '''
space Entangled(num_classes: int = 10) {
    input x: [B, 3, 32, 32]
    width = choice(16, 24, 32, label="width")
    k1 = choice(3, 5, 7, label="k1")
    k2 = choice(3, 5, 7, label="k2")
    stem = Sequential(Conv2d(3, width, k1, padding=k1 // 2, bias=false), BatchNorm2d(width), ReLU())
    depthwise = Sequential(Conv2d(width, width, k2, padding=k2 // 2, groups=width, bias=false), BatchNorm2d(width))
    body = Sequential(Conv2d(width, 2 * width, 1), BatchNorm2d(2 * width), ReLU())
    head = Linear(2 * width, num_classes)
    return head(body(depthwise(stem(x))).mean(dim=[2, 3]))
}
'''


def _entangled():
    return archlang.space(archlang.loads(ENTANGLED, filename="entangled.arch"), "Entangled")


def _macs_or_params(value):
    return value if isinstance(value, int) else dims.evaluate(value, {"B": 1})


@pytest.mark.parametrize("method", sorted(METHODS))
def test_size_choices_share_the_largest_architectures_weights(method):
    s = _entangled()
    net = archlang.supernet(s, method=method, seed=0)
    largest = s.check(archlang.nas.Assignment({"width": 2, "k1": 2, "k2": 2}, s.hash))
    largest_params = archlang.summary(s.fix_model(largest)).params
    weights = sum(p.numel() for p in net.weight_parameters())
    assert weights == largest_params
    every_option = sum(archlang.summary(s.fix_model(a)).params for a in s.enumerate())
    assert weights < every_option / 10


def test_an_architecture_inherits_leading_channels_and_centred_kernels():
    s = _entangled()
    net = archlang.supernet(s, method="spos", seed=0)
    small = s.check(archlang.nas.Assignment({"width": 0, "k1": 0, "k2": 1}, s.hash))
    state = net.subnet_state_dict(small)
    assert torch.equal(state["stem.0.weight"], net.get_submodule("net.stem.0").weight[:16, :, 2:5, 2:5].detach())
    assert torch.equal(state["depthwise.0.weight"], net.get_submodule("net.depthwise.0").weight[:16, :, 1:6, 1:6].detach())
    assert torch.equal(state["body.0.weight"], net.get_submodule("net.body.0").weight[:32, :16].detach())
    assert torch.equal(state["head.weight"], net.net.head.weight[:, :32].detach())
    assert torch.equal(state["stem.1.running_var"], net.get_submodule("net.stem.1").running_var[:16])


def test_mixing_a_convolution_by_its_weights_equals_mixing_its_outputs():
    """The one-call mixture (Σ p · padded weight slices) equals Σ p · (zero-padded output of each
    option computed alone), for widths, kernels and the depthwise convolution."""
    s = _entangled()
    net = archlang.supernet(s, method="darts", seed=0)
    randomize(net, seed=5)
    generator = torch.Generator().manual_seed(0)
    for module, x in ((net.get_submodule("net.stem.0"), torch.randn(2, 3, 9, 9, generator=generator)),
                      (net.get_submodule("net.depthwise.0"), torch.randn(2, 32, 9, 9, generator=generator)),
                      (net.get_submodule("net.body.0"), torch.randn(2, 32, 9, 9, generator=generator))):
        assert isinstance(module, ElasticConv)
        weights = {label: torch.softmax(torch.randn(3, generator=generator), 0) for label in ("width", "k1", "k2")}
        ctx = Forward(lambda key: Soft(weights[key]), net.sizes)
        options, _ = ctx.joint(module.labels)
        assert len(options) > 1
        assert module._mixable(options)
        one_call = module.mixed(x, options)
        one_by_one = Elastic.mixed(module, x, options)
        assert relative_error(one_call, one_by_one) < 1e-5


def _one_hot_alphas(net, assignment) -> None:
    """Architecture weights that put (numerically) all the mass on ``assignment``: a relaxed
    forward must then compute that architecture."""
    values = assignment.values
    decisions = net.space.tree.by_label
    picked = {}
    for label, spec in net.edge_nodes.items():
        if label in values:
            picked.update({spec.edges[spec.options[c]]: values[spec.positions[p][1]]
                           for p, c in enumerate(values[label])})
    with torch.no_grad():
        for key, info in net.keys.items():
            alpha = net.arch.alpha(key)
            alpha.fill_(-60.0)
            if info.edge is not None:
                target = picked.get(key)
                alpha[info.options.index(target) if target is not None else info.options.index(None)] = 60.0
            elif info.label in values:
                alpha[info.options.index(decisions[info.label].index(values[info.label]))] = 60.0
            else:
                alpha[0] = 60.0


@pytest.mark.parametrize("name", ["nasbench201", "darts", "tiny_cnn", "digits_cnn", "proxylessnas", "hybrid_space",
                                  "nasbench101"])
def test_the_relaxed_forward_at_one_hot_weights_is_the_architecture(name):
    """DARTS' mixture (layer choices, DARTS edges with none, entangled sizes mixed at the
    largest size, searched depths) collapses to the path when the weights are one-hot."""
    net = archlang.supernet(space(name), method=Darts(pool_bn=False), seed=0)
    randomize(net, seed=6)
    x = inputs(name, seed=3)
    for seed in range(3):
        assignment = net.space.sample(seed=300 + seed)
        _one_hot_alphas(net, assignment)
        for train in (False, True):
            net.train(train)
            with torch.no_grad():
                relaxed = net(x)
                with net.fixed(assignment):
                    exact = net(x)
            assert relative_error(relaxed, exact) < 1e-5, (train, assignment.values)


# ---- errors ---------------------------------------------------------------------------------------

def test_a_layer_whose_size_cannot_be_searched_is_a_located_error():
    text = '''
space Attention() {
    input x: [B, 4, 32]
    d = choice(32, 64, label="d")
    proj = Linear(32, d)
    attn = MultiheadAttention(d, 1, batch_first=true)
    h = proj(x)
    return attn(h, h, h)
}
'''
    s = archlang.space(archlang.loads(text, filename="attention.arch"), "Attention")
    with pytest.raises(archlang.ArchError) as caught:
        archlang.supernet(s, method="spos")
    diagnostic = caught.value.diagnostics[0]
    assert "MultiheadAttention" in diagnostic.message and diagnostic.span.file == "attention.arch"
    assert diagnostic.span.line == 6


def test_sizes_that_are_not_largest_at_their_largest_options_cannot_be_mixed():
    text = '''
space Valid() {
    input x: [B, 3, 16, 16]
    k = choice(3, 5, label="k")
    conv = Conv2d(3, 8, k)
    return conv(x).mean(dim=[2, 3])
}
'''
    s = archlang.space(archlang.loads(text, filename="valid.arch"), "Valid")
    with pytest.raises(archlang.ArchError, match="larger at other options of k"):
        archlang.supernet(s, method="darts")
    net = archlang.supernet(s, method="spos", seed=0)  # a single path has no such problem
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 8)


def test_api_misuse_is_refused():
    with pytest.raises(ValueError, match="unknown one-shot method"):
        archlang.supernet(space("nasbench201"), method="enas")
    with pytest.raises(TypeError, match="already elaborated"):
        archlang.supernet(space("nasbench201"), C=4)
    net = archlang.supernet(SPACES_DIR / "nasbench201.arch", method="spos", C=4, N=1)
    assert net.space.params == {"C": 4, "N": 1}
