"""The language, construct by construct: tables of valid specs and what their IR must be.

Every case asserts behaviour (output types, member names and paths, repeat counts, choice
labels …), never merely that elaboration raised nothing.  The property test at the end
generates random MLP/CNN programs and checks their shapes against an independent
computation of the convolution/linear arithmetic.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archlang
from archlang.errors import ArchError, SpaceError
from archlang.ir import Graph, Model, Node, dims

# ---- reading the IR ------------------------------------------------------------------------


def out_types(model: Model) -> list[str]:
    return [str(t) for t in model.graph.output_types]


def member_names(graph: Graph) -> list[str]:
    return [name for name, _ in graph.members]


def member_paths(model: Model) -> list[str]:
    """Every member's dotted path, depth first (``layer1.0.conv1``)."""
    found: list[str] = []

    def walk(members, prefix):
        for name, member in members:
            found.append(prefix + name)
            walk(member.own_members(), prefix + name + ".")

    walk(model.graph.members, "")
    return found


def all_nodes(graph: Graph):
    """Every node of a graph and of the bodies and branches below it."""
    seen: set[int] = set()

    def walk(nodes):
        for node in nodes:
            yield node
            if node.body is not None and id(node.body) not in seen:
                seen.add(id(node.body))
                yield from walk(node.body.nodes)
            yield from walk(node.branches)

    yield from walk(graph.nodes)


def calls(graph: Graph, target: str) -> list[Node]:
    return [n for n in graph.nodes if n.target == target and n.kind in ("call", "choice")]


def body_of(graph: Graph, target: str) -> Graph:
    (node,) = [n for n in graph.nodes if n.target == target and n.body is not None][:1]
    return node.body


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# ---- definitions, parameters and arguments ---------------------------------------------------

TYPED_PARAMS = src('''
    block P(n: int = 3, f: float = 0.5, b: bool = true, s: str = "gelu", l: list[int] = [4, 8],
            t: tuple[int, int] = (2, 3), d: dim = 1, anything: any = none) {
        """Every parameter type, each with a default."""
        input x: [B, 4]
        fc = Linear(4, n + len(l) + t[0] * t[1] + d)
        act = GELU() if s == "gelu" else ReLU()
        return act(fc(x))
    }
    model M = P()
    model Positional = P(5, 0.25, false, "relu", [1], (1, 1))
    model Keywords = P(t=(4, 4), n=1)
''')


def test_typed_parameters_and_defaults(arch):
    program = arch.load(TYPED_PARAMS)
    m = program.elaborate("M")
    assert m.params == {"n": 3, "f": 0.5, "b": True, "s": "gelu", "l": (4, 8), "t": (2, 3), "d": 1,
                        "anything": None}
    assert out_types(m) == ["float32[B, 12]"]  # 3 + 2 + 2*3 + 1
    assert m.graph.member("act").op == "GELU"
    assert m.graph.doc == "Every parameter type, each with a default."


def test_positional_arguments(arch):
    m = arch.load(TYPED_PARAMS).elaborate("Positional")
    assert m.params["b"] is False and m.params["s"] == "relu" and m.params["f"] == 0.25
    assert out_types(m) == ["float32[B, 8]"]  # 5 + 1 + 1 + 1
    assert m.graph.member("act").op == "ReLU"


def test_keyword_arguments_in_any_order(arch):
    m = arch.load(TYPED_PARAMS).elaborate("Keywords")
    assert m.params["t"] == (4, 4) and m.params["n"] == 1 and m.params["l"] == (4, 8)
    assert out_types(m) == ["float32[B, 20]"]  # 1 + 2 + 16 + 1


def test_entry_parameters_override_defaults(arch):
    program = arch.load(TYPED_PARAMS)
    assert out_types(program.elaborate("P", params={"n": 10})) == ["float32[B, 19]"]
    # an alias (`model M = P()`) still takes the block's parameters
    assert out_types(program.elaborate("M", params={"l": [1, 2, 3, 4]})) == ["float32[B, 14]"]


def test_layer_arguments_positional_and_keyword(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 3, 32, 32]
            conv = Conv2d(3, 8, 3, stride=2, padding=1, bias=false)
            pool = MaxPool2d(kernel_size=2)
            return pool(conv(x))
        }
    ''')
    conv = m.graph.member("conv")
    assert conv.kind == "layer" and conv.op == "Conv2d"
    assert conv.attrs["in_channels"] == 3 and conv.attrs["out_channels"] == 8
    assert conv.attrs["kernel_size"] == (3, 3) and conv.attrs["stride"] == (2, 2) and conv.attrs["bias"] is False
    assert [p.name for p in conv.params] == ["weight"]  # bias=false: no bias parameter
    assert out_types(m) == ["float32[B, 8, 8, 8]"]


BLOCK_PARAM = src('''
    block Small(c: int) {
        input x: [B, c]
        fc = Linear(c, c)
        return fc(x)
    }
    block Big(c: int, expand: int = 2) {
        input x: [B, c]
        fc1 = Linear(c, expand * c)
        fc2 = Linear(expand * c, c)
        return fc2(relu(fc1(x)))
    }
    block Net(body: block = Small, n: int = 2) {
        input x: [B, 8]
        layers = Sequential([body(8) for i in range(n)])
        return layers(x)
    }
    model Default = Net()
    model WithBig = Net(Big)
    model Keyword = Net(body=Big, n=3)
