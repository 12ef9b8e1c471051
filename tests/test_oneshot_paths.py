"""Path equivalence: a supernet fixed to one architecture computes exactly that architecture.

For 50 random architectures each of NAS-Bench-201 (C=8, N=1), DARTS (C=8, 5 cells),
ProxylessNAS (width 0.25) and the hybrid CNN-transformer space, with random weights:
``set_path(a)`` then ``forward`` equals ``archlang.to_torch(space.fix_model(a))`` loaded with
``strict=True`` from ``subnet_state_dict(a)`` (relative error ≤ 1e-5) in eval and in train mode,
and the subnet exported to ONNX (``archlang.to_onnx(fixed_model, weights=...)``) gives the same
under onnxruntime.  The supernets are DARTS' (the most transformed compilation: cells compiled
edge by edge, affine-free batch norms, search-only norms after pooling); every other method's
compilation is checked on fewer architectures.  Inputs are small (batch 2, 16×16 where the
space allows it).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from _oneshot import fixed_module, inputs, one_thread, randomize, relative_error, space  # noqa: E402

import archlang  # noqa: E402

EQUIVALENCE = ["nasbench201", "darts", "proxylessnas", "hybrid_space"]
TOLERANCE = 1e-5


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module", params=EQUIVALENCE)
def darts_supernet(request):
    torch.manual_seed(0)
    net = archlang.supernet(space(request.param), method="darts", seed=0)
    randomize(net, seed=1)
    return request.param, net


def _check_path(net, assignment, x, onnx: bool) -> None:
    net.set_path(assignment)
    try:
        for train in (False, True):
            net.train(train)
            module = fixed_module(net, assignment, train)
            with torch.no_grad():
                expected = module(x)
                got = net(x)
            assert got.shape == expected.shape
            error = relative_error(got, expected)
            assert error <= TOLERANCE, f"{'train' if train else 'eval'} mode, {assignment.values}: {error:.2e}"
        if onnx:
            net.eval()
            with torch.no_grad():
                expected = net(x).numpy()
            model = archlang.to_onnx(net.fixed_model(assignment), weights=net.subnet_state_dict(assignment))
            session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            error = float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-12))
            assert error <= TOLERANCE, f"onnxruntime, {assignment.values}: {error:.2e}"
    finally:
        net.set_path(None)


def test_fifty_paths_equal_their_fixed_architectures(darts_supernet):
    name, net = darts_supernet
    x = inputs(name)
    seen = set()
    for seed in range(50):
        assignment = net.space.sample(seed=seed)
        seen.add(assignment.dumps())
        _check_path(net, assignment, x, onnx=True)
    assert len(seen) >= 45, "the 50 architectures must be (nearly all) different"


@pytest.mark.parametrize("method", ["pcdarts", "gdas", "spos", "proxyless"])
@pytest.mark.parametrize("name", EQUIVALENCE)
def test_every_methods_compilation_keeps_paths_exact(name, method):
    net = archlang.supernet(space(name), method=method, seed=0)
    randomize(net, seed=2)
    x = inputs(name, seed=1)
    for seed in range(5):
        _check_path(net, net.space.sample(seed=100 + seed), x, onnx=False)


@pytest.mark.parametrize("name", ["tiny_cnn", "digits_cnn", "nasbench101", "flexibert"])
def test_paths_are_exact_in_the_other_spaces(name):
    """Entangled widths and kernels (tiny_cnn, digits_cnn), per-branch vertices (NAS-Bench-101),
    per-layer widths, heads and depths of a transformer (FlexiBERT)."""
    net = archlang.supernet(space(name), method="spos", seed=0)
    randomize(net, seed=3)
    x = inputs(name, seed=2)
    for seed in range(8):
        _check_path(net, net.space.sample(seed=200 + seed), x, onnx=False)


def test_subnet_state_dict_has_exactly_the_fixed_models_keys_and_shapes():
    net = archlang.supernet(space("darts"), method="darts", seed=0)
    assignment = net.space.sample(seed=7)
    expected = archlang.to_torch(net.space.fix_model(assignment)).state_dict()
    got = net.subnet_state_dict(assignment)
    assert list(got) == list(expected) or sorted(got) == sorted(expected)
    assert {k: tuple(v.shape) for k, v in got.items()} == {k: tuple(v.shape) for k, v in expected.items()}
    # DARTS' cells search with affine-free batch norms: the fixed model gets weight 1, bias 0
    cell_norm = next(k for k in got if k.startswith("cells.0.preprocess0") and k.endswith(".weight")
                     and got[k].dim() == 1)
    assert torch.equal(got[cell_norm], torch.ones_like(got[cell_norm]))
    assert torch.equal(got[cell_norm[:-len("weight")] + "bias"], torch.zeros_like(got[cell_norm]))


def test_subnet_state_dict_is_a_copy():
    net = archlang.supernet(space("nasbench201"), method="spos", seed=0)
    assignment = net.space.sample(seed=0)
    state = net.subnet_state_dict(assignment)
    before = {k: v.clone() for k, v in state.items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    assert all(torch.equal(before[k], state[k]) for k in state)


def test_set_path_refuses_an_assignment_of_another_space():
    net = archlang.supernet(space("nasbench201"), method="spos", seed=0)
    other = archlang.space(space("darts").program, "DARTS", C=8, layers=5).sample(seed=0)
    with pytest.raises(archlang.ArchError, match="another version of space"):
        net.set_path(other)
    with pytest.raises(archlang.ArchError, match="not an option"):
        net.set_path({**net.space.sample(seed=0).values, "1<-0": 9})
