"""Errors that neither cascade nor repeat (issue 14, item 6): one mistake, one diagnostic.

Each case is a small spec with one mistake and the exact text ``archlang check`` prints for
it: no follow-on "unknown name" for the names a failed statement defines, no copy per model
or per application of the same broken block, no internal reprs, and notes that lead to the
fix (the call site of a block whose input does not match, the read that a member hides).
"""

from __future__ import annotations

import textwrap

import pytest

from archlang.errors import ArchError
from archlang.errors.render import render_error


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


STEM = """
    block Stem(c: int) {
        input x: [B, c]
        fc = Linear(c + 1, c)
        return fc(x)
    }
"""

CASES = {
    # a failed assert stops its block: the second assert never runs
    "assert-stops-the-block": ("""
        model M() {
            input x: [B, 4]
            assert 1 == 2, "first"
            assert 2 == 3, "second"
            return x
        }
    """, """
        main.arch:3:12: error: first
              assert 1 == 2, "first"
                     ^~~~~~~~~~~~~~~
          note: in M
    """),
    # `c, s = Rotary(...)(q)` fails inside Rotary: neither `y` there nor `c` here is "unknown"
    "unpacked-targets-of-a-failed-call": ("""
        block Rotary(d: int) {
            input x: [B, T, d]
            y = Linear(d + 1, d)(x)
            return y, y
        }
        model M() {
            input q: [B, T, 8]
            c, s = Rotary(8)(q)
            return c + s
        }
    """, """
        main.arch:3:9: error: Linear expects 9 input features in the last dim, got input float32[B, T, 8]
              y = Linear(d + 1, d)(x)
                  ^~~~~~~~~~~~~~~~~~~
          note: in M › c › y
    """),
    # an unknown name in the right-hand side: `c` and `s` are not reported as unknown too
    "unknown-name-on-the-right": ("""
        block Rotary(d: int) {
            input x: [B, T, d]
            return x, x
        }
        model M() {
            input q: [B, T, 8]
            c, s = Rotary(dd)(q)
            return c + s
        }
    """, """
        main.arch:7:19: error: unknown name 'dd'; did you mean 'add'?
              c, s = Rotary(dd)(q)
                            ^~
    """),
    # the same broken block instance in several models: once, with where else it happens
    "block-used-by-several-models": (STEM + """
        model M1() {
            input x: [B, 4]
            s = Stem(4)
            return s(x)
        }
        model M2 = M1()
        model M3 = M1()
        model M4 = M1()
        model M5 = M1()
    """, """
        main.arch:4:12: error: Linear expects 5 input features in the last dim, got input float32[B, 4]
              return fc(x)
                     ^~~~~
          note: in M1 › s › fc
          note: also in M2 › s › fc
          note: also in M3 › s › fc
          note: also in M4 › s › fc
          note: and 1 more
    """),
    # a member applied twice: reported once
    "member-applied-twice": (STEM + """
        model M() {
            input x: [B, 4]
            s = Stem(4)
            a = s(x)
            b = s(x)
            return a + b
        }
    """, """
        main.arch:4:12: error: Linear expects 5 input features in the last dim, got input float32[B, 4]
              return fc(x)
                     ^~~~~
          note: in M › s › fc
    """),
    # an assert message that is not a string: no internal repr of the value
    "assert-message-is-a-tensor": ("""
        model M() {
            input x: [B, 4]
            assert false, x
            return x
        }
    """, """
        main.arch:3:19: error: an assert's message is a string, got tensor float32[B, 4]
              assert false, x
                            ^
          note: in M
    """),
    # a tensor where an op wants a size: the tensor's type, not the elaborator's object
    "tensor-as-an-attribute": ("""
        model M() {
            input x: [B, 4]
            input idx: int64[B]
            return softmax(x, dim=idx)
        }
    """, """
        main.arch:4:23: error: softmax argument 'dim' must be an int, got tensor int64[B]
              return softmax(x, dim=idx)
                                ^~~~~~~
          note: in M
    """),
    "tensor-in-a-shape": ("""
        model M() {
            input x: [B, 4]
            input idx: int64[B]
            return reshape(x, (idx, 4))
        }
    """, """
        main.arch:4:12: error: reshape argument 'shape' must be a list of sizes, got (tensor int64[B], 4) (tuple)
              return reshape(x, (idx, 4))
                     ^~~~~~~~~~~~~~~~~~~~
          note: in M
    """),
    # a member named like a parameter that a later statement still reads
    "member-hides-a-parameter": ("""
        block Inter(hidden: int, inner: int) {
            input x: [B, hidden]
            fc = Linear(hidden, inner)
            return fc(x)
        }
        block Layer(hidden: int, intermediate: int) {
            input x: [B, hidden]
            intermediate = Inter(hidden, intermediate)
            output = Linear(intermediate, hidden)
            return output(intermediate(x))
        }
        model M = Layer(8, 32)
    """, """
        main.arch:8:5: error: member 'intermediate' takes the name of a parameter of Layer, which a later statement reads; rename the parameter (e.g. 'intermediate_size'; state-dict keys stay) or the member
              intermediate = Inter(hidden, intermediate)
              ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
          note: 'intermediate' is read here as the parameter: main.arch:9:21
          note: in M
    """),
    # a block without `input` is a layer factory: the tensor its body uses gets a hint
    "factory-block-uses-a-tensor": ("""
        block Head(d: int) {
            fc = Linear(d, d)
            return fc(x)
        }
        model M() {
            input x: [B, 4]
            h = Head(4)
            return h(x)
        }
    """, """
        main.arch:3:15: error: unknown name 'x'
              return fc(x)
                        ^
          note: Head declares no input, so it is a layer factory (it returns a layer); to take a tensor, declare it first: input x: [...]
    """),
    # a mismatch at a block's input points at the call site as well as the `input` line
    "input-mismatch-names-the-call-site": ("""
        block Proj(d: int) {
            input x: [B, d]
            fc = Linear(d, d)
            return fc(x)
        }
        model M() {
            input x: [B, 4]
            p = Proj(8)
            return p(x)
        }
    """, """
        main.arch:2:11: error: input x of Proj expects [B, d], got float32[B, 4] (dim 1: expected 8, got 4)
              input x: [B, d]
                    ^~~~~~~~
          note: Proj is applied to float32[B, 4] at main.arch:9:12
          note: in M › p
    """),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_mistake_one_diagnostic(arch, case):
    text, expected = CASES[case]
    with pytest.raises(ArchError) as info:
        arch.load(src(text))
    rendered = render_error(info.value).replace(f"{arch.folder}/", "")
    assert rendered == textwrap.dedent(expected).strip("\n")


def test_a_member_may_take_a_parameter_name_nothing_reads_later(arch):
    """torchvision's pattern (`self.dropout = nn.Dropout(dropout)`) stays legal."""
    program = arch.load(src("""
        block Encoder(d: int, dropout: float = 0.1) {
            input x: [B, d]
            p = dropout
            dropout = Dropout(p)
            return dropout(x)
        }
        model M = Encoder(4)
    """))
    assert [name for name, _ in program.elaborate("M").graph.members] == ["dropout"]


def test_distinct_errors_at_one_place_are_all_kept(arch):
    """Deduplication merges only identical messages: two shapes reaching one line are two errors."""
    with pytest.raises(ArchError) as info:
        arch.load(src(STEM + """
            model M() {
                input x: [B, 4]
                input y: [B, 4, 4]
                s = Stem(4)
                a = s(x)
                b = s(y)
                return a
            }
        """).replace("input x: [B, c]", "input x: [B, ...]"))
    assert len(info.value.diagnostics) == 2