''')


@pytest.mark.parametrize("entry,block,count,members", [
    ("Default", "Small", 2, ["fc"]),
    ("WithBig", "Big", 2, ["fc1", "fc2"]),
    ("Keyword", "Big", 3, ["fc1", "fc2"]),
])
def test_block_as_parameter(arch, entry, block, count, members):
    m = arch.load(BLOCK_PARAM).elaborate(entry)
    assert m.params["body"] == block
    layers = m.graph.member("layers")
    assert layers.kind == "sequential"
    assert [name for name, _ in layers.members] == [str(i) for i in range(count)]
    first = layers.member("0")
    assert first.kind == "block" and first.op == block and member_names(first.graph) == members
    (node,) = [n for n in body_of(m.graph, "layers").nodes if n.kind == "call"]
    assert node.repeat == count and node.op == block


# ---- inputs --------------------------------------------------------------------------------


def test_input_dtype_and_symbolic_sizes(arch):
    m = arch.elaborate('''
        model M() {
            input ids: int64[B, T]
            input mask: bool[B, T]
            emb = Embedding(100, 16)
            return emb(ids)
        }
    ''')
    inputs = m.graph.input_nodes
    assert [(n.target, str(n.type)) for n in inputs] == [("ids", "int64[B, T]"), ("mask", "bool[B, T]")]
    assert out_types(m) == ["float32[B, T, 16]"]


def test_ellipsis_input_matches_any_leading_dims(arch):
    m = arch.elaborate('''
        block Head(c: int, k: int) {
            input x: [..., c]
            fc = Linear(c, k)
            return fc(x)
        }
        model M() {
            input a: [B, 16]
            input b: [B, T, S, 16]
            head = Head(16, 4)
            return head(a), head(b)
        }
    ''')
    assert out_types(m) == ["float32[B, 4]", "float32[B, T, S, 4]"]
    assert member_names(m.graph) == ["head"]  # one member, applied at two ranks
    first, second = calls(m.graph, "head")
    assert first.body is not second.body  # two instances: different input types


def test_sizes_named_by_an_input_are_values(arch):
    program = arch.load('''
        model M() {
            input x: [B, C, H, W]
            pool = AdaptiveAvgPool2d(1)
            fc = Linear(C, 2 * C)
            return fc(flatten(pool(x), 1))
        }
    ''')
    assert out_types(program.elaborate("M")) == ["float32[B, 2*C]"]
    concrete = program.elaborate("M", inputs={"x": (2, 3, 8, 8)})
    assert out_types(concrete) == ["float32[2, 6]"]
    assert concrete.graph.member("fc").attrs["in_features"] == 3


def test_input_dims_can_be_expressions_of_parameters(arch):
    m = arch.elaborate('''
        block Up(c: int) {
            input x: [B, 2 * c, H, W]
            conv = Conv2d(2 * c, c, 1)
            return conv(x)
        }
        model M() {
            input x: [B, 8, 5, 5]
            up = Up(4)
            return up(x)
        }
    ''')
    assert out_types(m) == ["float32[B, 4, 5, 5]"]


def test_several_inputs_and_outputs(arch):
    m = arch.elaborate('''
        block Pair(c: int) {
            input a: [B, c]
            input b: [B, c]
            return a + b, a * b
        }
        model M() {
            input x: [B, 4]
            input y: [B, 4]
            pair = Pair(4)
            s, p = pair(x, y)
            return s - p
        }
    ''')
    assert out_types(m) == ["float32[B, 4]"]
    (node,) = calls(m.graph, "pair")
    assert [str(t) for t in node.type] == ["float32[B, 4]", "float32[B, 4]"]
    assert len(node.body.outputs) == 2 and len(node.body.input_nodes) == 2
    items = [n for n in m.graph.nodes if n.op == "item"]
    assert [(n.inputs, n.attrs["index"]) for n in items] == [((node.name,), 0), ((node.name,), 1)]


# ---- members and their names ---------------------------------------------------------------

RESIDUAL = src('''
    block Basic(cin: int, cout: int, stride: int = 1) {
        input x: [B, cin, H, W]
        conv1 = Conv2d(cin, cout, 3, stride=stride, padding=1, bias=false)
        bn1 = BatchNorm2d(cout)
        conv2 = Conv2d(cout, cout, 3, padding=1, bias=false)
        bn2 = BatchNorm2d(cout)
        identity = x
        if stride != 1 or cin != cout {
            downsample = Sequential(Conv2d(cin, cout, 1, stride=stride, bias=false), BatchNorm2d(cout))
            identity = downsample(x)
        }
        return relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)
    }
    block Net(widths: list[int] = [8, 16], depth: int = 3) {
        input x: [B, 3, 32, 32]
        stem = Conv2d(3, widths[0], 3, padding=1)
        layer1 = Sequential([Basic(widths[0], widths[0]) for i in range(depth)])
        layer2 = Sequential([Basic(widths[0] if i == 0 else widths[1], widths[1], 2 if i == 0 else 1)
                             for i in range(depth)])
        return layer2(layer1(stem(x)))
    }
    model M = Net()
