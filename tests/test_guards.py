"""``assert`` on symbolic sizes (issue 14, item 7): a guard in the IR, checked at elaboration
when the sizes are concrete and by the compiled torch module once per new input shape."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archlang
from archlang.errors import ArchError, ArchTypeError
from archlang.ir.guards import InputGuard, InputGuardError, model_guards

torch = pytest.importorskip("torch")

from conftest import SPECS  # noqa: E402

GPT2 = str(SPECS / "text/gpt2.arch")
GPT2_ASSERT_LINE = next(i for i, line in enumerate(open(GPT2, encoding="utf-8"), 1) if "assert T <= block_size" in line)

# Swin's window partition: reshapes computed for the declared 56×56 feature map
WINDOWS = textwrap.dedent("""
    block WindowPartition(window: int, dim: int) {
        input x: [B, H, W, dim]
        y = reshape(x, (B, H // window, window, W // window, window, dim))
        return reshape(permute(y, (0, 1, 3, 2, 4, 5)), (-1, window * window, dim))
    }
    model Swinish() {
        input x: [B, 3, 224, 224]
        embed = Conv2d(3, 8, 4, stride=4)
        windows = WindowPartition(7, 8)
        return windows(permute(embed(x), (0, 2, 3, 1)))
    }
""").lstrip()

# a guard inside a block: the position table of a nested block bounds the sequence
NESTED = textwrap.dedent("""
    block Positions(max_len: int, dim: int) {
        input x: [B, T, dim]
        assert T <= max_len and T >= 1
        wpe = Embedding(max_len, dim)
        return x + wpe(arange(T))
    }
    model M() {
        input x: [B, T, 8]
        assert T % 2 == 0, "pairs of tokens"
        pos = Positions(16, 8)
        return pos(x)
    }
""").lstrip()


def test_a_symbolic_assert_is_a_guard_in_the_ir():
    model = archlang.load(GPT2).elaborate("GPT2_Tiny")
    block = next(n for n in model.graph.nodes if n.kind == "input")
    assert block.target == "ids"
    [guard] = model_guards(model.graph)  # GPT2Model's, under `transformer`
    assert (guard.op, guard.text, guard.right) == ("<=", "T <= block_size", 32)
    assert guard.message == "the sequence is longer than block_size"
    assert (Path(guard.span.file).resolve(), guard.span.line) == (Path(GPT2), GPT2_ASSERT_LINE)


def test_concrete_sizes_are_checked_at_elaboration():
    program = archlang.load(GPT2)
    assert model_guards(program.elaborate("GPT2_Tiny", inputs={"ids": (1, 32)}).graph) == ()
    with pytest.raises(ArchError) as info:
        program.elaborate("GPT2_Tiny", inputs={"ids": (1, 40)})
    [d] = info.value.diagnostics
    assert (d.span.line, d.message) == (GPT2_ASSERT_LINE, "the sequence is longer than block_size")
    assert "T <= block_size: 40 <= 32 is false" in d.notes


def test_conditions_decided_for_every_size_leave_no_guard(arch):
    model = arch.load(NESTED).elaborate("M")
    assert [g.text for g in model.graph.guards] == ["T % 2 == 0"]
    nested = model.graph.member("pos").graph
    assert [g.text for g in nested.guards] == ["T <= max_len"]  # `T >= 1` holds for every size
    with pytest.raises(ArchError) as info:
        arch.load("model M() {\n    input x: [B, T]\n    assert T + 1 <= T\n    return x\n}\n")
    assert info.value.diagnostics[0].notes[0] == "T + 1 <= T is false for every size (T + 1 <= T)"


def test_an_assert_on_tensor_values_is_refused(arch):
    with pytest.raises(ArchTypeError, match="not tensor values"):
        arch.load("model M() {\n    input x: [B, 4]\n    assert x < 1\n    return x\n}\n")


def test_the_compiled_model_names_the_spec_line_and_the_sizes():
    module = archlang.to_torch(GPT2, "GPT2_Tiny", seed=0)
    shown = model_guards(archlang.load(GPT2).elaborate("GPT2_Tiny").graph)[0].span.file  # as diagnostics show it
    assert module(torch.zeros(2, 32, dtype=torch.long)).shape == (2, 32, 256)
    with pytest.raises(ValueError) as info:  # was: IndexError inside the position embedding
        module(torch.zeros(2, 33, dtype=torch.long))
    assert isinstance(info.value, InputGuardError)
    assert str(info.value) == (f"{shown}:{GPT2_ASSERT_LINE}:12: error: the sequence is longer than block_size: "
                               "T <= block_size fails for T=33 (33 <= 32)")


def test_guards_of_nested_blocks_are_checked_by_the_model(arch):
    module = archlang.to_torch(str(arch.write("nested.arch", NESTED)), "M", seed=0)
    assert module(torch.zeros(2, 16, 8)).shape == (2, 16, 8)
    with pytest.raises(InputGuardError, match=r"T <= max_len fails for T=18 \(18 <= 16\)$"):
        module(torch.zeros(2, 18, 8))  # was: IndexError inside the embedding
    with pytest.raises(InputGuardError, match=r"pairs of tokens: T % 2 == 0 fails for T=5 \(1 == 0\)$"):
        module(torch.zeros(2, 5, 8))


def test_an_input_of_another_size_than_declared_fails_at_the_input_line(arch):
    path = arch.write("swin.arch", WINDOWS)
    module = archlang.to_torch(str(path), "Swinish", seed=0)
    assert module(torch.zeros(2, 3, 224, 224)).shape == (2 * 64, 49, 8)
    with pytest.raises(InputGuardError) as info:  # was: "shape '[1, 8, 7, 8, 7, 8]' is invalid"
        module(torch.zeros(1, 3, 256, 256))
    assert str(info.value) == (f"{path}:7:11: error: input x of Swinish expects [B, 3, 224, 224], got "
                               "[1, 3, 256, 256] (dim 2: expected 224, got 256)")
    with pytest.raises(InputGuardError, match=r"rank 4 expected, got rank 3"):
        module(torch.zeros(3, 224, 224))


def test_one_size_symbol_has_one_value_across_inputs(arch):
    path = arch.write("two.arch", "model M() {\n    input a: [B, 4]\n    input b: [B, 4]\n    return a + b\n}\n")
    module = archlang.to_torch(str(path), "M", seed=0)
    assert module(torch.zeros(3, 4), torch.zeros(3, 4)).shape == (3, 4)
    with pytest.raises(InputGuardError, match=r"input b of M expects \[B, 4\], got \[2, 4\] \(dim 0: B is 3 here, got 2\)"):
        module(torch.zeros(3, 4), torch.zeros(2, 4))


def test_guards_run_once_per_new_input_shape(monkeypatch):
    module = archlang.to_torch(GPT2, "GPT2_Tiny", seed=0)
    calls = []
    original = InputGuard.sizes
    monkeypatch.setattr(InputGuard, "sizes", lambda self, shapes: calls.append(shapes) or original(self, shapes))
    ids = torch.zeros(1, 8, dtype=torch.long)
    for _ in range(3):
        module(ids)
    module(torch.zeros(1, 9, dtype=torch.long))
    module(torch.zeros(1, 9, dtype=torch.long))
    assert [tuple(s[0]) for s in calls] == [(1, 8), (1, 9)]
    assert "check_inputs(" in module.code


def test_the_guard_survives_copying_and_leaves_the_state_dict_alone():
    module = archlang.to_torch(GPT2, "GPT2_Tiny", seed=0)
    clone = copy.deepcopy(module)
    with pytest.raises(InputGuardError):
        clone(torch.zeros(1, 40, dtype=torch.long))
    assert not any("guard" in key for key in module.state_dict())


@settings(max_examples=60, deadline=None)
@given(a=st.integers(-3, 3), b=st.integers(-20, 20), k=st.integers(1, 9),
       form=st.sampled_from(["{a} * T + {b}", "T % {k} + {b}", "T // {k} * {a} + {b}"]),
       op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), c=st.integers(-10, 40))
def test_an_assert_is_dropped_or_refused_only_when_every_size_agrees(a, b, k, form, op, c):
    """Sound for sizes T >= 1: a guard dropped holds for every T, one refused for none."""
    expr = form.format(a=a, b=b, k=k)
    text = f"model M() {{\n    input x: [B, T]\n    assert {expr} {op} {c}\n    return x\n}}\n"
    outcomes = {eval(f"({expr.replace('T', str(t))}) {op} {c}") for t in range(1, 400)}
    try:
        guards = archlang.loads(text).elaborate("M").graph.guards
    except ArchError:
        assert outcomes == {False}, f"refused, but {expr} {op} {c} holds for some T"
        return
    if not guards:
        assert outcomes == {True}, f"dropped, but {expr} {op} {c} fails for some T"


def test_swin_t_on_a_larger_image_names_its_input_line():
    """The issue's case: was `shape '[1, 8, 7, 8, 7, 96]' is invalid` deep in a window partition."""
    spec = str(SPECS / "vision/swin.arch")
    module = archlang.to_torch(spec, "Swin_T", seed=0)
    with pytest.raises(InputGuardError, match=r"input x of Swin_T expects \[B, 3, 224, 224\], got \[1, 3, 256, 256\] "
                                              r"\(dim 2: expected 224, got 256\)$"):
        module(torch.zeros(1, 3, 256, 256))


def test_a_fixed_architecture_written_back_keeps_its_guards():
    """``to_arch`` (what ``sample`` and a search's best.arch write) writes guards as asserts."""
    import torch

    from archlang.nas.to_arch import model_to_arch

    text = model_to_arch(archlang.load(str(SPECS / "text" / "gpt2.arch")).elaborate("GPT2_Tiny"))
    assert '    assert T <= 32, "the sequence is longer than block_size"' in text.splitlines()
    module = archlang.to_torch(archlang.loads(text, "fixed.arch"), "GPT2_Tiny")
    module(torch.zeros(1, 32, dtype=torch.long))
    with pytest.raises(ValueError, match=r"fixed\.arch:\d+:\d+: error: .*T=33"):
        module(torch.zeros(1, 33, dtype=torch.long))
