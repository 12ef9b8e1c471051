"""The honest-evaluation benchmark (benchmarks/oneshot_evaluation.py) runs end to end at its
``--quick`` budgets: every method and baseline searches, the selected architecture is
trained from scratch and rated on the test split, random search gets the supernets' step
budget, and the table has one row per method.  The real figures are in docs/benchmarks.md."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from benchmarks import oneshot_evaluation as evaluation  # noqa: E402


def test_quick_run_rates_every_method_on_the_test_split():
    split = evaluation.digits_split()
    sizes = [len(split.y_train), len(split.y_valid), len(split.y_test)]
    assert sum(sizes) == 1797 and sizes[0] > 2 * sizes[2] > 0
    assert not set(split.y_test.tolist()) ^ set(range(10))  # stratified: every class in every part
    results = evaluation.evaluate([0], evaluation.QUICK, log=lambda line: None)
    methods = evaluation.METHODS + evaluation.BASELINES
    assert [r.method for r in results] == list(methods)
    steps = {r.method: r.search_steps for r in results}
    assert steps["random search"] == steps["darts"] > 0 and steps["random sample"] == 0
    assert all(0.0 <= r.test <= 1.0 and r.params > 0 and r.macs > 0 for r in results)
    table = evaluation.table(results)
    assert all(f"| {m} |" in table for m in methods) and "±" in table