''')


def test_member_names_and_paths(arch):
    m = arch.load(RESIDUAL).elaborate("M")
    assert member_names(m.graph) == ["stem", "layer1", "layer2"]
    paths = member_paths(m)
    for path in ("layer1.0.conv1", "layer1.2.bn2", "layer2.0.downsample.0", "layer2.0.downsample.1",
                 "layer2.1.conv2", "layer2.2.bn1"):
        assert path in paths
    assert "layer1.0.downsample" not in paths  # stride 1, same width: no downsample member
    assert "layer2.1.downsample" not in paths
    assert out_types(m) == ["float32[B, 16, 16, 16]"]


def test_conditional_member(arch):
    program = arch.load(RESIDUAL)
    plain = program.elaborate("Basic", params={"cin": 8, "cout": 8})
    assert member_names(plain.graph) == ["conv1", "bn1", "conv2", "bn2"]
    strided = program.elaborate("Basic", params={"cin": 8, "cout": 8, "stride": 2})
    assert member_names(strided.graph) == ["conv1", "bn1", "conv2", "bn2", "downsample"]
    downsample = strided.graph.member("downsample")
    assert downsample.kind == "sequential" and [n for n, _ in downsample.members] == ["0", "1"]
    assert out_types(strided) == ["float32[B, 8, (H + 1)//2, (W + 1)//2]"]


def test_repetition_stays_rolled(arch):
    m = arch.load(RESIDUAL).elaborate("M", params={"depth": 6})
    layer1 = body_of(m.graph, "layer1")
    (run,) = [n for n in layer1.nodes if n.kind == "call"]
    assert run.repeat == 6 and run.target == "0" and run.op == "Basic"
    layer2 = body_of(m.graph, "layer2")
    assert [(n.target, n.repeat) for n in layer2.nodes if n.kind == "call"] == [("0", 1), ("1", 5)]
    members = m.graph.member("layer1").members
    assert [name for name, _ in members] == [str(i) for i in range(6)]
    assert all(member is members[0][1] for _, member in members)  # one shared description


def test_sequential_numbering_and_prefix(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 4]
            mlp = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
            named = Sequential([Linear(2, 2) for i in range(2)], prefix="fc")
            second = mlp[2]
            return named(mlp(x)), second(mlp[0](x)), named.fc1(x[:, 0:2])
        }
    ''')
    assert [n for n, _ in m.graph.member("mlp").members] == ["0", "1", "2"]
    assert [n for n, _ in m.graph.member("named").members] == ["fc0", "fc1"]
    assert m.graph.member("named").attrs == {"prefix": "fc"}
    assert {n.target for n in m.graph.nodes if n.kind == "call"} == {"mlp", "named", "mlp.0", "mlp.2", "named.fc1"}
    assert out_types(m) == ["float32[B, 2]", "float32[B, 2]", "float32[B, 2]"]


def test_for_loop_over_a_sequential(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 4]
            seq = Sequential(Linear(4, 6), ReLU(), Linear(6, 3))
            for layer in seq {
                x = layer(x)
            }
            return x
        }
    ''')
    assert [n.target for n in m.graph.nodes if n.kind == "call"] == ["seq.0", "seq.1", "seq.2"]
    assert out_types(m) == ["float32[B, 3]"]


def test_parameter_sharing_one_member_applied_twice(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 8]
            fc = Linear(8, 8)
            h = fc(x)
            h = fc(relu(h))
            return h
        }
    ''')
    assert member_names(m.graph) == ["fc"]
    applications = calls(m.graph, "fc")
    assert len(applications) == 2
    assert applications[1].inputs != applications[0].inputs


