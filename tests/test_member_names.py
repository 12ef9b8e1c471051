"""Any name works in every backend (issue 14, item 2).

The grammar accepts any ``[A-Za-z_][A-Za-z0-9_]*`` that is not one of its keywords, so a spec
may name a member ``self`` (Hugging Face BERT's ``attention.self.query``), ``forward``,
``training``, ``to``, ``state_dict``, ``def`` or ``max``.  In PyTorch the state-dict keys stay
the spec's paths, the generated forward reaches such members through the module's tables,
and an input named after a Python keyword, builtin or ``self`` becomes the parameter
``NAME_``.  ONNX names are strings, DOT identifiers are quoted.

Property tests: generated specs whose block, member, parameter and input names are drawn
from every identifier class; zoo models with a member renamed to one of them.
"""

from __future__ import annotations

import keyword
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _differential import Pair, choose_sizes, positive_everywhere
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import archlang
from archlang.backends.torch import build_module
from archlang.elaborate.program import builtins as language_builtins
from archlang.ir.params import state_dict_entries

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
ARCH_KEYWORDS = set(
    "import from as let block model space input if elif else for in return assert constrain tie and or not "
    "true false none".split())
# the identifier classes of the issue, each a name PyTorch, Python or a backend claims
CLASSES = {
    "python keyword": [k for k in keyword.kwlist + keyword.softkwlist if k not in ARCH_KEYWORDS and k != "_"],
    "nn.Module attribute": ["forward", "training", "to", "state_dict", "parameters", "modules", "children", "eval",
                            "train", "cuda", "cpu", "type", "float", "half", "apply", "register_buffer", "zero_grad",
                            "named_parameters", "load_state_dict", "_modules", "_parameters", "_buffers",
                            "dump_patches", "call_super_init", "T_destination"],
    "generated class attribute": ["code", "graph", "_archlang_sizes"],
    "self": ["self", "cls"],
    "builtin": ["max", "min", "getattr", "len", "print", "id", "object", "super", "list", "dict", "abs", "range",
                "sum", "__import__", "exec"],
    "generated code global": ["torch", "operator", "fx", "archlang_backends_torch_functions_add", "getitem"],
    "dunder": ["__init__", "__call__", "__class__", "__dict__", "__getattr__"],
    "graph word": ["node", "edge", "subgraph", "digraph", "strict", "Identity", "output", "value_info"],
}
NAMES = sorted({n for names in CLASSES.values() for n in names})
USED = {"Linear", "Parameter", "Sequential", "ReLU", "LayerNorm", "min", "B", "T", "y", "z"}  # the spec uses these


def spec(n: dict) -> str:
    return f"""
block {n['block']}({n['param']}: int) {{
    input {n['input']}: [B, T, {n['param']}]
    {n['m1']} = Linear({n['param']}, {n['param']})
    {n['m2']} = Parameter([{n['param']}])
    {n['m3']} = Sequential(Linear({n['param']}, {n['param']}), ReLU())
    {n['m4']} = LayerNorm({n['param']})
    y = {n['m1']}({n['input']}) + {n['m2']}()
    return {n['m4']}({n['m3']}(y))
}}
model {n['model']}() {{
    input {n['model_input']}: [B, T, 8]
    {n['outer']} = {n['block']}(8)
    {n['head']} = Linear(8, 8)
    tie {n['head']}.weight = {n['outer']}.{n['m1']}.weight
    z = {n['outer']}({n['model_input']})
    return {n['head']}(z), z[:, :min(T, 2)]
}}
"""


ROLES = ["block", "param", "input", "m1", "m2", "m3", "m4", "model", "model_input", "outer", "head"]
TOP_LEVEL = {"block", "model"}  # builtins and ops cannot be redefined at the top of a file


def _allowed(role: str, name: str) -> bool:
    if name in USED:
        return False
    return role not in TOP_LEVEL or name not in language_builtins()


@st.composite
def names(draw) -> dict:
    chosen: dict = {}
    for role in ROLES:
        chosen[role] = draw(st.sampled_from([n for n in NAMES if _allowed(role, n) and n not in chosen.values()]),
                            label=role)
    return chosen


def _check_module(text: str, model_name: str) -> Pair:
    model = archlang.api.elaborate(text)
    pair = Pair(model)
    keys = list(pair.module.state_dict())
    assert keys == [key for key, _ in state_dict_entries(model.graph)]
    pair.run(choose_sizes(model))
    return pair


def _check_dot(text: str) -> None:
    dot = archlang.render(text, expand=True)
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=names())
def test_any_name_works_as_block_member_parameter_and_input_name(n):
    text = spec(n)
    pair = _check_module(text, n["model"])
    assert f"{n['outer']}.{n['m1']}.weight" in pair.module.state_dict()
    _check_dot(text)


# every name in every role: names that meet in a scope must differ (the model sees the block), so
# one spec per group of roles that never meet
GROUPS = [("block", "m1"), ("model_input", "m2"), ("input", "outer"), ("head", "m3"), ("model", "m4"), ("param",)]
SAFE = {role: f"safe_{role}" for role in ROLES} | {"block": "Blk", "model": "M"}


