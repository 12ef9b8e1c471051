"""Issue 12, item 9: every public function checks its arguments.  Each bad call below raises
a TypeError, ValueError or ArchError whose message names the argument — never an
AttributeError from inside, never a silently accepted value — and leaves no file behind."""

from __future__ import annotations

import os

import pytest

import archlang
from archlang.nas import Assignment, Space

SPEC = "model M(width: int = 8) {\n    input x: [B, 3, 8, 8]\n    c = Conv2d(3, width, 3, padding=1)\n    return c(x)\n}\n"
SPACE = ("space S() {\n    input x: [B, 3, 8, 8]\n    c = Conv2d(3, choice(4, 8, label=\"w\"), 3, padding=1)\n"
         "    return c(x)\n}\n")
PROGRAM = archlang.loads(SPEC)
MODEL = PROGRAM.elaborate("M")
S = archlang.space(archlang.loads(SPACE))
A = S.sample(seed=0)

BAD = {  # call -> (expected exception, text the message must contain)
    "loads(None)": (lambda: archlang.loads(None), TypeError, "text"),
    "loads(bytes)": (lambda: archlang.loads(SPEC.encode()), TypeError, "text"),
    "loads(42)": (lambda: archlang.loads(42), TypeError, "text"),
    "loads(filename=3)": (lambda: archlang.loads(SPEC, filename=3), TypeError, "filename"),
    "loads(check='yes')": (lambda: archlang.loads(SPEC, check="yes"), TypeError, "check"),
    "load(None)": (lambda: archlang.load(None), TypeError, "path"),
    "load(42)": (lambda: archlang.load(42), TypeError, "path"),
    "load([])": (lambda: archlang.load([]), TypeError, "path"),
    "load('')": (lambda: archlang.load(""), ValueError, "path"),
    "load(missing)": (lambda: archlang.load("no/such/file.arch"), archlang.ArchError, "no such file"),
    "elaborate(None)": (lambda: PROGRAM.elaborate(None), TypeError, "name"),
    "elaborate(42)": (lambda: PROGRAM.elaborate(42), TypeError, "name"),
    "elaborate(params=[1])": (lambda: PROGRAM.elaborate("M", params=[1]), TypeError, "params"),
    "elaborate(params={1: 2})": (lambda: PROGRAM.elaborate("M", params={1: 2}), TypeError, "params"),
    "elaborate(params width='x')": (lambda: PROGRAM.elaborate("M", params={"width": "x"}), archlang.ArchError,
                                    "width"),
    "elaborate(params nope)": (lambda: PROGRAM.elaborate("M", params={"nope": 1}), archlang.ArchError, "nope"),
    "elaborate(inputs=[1])": (lambda: PROGRAM.elaborate("M", inputs=[1]), TypeError, "inputs"),
    "elaborate(inputs string shape)": (lambda: PROGRAM.elaborate("M", inputs={"x": "1x3x8x8"}), TypeError,
                                       "inputs['x']"),
    "elaborate(inputs negative)": (lambda: PROGRAM.elaborate("M", inputs={"x": (1, -3, 8, 8)}), ValueError,
                                   "inputs['x'][1]"),
    "elaborate(inputs float)": (lambda: PROGRAM.elaborate("M", inputs={"x": (1, 3.5, 8, 8)}), TypeError,
                                "inputs['x'][1]"),
    "elaborate(inputs bool)": (lambda: PROGRAM.elaborate("M", inputs={"x": (True, 3, 8, 8)}), TypeError,
                               "inputs['x'][0]"),
    "elaborate(inputs huge)": (lambda: PROGRAM.elaborate("M", inputs={"x": (2**70, 3, 8, 8)}), ValueError,
                               "inputs['x'][0]"),
    "elaborate(inputs bad name)": (lambda: PROGRAM.elaborate("M", inputs={"x": ("1 + 1", 3, 8, 8)}), ValueError,
                                   "inputs['x'][0]"),
    "elaborate(inputs unknown)": (lambda: PROGRAM.elaborate("M", inputs={"y": (1, 3, 8, 8)}), archlang.ArchError,
                                  "no input 'y'"),
    "elaborate(assignment=5)": (lambda: PROGRAM.elaborate("M", assignment=5), TypeError, "assignment"),
    "definition(3)": (lambda: PROGRAM.definition(3), TypeError, "name"),
    "argument(3, '1')": (lambda: PROGRAM.argument(3, "1"), TypeError, "name"),
    "argument('k', 3)": (lambda: PROGRAM.argument("k", 3), TypeError, "expression"),
    "format_ir(42)": (lambda: archlang.format_ir(42), TypeError, "model"),
    "format_ir(None)": (lambda: archlang.format_ir(None), TypeError, "model"),
    "format_ir(Program)": (lambda: archlang.format_ir(PROGRAM), TypeError, "model"),
    "to_torch(42)": (lambda: archlang.to_torch(42), TypeError, "source"),
    "to_torch(None)": (lambda: archlang.to_torch(None), TypeError, "source"),
    "to_torch(model=3)": (lambda: archlang.to_torch(PROGRAM, 3), TypeError, "model"),
    "to_torch(seed='a')": (lambda: archlang.to_torch(PROGRAM, "M", seed="a"), TypeError, "seed"),
    "to_torch(seed=-1)": (lambda: archlang.to_torch(PROGRAM, "M", seed=-1), ValueError, "seed"),
    "to_torch(seed=2**64)": (lambda: archlang.to_torch(PROGRAM, "M", seed=2**64), ValueError, "seed"),
    "to_torch(inputs=3)": (lambda: archlang.to_torch(PROGRAM, "M", inputs=3), TypeError, "inputs"),
    "to_torch(width='x')": (lambda: archlang.to_torch(PROGRAM, "M", width="x"), archlang.ArchError, "width"),
    "to_onnx(weights=5)": (lambda: archlang.to_onnx(PROGRAM, "M", weights=5), TypeError, "weights"),
    "to_onnx(weights=[1])": (lambda: archlang.to_onnx(PROGRAM, "M", weights=[1]), TypeError, "weights"),
    "to_onnx(weights value 3)": (lambda: archlang.to_onnx(PROGRAM, "M", weights={"c.weight": 3}), TypeError,
                                 "weights['c.weight']"),
    "to_onnx(weights missing file)": (lambda: archlang.to_onnx(PROGRAM, "M", weights="nope.pt"), archlang.ArchError,
                                      "no such file"),
    "to_onnx(opset='18')": (lambda: archlang.to_onnx(PROGRAM, "M", opset="18"), TypeError, "opset"),
    "to_onnx(opset=5)": (lambda: archlang.to_onnx(PROGRAM, "M", opset=5), archlang.ArchError, "opset"),
    "to_onnx(path=5)": (lambda: archlang.to_onnx(PROGRAM, "M", path=5), TypeError, "path"),
    "to_onnx(functions='yes')": (lambda: archlang.to_onnx(PROGRAM, "M", functions="yes"), TypeError, "functions"),
    "to_onnx(fold=1)": (lambda: archlang.to_onnx(PROGRAM, "M", fold=1), TypeError, "fold"),
    "to_onnx(seed=1.5)": (lambda: archlang.to_onnx(PROGRAM, "M", seed=1.5), TypeError, "seed"),
    "summary(42)": (lambda: archlang.summary(42), TypeError, "source"),
    "summary(inputs=3)": (lambda: archlang.summary(PROGRAM, "M", inputs=3), TypeError, "inputs"),
    "summary(model=[])": (lambda: archlang.summary(PROGRAM, []), TypeError, "model"),
    "render(path=3)": (lambda: archlang.render(PROGRAM, "M", path=3), TypeError, "path"),
    "render(depth=-1)": (lambda: archlang.render(PROGRAM, "M", depth=-1), ValueError, "depth"),
    "render(depth='a')": (lambda: archlang.render(PROGRAM, "M", depth="a"), ValueError, "depth"),
    "render(direction='up')": (lambda: archlang.render(PROGRAM, "M", direction="up"), ValueError, "direction"),
    "render(expand=3)": (lambda: archlang.render(PROGRAM, "M", expand=3), TypeError, "expand"),
    "render(format='jpg')": (lambda: archlang.render(PROGRAM, "M", path="x.svg", format="jpg"), ValueError,
                             "format"),
    "space(42)": (lambda: archlang.space(42), TypeError, "source"),
    "space(name=3)": (lambda: archlang.space(archlang.loads(SPACE), 3), TypeError, "name"),
    "space(of a model)": (lambda: archlang.space(PROGRAM, "M"), archlang.ArchError, "not a space"),
    "search(objective=None)": (lambda: archlang.search(S, None), TypeError, "objective"),
    "search(objective=3)": (lambda: archlang.search(S, 3), TypeError, "objective"),
    "search(objective='nope')": (lambda: archlang.search(S, "nope"), ValueError, "objective 'nope'"),
    "search(objective=[3])": (lambda: archlang.search(S, [3]), TypeError, "objective"),
    "search(storage=123)": (lambda: archlang.search(S, "params", storage=123), TypeError, "storage"),
    "search(budget=-1)": (lambda: archlang.search(S, "params", budget=-1), ValueError, "budget"),
    "search(budget=2.5)": (lambda: archlang.search(S, "params", budget=2.5), TypeError, "budget"),
    "search(workers=0)": (lambda: archlang.search(S, "params", workers=0), ValueError, "workers"),
    "search(timeout=0)": (lambda: archlang.search(S, "params", timeout=0), ValueError, "timeout"),
    "search(seed=None)": (lambda: archlang.search(S, "params", seed=None), TypeError, "seed"),
    "search(dedup='never')": (lambda: archlang.search(S, "params", dedup="never"), ValueError, "dedup"),
    "search(strategy='nope')": (lambda: archlang.search(S, "params", strategy="nope"), ValueError, "strategy"),
    "search(study=5)": (lambda: archlang.search(S, "params", study=5), TypeError, "study"),
    "search(space=None)": (lambda: archlang.search(None, "params"), TypeError, "source"),
    "search(bogus=1)": (lambda: archlang.search(S, "params", bogus=1), TypeError, "bogus"),
    "Space.fix_model(dict)": (lambda: S.fix_model({"w": 0}), TypeError, "assignment"),
    "Space.fix_model(None)": (lambda: S.fix_model(None), TypeError, "assignment"),
    "Space.fix_model(unknown label)": (lambda: S.fix_model(Assignment({"w": 0, "nope": 0}, S.hash)),
                                       archlang.ArchError, "nope"),
    "Space.fix_model(no value)": (lambda: S.fix_model(Assignment({"nope": 0}, S.hash)), archlang.ArchError, "'w'"),
    "Space.fix_model(bad value)": (lambda: S.fix_model(Assignment({"w": 99}, S.hash)), archlang.ArchError, "'99'"),
    "Space.fix_model(other space)": (lambda: S.fix_model(Assignment({"w": 4}, "0" * 64)), archlang.ArchError,
                                     "another version"),
    "Space.fix_model(elaborate=1)": (lambda: S.fix_model(A, elaborate=1), TypeError, "elaborate"),
    "Space.to_arch('x')": (lambda: S.to_arch("x"), TypeError, "assignment"),
    "Space.fix('x')": (lambda: S.fix("x"), TypeError, "assignment"),
    "Space.mutate(None)": (lambda: S.mutate(None), TypeError, "assignment"),
    "Space.mutate(rng='x')": (lambda: S.mutate(A, "x"), TypeError, "rng"),
    "Space.mutate(tries=0)": (lambda: S.mutate(A, tries=0), ValueError, "tries"),
    "Space.crossover(None)": (lambda: S.crossover(A, None), TypeError, "assignment"),
    "Space.sample(rng='x')": (lambda: S.sample("x"), TypeError, "rng"),
    "Space.sample(seed=-2)": (lambda: S.sample(seed=-2), ValueError, "seed"),
    "Space.sample(max_tries=0)": (lambda: S.sample(0, max_tries=0), ValueError, "max_tries"),
    "Space.sample(constraints=5)": (lambda: S.sample(0, constraints=5), TypeError, "constraints"),
    "Space.sample(constraints bound)": (lambda: S.sample(0, constraints={"max_params": "many"}), TypeError,
                                        "constraints['max_params']"),
    "Space.sample(constraints key)": (lambda: S.sample(0, constraints={"most_params": 5}), archlang.ArchError,
                                      "most_params"),
    "Space.canonical_hash(None)": (lambda: S.canonical_hash(None), TypeError, "assignment"),
    "Space.canonical_hash(dict)": (lambda: S.canonical_hash({"w": 0}), TypeError, "assignment"),
    "Space.encode('nope')": (lambda: S.encode(A, "nope"), archlang.ArchError, "nope"),
    "Space.encode(None)": (lambda: S.encode(None), TypeError, "assignment"),
    "Space.encode(kind=3)": (lambda: S.encode(A, 3), TypeError, "kind"),
    "Space.feasible(None)": (lambda: S.feasible(None), TypeError, "assignment"),
    "Space.violations('x')": (lambda: S.violations("x"), TypeError, "assignment"),
    "Space.check(None)": (lambda: S.check(None), TypeError, "assignment"),
    "Space.size(unique='x')": (lambda: S.size(unique="x"), TypeError, "unique"),
    "Space(program, 3)": (lambda: Space(PROGRAM, 3), TypeError, "name"),
    "Space(None, 'S')": (lambda: Space(None, "S"), TypeError, "program"),
    "Space(params=[1])": (lambda: Space(PROGRAM, "M", params=[1]), TypeError, "params"),
    "Assignment.from_json(3)": (lambda: Assignment.from_json(3), archlang.ArchError, "JSON object"),
    "Assignment.from_json(bad choices)": (lambda: Assignment.from_json({"space": "a", "choices": 3}),
                                          archlang.ArchError, "choices"),
    "objectives.get(3)": (lambda: archlang.objectives.get(3), TypeError, "objective"),
    "objectives.combine('params')": (lambda: archlang.objectives.combine("params"), TypeError, "combine"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_call_names_its_argument(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call, kind, text = BAD[case]
    with pytest.raises((TypeError, ValueError, archlang.ArchError)) as caught:
        call()
    assert isinstance(caught.value, kind), f"{type(caught.value).__name__}: {caught.value}"
    assert not isinstance(caught.value, AttributeError)
    assert text in str(caught.value), str(caught.value)
    assert os.listdir(tmp_path) == [], "a bad call wrote a file (storage=123 used to make one named 123)"


def test_there_are_more_than_a_hundred_cases():
    assert len(BAD) >= 100


def test_good_calls_still_work():
    model = PROGRAM.elaborate("M", params={"width": 4}, inputs={"x": ("B", 3, 8, 8)})
    assert "float32[B, 4, 8, 8]" in archlang.format_ir(model)
    assert PROGRAM.elaborate("M", inputs={"x": [2, 3, 8, 8]}).graph.input_nodes[0].type.shape == (2, 3, 8, 8)
    assert S.fix_model(A) is not None and S.sample(seed=3).space == S.hash