def test_inline_layer_is_named_after_its_target(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 4]
            y = Linear(4, 8)(x)
            y = Linear(8, 2)(y)
            return y
        }
    ''')
    assert member_names(m.graph) == ["y", "y_1"]
    assert [m.graph.member(n).attrs["out_features"] for n in ("y", "y_1")] == [8, 2]


def test_tie(arch):
    m = arch.elaborate('''
        model M() {
            input ids: int64[B, T]
            emb = Embedding(50, 16)
            head = Linear(16, 50, bias=false)
            tie head.weight = emb.weight
            return head(emb(ids))
        }
    ''')
    assert [(t.target, t.source) for t in m.graph.ties] == [("head.weight", "emb.weight")]
    assert m.graph.ties[0].span.line == 5
    assert "tie head.weight = emb.weight" in archlang.format_ir(m)


def test_layer_factory_block(arch):
    m = arch.elaborate('''
        block Act(name: str) {
            """A block without inputs returns a layer."""
            if name == "relu" {
                return ReLU()
            }
            return GELU()
        }
        model M() {
            input x: [B, 4]
            a = Act("relu")
            g = Act("gelu")
            return g(a(x))
        }
    ''')
    assert [(n, mem.op) for n, mem in m.graph.members] == [("a", "ReLU"), ("g", "GELU")]


def test_docstrings_are_kept(arch):
    m = arch.elaborate('''
        block Inner() {
            """Inner block.

            Second paragraph."""
            input x: [B, 4]
            return relu(x)
        }
        block NoDoc() {
            input x: [B, 4]
            return x
        }
        model M() {
            """The model."""
            input x: [B, 4]
            inner = Inner()
            plain = NoDoc()
            return plain(inner(x))
        }
    ''')
    assert m.graph.doc == "The model."
    assert m.graph.member("inner").graph.doc.startswith("Inner block.\n")
    assert "Second paragraph." in m.graph.member("inner").graph.doc
    assert m.graph.member("plain").graph.doc is None


def test_let_constants_and_assert(arch):
    m = arch.elaborate('''
        let WIDTH = 4 * 4
        let WIDTHS = [WIDTH, WIDTH * 2]
        model M() {
            input x: [B, 3]
            assert len(WIDTHS) == 2, "two widths"
            fc = Linear(3, WIDTHS[-1])
            return fc(x)
        }
    ''')
    assert out_types(m) == ["float32[B, 32]"]


# ---- lexical matters -----------------------------------------------------------------------

LEXICAL = [
    pytest.param("model M() {\r\n    input x: [B, 4]\r\n    return relu(x)\r\n}\r\n", id="crlf-line-ends"),
    pytest.param("\ufeffmodel M() {\n    input x: [B, 4]\n    return relu(x)\n}\n", id="byte-order-mark"),
    pytest.param("# comment\n\nmodel M() {  # trailing\n    # inside\n    input x: [B, 4]\n\n    return relu(x)  # done\n}\n",
                 id="comments-and-blank-lines"),
    pytest.param("model M() {\n\tinput x: [B, 4]\n\treturn relu(x)\n}\n", id="tab-indentation"),
    pytest.param("model M() {\n    input x: [B,\n              4]\n    fc = Linear(\n        4,\n        4,\n    )\n"
                 "    return relu(fc(x))\n}\n", id="newlines-inside-brackets"),
    pytest.param("model M() {\n    input x: [B, 4]\n    k = 1 + \\\n        1\n    return relu(x)\n}\n",
                 id="line-continuation"),
    pytest.param('model M() {\n    """Doc with "quotes", \\n escapes and\n    two lines."""\n    input x: [B, 4]\n'
                 '    s = \'it\\\'s\' + "\\t" + """x"""\n    assert len(s) == 6\n    return relu(x)\n}\n', id="strings"),
    pytest.param("model M() {\n    input x: [B, 4]\n    if true { x = relu(x) }\n    return x\n}\n", id="one-line-if"),
    pytest.param("block A(a: int = 1,) {\n    input x: [B, 4]\n    return relu(x)\n}\nmodel M = A()\n",
                 id="trailing-comma-in-parameters"),
]


@pytest.mark.parametrize("text", LEXICAL)
def test_lexical_forms(arch, text):
    program = arch.load(text)
    assert program.models == ["M"]
    assert out_types(program.elaborate("M")) == ["float32[B, 4]"]


def test_unknown_escapes_are_kept_verbatim(arch):
    m = arch.elaborate('model M() {\n    """a \\d b"""\n    input x: [B, 4]\n    return x\n}\n')
    assert m.graph.doc == "a \\d b"


# ---- constant expressions ------------------------------------------------------------------

CONSTANTS = [
    ("7 // 2", 3), ("-7 // 2", -4), ("7 % 3", 1), ("-7 % 3", 2), ("2 ** 5", 32), ("2 + 3 * 4", 14),
    ("(2 + 3) * 4", 20), ("2 ** 3 ** 2", 512), ("-2 ** 2", -4), ("10 - 4 - 3", 3),
    ("min(3, 9)", 3), ("max(3, 9)", 9), ("min([4, 2, 8])", 2), ("max([4, 2, 8])", 8),
    ("abs(-6)", 6), ("int(7.9)", 7), ("round(2.6)", 3), ("int(10 / 4)", 2),
    ("1 if 3 > 2 else 0", 1), ("1 if 3 < 2 else 0", 0), ("5 if 1 < 2 < 3 else 6", 5),
    ("5 if 1 < 3 < 2 else 6", 6), ("1 if true and not false else 0", 1), ("1 if false or true else 0", 1),
    ("1 if not 1 == 2 else 0", 1), ("1 if 2 in [1, 2] else 0", 1), ("1 if 3 not in [1, 2] else 0", 1),
    ("1 if \"b\" in \"abc\" else 0", 1), ("1 if 2 >= 2 and 2 <= 2 and 2 != 3 else 0", 1),
    ("[10, 20, 30][1]", 20), ("[10, 20, 30][-1]", 30), ("(4, 5)[0]", 4), ("len([1, 2, 3])", 3),
    ("len(range(2, 10, 3))", 3), ("sum([1, 2, 3])", 6), ("sum(range(5))", 10),
    ("len([i for i in range(10) if i % 2 == 0])", 5), ("sum([i * i for i in range(4)])", 14),
    ("sum([p[0] * p[1] for p in zip([1, 2], [3, 4])])", 11), ("sum([e[0] for e in enumerate([7, 7, 7])])", 3),
    ("len([1, 2] + [3])", 3), ("len([0] * 4)", 4), ("len(\"ab\" + \"cd\")", 4), ("len(\"ab\" * 3)", 6),
    ("1 if any([false, true]) and all([true, true]) else 0", 1), ("1 if str(12) == \"12\" else 0", 1),
    ("int(-1.5 * -2)", 3), ("int(-0.5 + 2)", 1), ("int(2 ** -1 * 4)", 2), ("1_000 // 100", 10), ("int(1.5e1)", 15), ("len([1, 2, 3][1:])", 2), ("[1, 2, 3, 4][::2][1]", 3),
]


@pytest.mark.parametrize("expr,value", CONSTANTS, ids=[e for e, _ in CONSTANTS])
def test_constant_expression(arch, expr, value):
    """Each expression's value shows in the IR: it sizes a Linear layer (or is asserted)."""
    spec = f'''
        model M() {{
            input x: [B, 2]
            v = {expr}
            assert v == {value}, "got " + str(v)
            fc = Linear(2, max(v, 1))
            return fc(x)
        }}
    '''
    m = arch.elaborate(spec)
    assert out_types(m) == [f"float32[B, {max(value, 1)}]"]


# ---- tensor operations ---------------------------------------------------------------------

TENSOR_OPS = [
    # (inputs, expression, expected type)
    ("x: [B, 4]; y: [B, 4]", "x + y", "float32[B, 4]"),
    ("x: [B, T, 4]; y: [4]", "x - y", "float32[B, T, 4]"),
    ("x: [B, 4]", "x * 2.0", "float32[B, 4]"),
    ("x: [B, 4]", "2 * x", "float32[B, 4]"),
    ("x: [B, 4]; y: [B, 1]", "x / y", "float32[B, 4]"),
    ("x: [B, 4]", "-x", "float32[B, 4]"),
    ("x: [B, 3, 4]; w: [4, 5]", "x @ w", "float32[B, 3, 5]"),
    ("x: [B, T, 8]", "x @ x.permute((0, 2, 1))", "float32[B, T, T]"),
    ("x: [B, 4]", "relu(x)", "float32[B, 4]"),
    ("x: [B, 4]", "softmax(x, dim=-1)", "float32[B, 4]"),
    ("x: [B, 3]; y: [B, 5]", "cat([x, y], dim=1)", "float32[B, 8]"),
    ("x: [B, 3]; y: [B, 3]", "stack([x, y], dim=1)", "float32[B, 2, 3]"),
    ("x: [B, 12]", "reshape(x, (B, 3, 4))", "float32[B, 3, 4]"),
    ("x: [2, 12]", "reshape(x, (-1, 6))", "float32[4, 6]"),
    ("x: [B, 12]", "x.reshape((B, 2, -1))", "float32[B, 2, 6]"),
    ("x: [B, T, C]", "permute(x, (0, 2, 1))", "float32[B, C, T]"),
    ("x: [B, T, C]", "x.transpose(1, 2)", "float32[B, C, T]"),
    ("x: [B, T, C]", "x[:, 0]", "float32[B, C]"),
    ("x: [B, T, C]", "x[..., 0]", "float32[B, T]"),
    ("x: [B, 10]", "x[:, 2:5]", "float32[B, 3]"),
    ("x: [B, C, H, W]", "x.flatten(1)", "float32[B, C*H*W]"),
    ("x: [B, C, H, W]", "mean(x, dim=(2, 3))", "float32[B, C]"),
    ("x: [B, 4]", "x.unsqueeze(1)", "float32[B, 1, 4]"),
    ("x: [B, 4]; y: [B, 4]; z: [B, 4]", "sum([x, y, z])", "float32[B, 4]"),
    ("x: [B, 6]", "Linear(x.shape[1], x.shape[-1] // 2)(x)", "float32[B, 3]"),
    ("x: [B, 6]", "Linear(6, x.ndim)(x)", "float32[B, 2]"),
    ("x: int64[B, 6]", "x.to(dtype=\"float32\")", "float32[B, 6]"),
    ("x: [B, 4]", "sigmoid(x) * tanh(x) + gelu(x)", "float32[B, 4]"),
]


@pytest.mark.parametrize("inputs,expr,expected", TENSOR_OPS, ids=[e for _, e, _ in TENSOR_OPS])
def test_tensor_operation(arch, inputs, expr, expected):
    decls = "\n".join(f"    input {decl.strip()}" for decl in inputs.split(";"))
    m = arch.elaborate(f"model M() {{\n{decls}\n    y = {expr}\n    return y\n}}\n")
    assert out_types(m) == [expected]


def test_tensor_arithmetic_builds_op_nodes(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 4]
            input y: [B, 4]
            return (x + y) * (x - y) / x @ y.transpose(0, 1)
        }
    ''')
    ops = [n.op for n in m.graph.nodes if n.kind == "op"]
    assert ops == ["add", "sub", "mul", "div", "transpose", "matmul"]
    assert out_types(m) == ["float32[B, B]"]