@pytest.mark.parametrize("name", NAMES)
def test_every_name_in_every_role(name):
    """Each name in each role (light: the module builds and runs, the ONNX graph checks); the
    property test above compares mixes of names numerically."""
    import onnx

    x = torch.randn(2, 3, 8)
    for group in GROUPS:
        n = dict(SAFE) | {role: name for role in group if _allowed(role, name)}
        model = archlang.api.elaborate(spec(n))
        module = build_module(model, seed=0).eval()
        assert list(module.state_dict()) == [key for key, _ in state_dict_entries(model.graph)]
        head, cut = module(x)
        assert head.shape == (2, 3, 8) and cut.shape == (2, 2, 8)
        onnx.checker.check_model(archlang.api.export_onnx(model, weights=module.state_dict()))


def test_bert_self_attention_names_compile_and_export():
    text = """
block SelfAttention(d: int) {
    input x: [B, T, d]
    query = Linear(d, d)
    key = Linear(d, d)
    value = Linear(d, d)
    return scaled_dot_product_attention(query(x), key(x), value(x))
}
block Attention(d: int) {
    input x: [B, T, d]
    self = SelfAttention(d)
    output = Linear(d, d)
    return output(self(x)) + self(x)
}
model Bert() {
    input x: [B, T, 8]
    attention = Attention(8)
    return attention(x)
}
"""
    pair = _check_module(text, "Bert")
    assert "attention.self.query.weight" in pair.module.state_dict()
    assert "self = self" not in pair.module.attention.code
    x = torch.randn(2, 5, 8)
    compiled = torch.compile(pair.module, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), pair.module(x))
    exported = torch.export.export(pair.module, (x,))
    torch.testing.assert_close(exported.module()(x), pair.module(x))


def test_members_named_like_module_methods_keep_the_methods():
    text = spec({"block": "Block", "param": "d", "input": "self", "m1": "forward", "m2": "to", "m3": "training",
                 "m4": "state_dict", "model": "M", "model_input": "def", "outer": "eval", "head": "cuda"})
    pair = _check_module(text, "M")
    module = pair.module
    assert module.training is False  # eval() still works, and training is still the flag
    assert callable(module.eval) and module.to("cpu") is module
    assert isinstance(module._modules["eval"]._modules["forward"], torch.nn.Linear)
    assert "def forward(self, def_)" in module.code and "def forward(self, self_, d)" not in module.code
    x = torch.randn(2, 3, 8)
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), module(x))


# ---- the zoo, with a member renamed ----------------------------------------------------------

ZOO = [("vision/resnet.arch", "ResNet18", {"x": (1, 3, 32, 32)}), ("vision/mobilenet.arch", "MobileNetV2_Tiny", None),
       ("vision/vit.arch", "ViT_Tiny", None), ("text/gpt2.arch", "GPT2_Tiny", None),
       ("vision/convnext.arch", "ConvNeXt_Mini", None), ("text/mamba.arch", "Mamba_Tiny", None)]
_STRING = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*')


def rename(text: str, old: str, new: str) -> str:
    """Every use of the name ``old`` outside strings and comments becomes ``new``."""
    word = re.compile(rf"(?<![\w.]){re.escape(old)}(?!\w)|(?<=\.){re.escape(old)}(?!\w)")
    out, last = [], 0
    for m in _STRING.finditer(text):
        out.append(word.sub(new, text[last:m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(word.sub(new, text[last:]))
    return "".join(out)


def _member_names(graph, found: set) -> set:
    for name, member in graph.members:
        if re.fullmatch(r"[A-Za-z_]\w{2,}", name):
            found.add(name)
        if member.graph is not None:
            _member_names(member.graph, found)
    return found


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_zoo_models_with_a_member_renamed_still_compile_and_export(data, tmp_path_factory):
    rel, name, inputs = data.draw(st.sampled_from(ZOO), label="model")
    path = ROOT / "specs" / rel
    original = archlang.load(path).elaborate(name, inputs=inputs or {})
    old = data.draw(st.sampled_from(sorted(_member_names(original.graph, set()))), label="member")
    new = data.draw(st.sampled_from([n for n in NAMES if _allowed("m1", n)]), label="new name")
    text = rename(path.read_text(), old, new)
    folder = tmp_path_factory.mktemp("zoo")
    for sibling in path.parent.glob("*.arch"):  # imports resolve next to the copy
        (folder / sibling.name).write_text(sibling.read_text())
    (folder / path.name).write_text(text)
    try:
        model = archlang.load(folder / path.name).elaborate(name, inputs=inputs or {})
    except archlang.ArchError:
        assume(False)  # the new name collided with another use of it in this file
    before = [key for key, _ in state_dict_entries(original.graph)]
    after = [key for key, _ in state_dict_entries(model.graph)]
    assert after == [".".join(new if part == old else part for part in key.split(".")) for key in before]
    sizes = choose_sizes(model)
    assume(positive_everywhere(model, sizes))
    Pair(model).run(sizes)
