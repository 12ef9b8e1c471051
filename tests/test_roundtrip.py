"""Round trips over generated programs: formatting never changes what a spec means.

For random well-formed programs: ``fmt`` is idempotent, and the IR elaborated from the
formatted text prints exactly like the IR of the original (``parse(print(x)) == x`` at the
level users see: the IR's one-line-per-node text, which carries every node, type and
attribute but no source positions).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archlang
from archlang.syntax.fmt import format_source

_ACTIVATIONS = ["relu", "gelu", "silu", "sigmoid", "tanh"]


@st.composite
def conv_programs(draw) -> str:
    """A block with a random conv stack (optional residual) and a model that uses it."""
    channels = draw(st.integers(1, 16))
    size = draw(st.integers(8, 40))
    lines = [f"# generated conv program\nblock Stack(c: int = {channels}) {{", "    input x: [B, c, H, W]"]
    layers = draw(st.lists(st.tuples(st.sampled_from([1, 3, 5]), st.sampled_from(_ACTIVATIONS),
                                      st.booleans()), min_size=1, max_size=5))
    for i, (k, act, comment) in enumerate(layers):
        note = "  # same padding" if comment else ""
        lines.append(f"    conv{i} = Conv2d(c, c, {k}, padding={k // 2}, bias={'true' if i % 2 else 'false'}){note}")
    lines.append("    y = x")
    for i, (_, act, _) in enumerate(layers):
        lines.append(f"    y = {act}(conv{i}(y))")
    if draw(st.booleans()):
        lines.append("    y = y + x")
    lines += ["    return y", "}", ""]
    width = draw(st.integers(1, 32))
    lines += [
        f"model Net(width: int = {width}) {{",
        f"    input x: [B, {channels}, {size}, {size}]",
        "    body = Stack()",
        f"    head = Linear({channels}, width)",
        "    pooled = body(x).mean([2, 3])",
        "    return head(pooled)",
        "}",
    ]
    return "\n".join(lines) + "\n"


@st.composite
def mlp_programs(draw) -> str:
    widths = draw(st.lists(st.integers(1, 64), min_size=2, max_size=6))
    layers = ", ".join(f"Linear({a}, {b})" for a, b in zip(widths, widths[1:]))
    dropout = draw(st.sampled_from(["0.0", "0.1", "0.25"]))
    return (
        f"let WIDTHS = {widths}\n"
        "model Mlp() {\n"
        f"    input x: [B, {widths[0]}]\n"
        f"    layers = Sequential({layers}, Dropout({dropout}))\n"
        "    return layers(x)\n"
        "}\n"
    )


def _ir(text: str) -> str:
    program = archlang.loads(text, filename="generated.arch")
    return "".join(archlang.format_ir(program.elaborate(name)) for name in program.models)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(conv_programs(), mlp_programs()))
def test_formatting_is_idempotent_and_preserves_the_ir(text):
    formatted = format_source(text, "generated.arch")
    assert format_source(formatted, "generated.arch") == formatted
    assert _ir(formatted) == _ir(text)


@settings(max_examples=40, deadline=None)
@given(conv_programs())
def test_generated_programs_check_and_keep_their_shape(text):
    program = archlang.loads(text, filename="generated.arch")
    model = program.elaborate("Net")
    (output,) = model.graph.output_types
    assert str(output).startswith("float32[B, ")