# ---- imports -------------------------------------------------------------------------------

LIB = '''
    let WIDTH = 8
    block Lin(i: int, o: int = WIDTH) {
        """A linear layer."""
        input x: [..., i]
        fc = Linear(i, o)
        return fc(x)
    }
    block Twice(i: int) {
        """Applies one Lin twice: shared parameters."""
        input x: [B, i]
        a = Lin(i, i)
        return a(a(x))
    }
'''

IMPORTS = [
    pytest.param(
        {"lib.arch": LIB},
        '''
        from "lib.arch" import Lin, WIDTH
        model M() {
            input x: [B, 3]
            a = Lin(3)
            b = Lin(WIDTH, 2)
            return b(a(x))
        }
        ''',
        ["float32[B, 2]"], ["a", "b"], id="from-import"),
    pytest.param(
        {"lib.arch": LIB},
        '''
        import "lib.arch" as lib
        model M() {
            input x: [B, 3]
            a = lib.Lin(3, lib.WIDTH * 2)
            t = lib.Twice(16)
            return t(a(x))
        }
        ''',
        ["float32[B, 16]"], ["a", "t"], id="import-as"),
    pytest.param(
        {"lib.arch": LIB},
        '''
        import "lib.arch"
        model M() {
            input x: [B, 3]
            a = Lin(3)
            t = Twice(8)
            return t(a(x))
        }
        ''',
        ["float32[B, 8]"], ["a", "t"], id="import-all-blocks"),
    pytest.param(
        {"nn/layers.arch": '''
            import "helpers.arch" as h
            block Proj(i: int) {
                input x: [B, i]
                fc = h.Lin(i, h.SIZE)
                return fc(x)
            }
         ''',
         "nn/helpers.arch": '''
            let SIZE = 5
            block Lin(i: int, o: int) {
                input x: [B, i]
                fc = Linear(i, o)
                return fc(x)
            }
         '''},
        '''
        from "nn/layers.arch" import Proj
        model M() {
            input x: [B, 3]
            p = Proj(3)
            return p(x)
        }
        ''',
        ["float32[B, 5]"], ["p"], id="relative-to-the-importing-file"),
    pytest.param(
        {"a.arch": 'import "common.arch" as c\nlet A = c.K + 1\n',
         "b.arch": 'import "common.arch" as c\nlet B = c.K + 2\n',
         "common.arch": "let K = 10\n"},
        '''
        from "a.arch" import A
        from "b.arch" import B
        model M() {
            input x: [N, 1]
            fc = Linear(1, A + B)
            return fc(x)
        }
        ''',
        ["float32[N, 23]"], ["fc"], id="diamond"),
    pytest.param(
        {},
        '''
        from std import MLP
        import std
        model M() {
            input x: [B, 4]
            mlp = MLP(4, 16, 2)
            act = std.Activation("relu")
            return act(mlp(x))
        }
        ''',
        ["float32[B, 2]"], ["mlp", "act"], id="standard-library"),
]


@pytest.mark.parametrize("files,main,out,members", IMPORTS)
def test_imports(arch, files, main, out, members):
    m = arch.load(main, files).elaborate("M")
    assert out_types(m) == out
    assert member_names(m.graph) == members


def test_imported_block_keeps_its_doc_and_file(arch):
    program = arch.load('from "lib.arch" import Twice\nmodel M = Twice(3)\n', {"lib.arch": LIB})
    m = program.elaborate("M")
    assert m.graph.doc == "Applies one Lin twice: shared parameters." and m.graph.name == "Twice"
    assert m.graph.span.file.endswith("lib.arch")
    assert m.graph.member("a").graph.doc == "A linear layer."
    assert len(calls(m.graph, "a")) == 2
    assert program.models == ["M"] and program.blocks == []  # imported names are not the file's own


# ---- search constructs ---------------------------------------------------------------------


def test_choice_over_ints_is_a_symbolic_size(arch):
    program = arch.load('''
        space S() {
            input x: [B, 3, 8, 8]
            w = choice(16, 32, 64)
            conv = Conv2d(3, w, 3, padding=1)
            return conv(x)
        }
    ''')
    m = program.elaborate("S")
    assert out_types(m) == ["float32[B, w, 8, 8]"]
    ((decl),) = m.choices
    assert (decl.label, decl.kind, decl.options) == ("w", "value", (16, 32, 64))
    (param,) = [p for p in m.graph.member("conv").params if p.name == "weight"]
    assert dims.to_str(param.shape[0]) == "w"
    fixed = program.elaborate("S", assignment={"w": 2})
    assert out_types(fixed) == ["float32[B, 64, 8, 8]"] and fixed.choices == () and fixed.is_concrete


def test_choice_over_layers(arch):
    m = arch.elaborate('''
        space S() {
            input x: [B, 8]
            act = choice(ReLU(), GELU(), Tanh())
            return act(x)
        }
    ''', entry="S")
    (node,) = calls(m.graph, "act")
    assert node.kind == "choice" and node.label == "act"
    assert [b.op for b in node.branches] == ["ReLU", "GELU", "Tanh"]
    member = m.graph.member("act")
    assert member.kind == "choice" and [n for n, _ in member.members] == ["0", "1", "2"]
    assert m.choices[0].options == ("ReLU", "GELU", "Tanh")
    assert out_types(m) == ["float32[B, 8]"]


def test_choice_over_blocks_with_different_widths(arch):
    program = arch.load('''
        block Narrow(c: int) {
            input x: [B, c]
            fc = Linear(c, 4)
            return fc(x)
        }
        block Wide(c: int) {
            input x: [B, c]
            fc = Linear(c, 16)
            return relu(fc(x))
        }
        space S() {
            input x: [B, 8]
            body = choice(Narrow(8), Wide(8))
            return body(x)
        }
    ''')
    m = program.elaborate("S")
    (node,) = calls(m.graph, "body")
    assert [b.op for b in node.branches] == ["Narrow", "Wide"]
    assert [member_names(b.body) for b in node.branches] == [["fc"], ["fc"]]
    (out,) = m.graph.output_types
    assert out.shape[0] == dims.sym("B")
    assert {dims.evaluate(out.shape[1], {"body#": i}) for i in (0, 1)} == {4, 16}
    assert out_types(program.elaborate("S", assignment={"body": 1})) == ["float32[B, 16]"]


def test_label_shares_one_decision(arch):
    m = arch.elaborate('''
        space S() {
            input x: [B, 4]
            up = Linear(4, choice(8, 16, label="width"))
            down = Linear(choice(8, 16, label="width"), 2)
            return down(relu(up(x)))
        }
    ''', entry="S")
    assert [c.label for c in m.choices] == ["width"]
    assert m.graph.member("down").attrs["in_features"] == dims.sym("width", (8, 16))
    assert out_types(m) == ["float32[B, 2]"]


def test_nested_choices(arch):
    program = arch.load('''
        block Cell(c: int) {
            input x: [B, c]
            op = choice(ReLU(), Identity())
            return op(x)
        }
        space S() {
            input x: [B, 4]
            act = choice(choice(ReLU(), Tanh()), Identity(), label="act")
            cell = choice(Cell(4), Identity())
            return cell(act(x))
        }
    ''')
    m = program.elaborate("S")
    labels = {c.label for c in m.choices}
    assert labels == {"act", "act.0", "cell", "cell.0.op"}
    (node,) = calls(m.graph, "act")
    inner = node.branches[0]
    assert inner.kind == "choice" and inner.label == "act.0" and [b.op for b in inner.branches] == ["ReLU", "Tanh"]
    text = archlang.format_ir(m)
    assert "[act.0]" in text and "ReLU()" in text and "Tanh()" in text
    fixed = program.elaborate("S", assignment={"act": 0, "act.0": 1, "cell": 1})
    assert fixed.choices == ()
    assert [n.op for n in fixed.graph.nodes if n.kind == "call"] == ["Tanh", "Identity"]


def test_searched_repeat_count(arch):
    program = arch.load('''
        block Cell(c: int) {
            input x: [B, c, H, W]
            conv = Conv2d(c, c, 3, padding=1)
            return relu(conv(x))
        }
        space S() {
            input x: [B, 8, 16, 16]
            blocks = Sequential([Cell(8) for i in range(choice(2, 3, 4, label="depth"))])
            return blocks(x)
        }
    ''')
    m = program.elaborate("S")
    member = m.graph.member("blocks")
    assert dims.to_str(member.count) == "depth"
    assert [n for n, _ in member.members] == ["0", "1", "2", "3"]  # built for the longest
    (run,) = [n for n in body_of(m.graph, "blocks").nodes if n.kind == "call"]
    assert dims.to_str(run.repeat) == "depth"
    assert "×depth" in archlang.format_ir(m)
    assert [(c.label, c.options) for c in m.choices] == [("depth", (2, 3, 4))]
    fixed = program.elaborate("S", assignment={"depth": 1})
    (run,) = [n for n in body_of(fixed.graph, "blocks").nodes if n.kind == "call"]
    assert run.repeat == 3 and fixed.choices == ()


def test_searched_repeat_after_a_first_different_item(arch):
    m = arch.elaborate('''
        space S() {
            input x: [B, 4]
            layers = Sequential([Linear(4 if i == 0 else 8, 8) for i in range(choice(1, 3, label="n"))])
            return layers(x)
        }
    ''', entry="S")
    runs = [(n.target, dims.to_str(n.repeat)) for n in body_of(m.graph, "layers").nodes if n.kind == "call"]
    assert runs == [("0", "1"), ("1", "n - 1")]
    assert out_types(m) == ["float32[B, 8]"]


def test_choice_of_a_float_makes_a_choice_of_layers(arch):
    m = arch.elaborate('''
        space S() {
            input x: [B, 4]
            drop = Dropout(p=choice(0.1, 0.3))
            return drop(x)
        }
    ''', entry="S")
    (node,) = calls(m.graph, "drop")
    assert node.kind == "choice" and node.label == "drop.p"
    assert [m.graph.member("drop").member(str(i)).attrs["p"] for i in (0, 1)] == [0.1, 0.3]


def test_choose_k_of_candidates(arch):
    program = arch.load('''
        space S() {
            input x: [B, 4]
            a = relu(x)
            b = tanh(x)
            c = sigmoid(x)
            p, q = choose(2, [a, b, c], label="edges")
            return p + q
        }
    ''')
    m = program.elaborate("S")
    ((decl),) = m.choices
    assert decl.kind == "subset" and decl.k == 2 and len(decl.options) == 3
    assert out_types(m) == ["float32[B, 4]"]
    fixed = program.elaborate("S", assignment={"edges": [0, 2]})
    assert fixed.choices == ()
    assert "choose" not in [n.op for n in fixed.graph.nodes]


def test_unpacking_a_multi_output_op(arch):
    m = arch.elaborate('''
        model M() {
            input x: [B, 8]
            a, b = chunk(x, 2, dim=1)
            return a * b
        }
    ''')
    assert out_types(m) == ["float32[B, 4]"]


SPACE_AND_MODEL = src('''
    block Body(c: int) {
        input x: [B, c]
        act = choice(ReLU(), GELU())
        fc = Linear(c, choice(4, 8, label="out"))
        return fc(act(x))
    }
    space S() {
        input x: [B, 4]
        body = Body(4)
        return body(x)
    }
''')


def test_space_with_free_choices_checks(arch):
    program = arch.load(SPACE_AND_MODEL)  # Program.check elaborates every space: no error
    assert program.spaces == ["S"]
    m = program.elaborate("S")
    assert m.kind == "space" and not m.is_concrete
    assert {c.label for c in m.choices} == {"body.act", "out"}


def test_model_with_free_choices_is_an_error_naming_them(arch):
    text = SPACE_AND_MODEL.replace("space S()", "model S()")
    with pytest.raises(SpaceError) as info:
        arch.load(text)
    message = info.value.message
    assert "model S has 2 free choices" in message and "body.act" in message and "out" in message
    assert info.value.span.line == 7
    # fixing every choice makes it a valid (concrete) model
    m = arch.load(text, check=False).elaborate("S", assignment={"body.act": 1, "out": 0})
    assert m.is_concrete and out_types(m) == ["float32[B, 4]"]


def test_model_with_some_choices_left_free_is_an_error(arch):
    program = arch.load(SPACE_AND_MODEL.replace("space S()", "model S()"), check=False)
    with pytest.raises(SpaceError, match=r"1 free choice \(out\)"):
        program.elaborate("S", assignment={"body.act": 1})


# ---- property: random MLP / CNN programs have the shapes plain arithmetic predicts ----------


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


@st.composite
def cnn_programs(draw):
    """A random CNN spec and its expected output shape, computed independently."""
    channels = draw(st.integers(1, 8))
    size = draw(st.integers(8, 40))
    batch = draw(st.integers(1, 4))
    lines, h = [], size
    c = channels
    for i in range(draw(st.integers(1, 5))):
        kernel = draw(st.sampled_from([1, 3, 5]))
        stride = draw(st.sampled_from([1, 1, 2]))
        padding = draw(st.integers(0, kernel // 2))
        if _conv_out(h, kernel, stride, padding) < 1:
            break
        out = draw(st.integers(1, 12))
        residual = stride == 1 and out == c and _conv_out(h, kernel, 1, padding) == h and draw(st.booleans())
        lines.append(f"    conv{i} = Conv2d({c}, {out}, {kernel}, stride={stride}, padding={padding})")
        if residual:
            lines.append(f"    x = x + relu(conv{i}(x))")
        else:
            lines.append(f"    x = relu(conv{i}(x))")
        c, h = out, _conv_out(h, kernel, stride, padding)
    hidden = draw(st.lists(st.integers(1, 16), min_size=0, max_size=3))
    lines.append("    x = flatten(x, 1)")
    features = c * h * h
    for j, width in enumerate(hidden):
        lines.append(f"    fc{j} = Linear({features}, {width})")
        lines.append(f"    x = fc{j}(x)")
        features = width
    body = "\n".join(lines)
    text = f"model Net() {{\n    input x: [N, {channels}, {size}, {size}]\n{body}\n    return x\n}}\n"
    return text, (batch, channels, size, size), (batch, features)


@st.composite
def mlp_programs(draw):
    """A random MLP built from a block with optional residuals, and its expected width."""
    width = draw(st.integers(1, 32))
    depth = draw(st.integers(1, 6))
    hidden = draw(st.integers(1, 64))
    residual = draw(st.booleans())
    out = draw(st.integers(1, 10))
    text = src(f'''
        block Layer(d: int, h: int, residual: bool) {{
            input x: [..., d]
            fc1 = Linear(d, h)
            fc2 = Linear(h, d)
            y = fc2(gelu(fc1(x)))
            if residual {{
                y = x + y
            }}
            return y
        }}
        model Net() {{
            input x: [B, T, {width}]
            layers = Sequential([Layer({width}, {hidden}, {'true' if residual else 'false'}) for i in range({depth})])
            head = Linear({width}, {out})
            return head(layers(x))
        }}
    ''')
    return text, depth, (2, 3, width), (2, 3, out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cnn_programs())
def test_random_cnn_shapes(case):
    text, input_shape, expected = case
    program = archlang.loads(text, filename="<random-cnn>")
    symbolic = program.elaborate("Net")
    (out,) = symbolic.graph.output_types
    assert out.shape[0] == dims.sym("N") and tuple(out.shape[1:]) == expected[1:]
    concrete = program.elaborate("Net", inputs={"x": input_shape})
    assert [tuple(t.shape) for t in concrete.graph.output_types] == [expected]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mlp_programs())
def test_random_mlp_shapes(case):
    text, depth, input_shape, expected = case
    program = archlang.loads(text, filename="<random-mlp>")
    m = program.elaborate("Net", inputs={"x": input_shape})
    assert [tuple(t.shape) for t in m.graph.output_types] == [expected]
    (run,) = [n for n in body_of(m.graph, "layers").nodes if n.kind == "call"]
    assert run.repeat == depth  # identical layers stay rolled whatever the depth


def test_random_programs_reject_a_wrong_input(arch):
    """The property tests' oracle is not vacuous: a wrong channel count is caught."""
    text = "model Net() {\n    input x: [N, 3, 8, 8]\n    conv = Conv2d(4, 8, 3)\n    return conv(x)\n}\n"
    with pytest.raises(ArchError, match="4 input channels"):
        archlang.loads(text, filename="<wrong>")
