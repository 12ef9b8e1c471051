"""Benchmark: an honest evaluation of the one-shot methods (issue 13).

Each one-shot method (DARTS, PC-DARTS, GDAS, SPOS, ProxylessNAS) searches
specs/spaces/digits_cnn.arch on scikit-learn's handwritten digits; the architecture it derives
is then trained **from scratch** with one fixed protocol and rated on a held-out test split.
Two baselines go through the same final training:

* ``random search`` — at **equal training steps**: as many weight updates on the same batch
  size as a supernet search makes, spent on short proxy trainings of uniformly drawn
  architectures; the best by validation accuracy wins;
* ``random sample`` — one uniformly drawn architecture, no search at all (the "is the search
  phase worth anything" baseline of Yu et al., ICLR 2020).

Why digits_cnn: the space is written for 8×8 digits (no upsampling), holds 20,160
architectures (6,234 distinct) that differ in width (8/16/32), kernel (3/5), depth of two
stages and the op of every layer — a decision of every kind the supernet compiler handles
(layer choices, searched sizes, searched depths) — and one supernet step is cheap enough on
a CPU to run every method with three seeds in well under 25 CPU-minutes.  NAS-Bench-201
needs 32×32 inputs: 16× the pixels, upsampled from 8×8 digits that carry no more information.

Equal compute is counted in training steps, not CPU seconds: steps do not depend on the load
of the machine, so a run is reproducible; the CPU seconds each search really used are printed
beside (DARTS' mixture costs several random-search steps per step).

Fixed protocol (every number is a constant below): a stratified 60/20/20 train/valid/test
split of the 1,797 digits (seed 0), standardised with training statistics; searches update
weights on train batches and architectures (or rate candidates) on valid batches; the final
training is Adam on the train split, the same for every architecture, seeded with the run's
seed; the table reports test accuracy, mean ± sample sd over the seeds.

    .venv/bin/python -m benchmarks.oneshot_evaluation [--seeds 0 1 2] [--quick] [--json out.json]
    .venv/bin/python -m benchmarks.oneshot_evaluation --table seed0.json seed1.json …   # merge runs

Runs are independent per (method, seed), so seeds may run as separate processes and be merged.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too (make bench)

import archlang  # noqa: E402
from archlang.backends.torch import build_module  # noqa: E402
from archlang.oneshot import GDAS, SPOS, Darts, PCDarts, Proxyless  # noqa: E402
from archlang.report.counts import model_macs  # noqa: E402

SPEC = Path(__file__).resolve().parent.parent / "specs" / "spaces" / "digits_cnn.arch"
SPLIT_SEED = 0
FRACTIONS = (0.6, 0.2)  # train, valid; the rest is test


@dataclass(frozen=True)
class Protocol:
    """Every budget of a run (``--quick`` shrinks them for a smoke test)."""

    batch: int = 64
    search_epochs: int = 6  # supernet epochs over the train split (17 steps each)
    random_candidates: int = 4  # random search: architectures sharing the search's steps
    final_epochs: int = 12  # training from scratch of every selected architecture
    final_lr: float = 3e-3
    spos_population: int = 12
    spos_iterations: int = 4
    epoch_batches: int | None = None  # cut every epoch (search and final) to this many batches


QUICK = Protocol(batch=32, search_epochs=1, random_candidates=2, final_epochs=1, spos_population=3,
                 spos_iterations=1, epoch_batches=2)
METHODS = ("darts", "pcdarts", "gdas", "spos", "proxyless")
BASELINES = ("random search", "random sample")


# ---- data --------------------------------------------------------------------------------


@dataclass
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digits_split() -> Split:
    """Digits as [N, 1, 8, 8], stratified 60/20/20 with a fixed seed, standardised with the
    training split's mean and sd."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    parts = stratified(y)
    mean, sd = x[parts[0]].mean(), x[parts[0]].std()
    x = (x - mean) / sd
    return Split(*(t for idx in parts for t in (x[idx], y[idx])))


def stratified(y: torch.Tensor) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    parts: list[list] = [[], [], []]
    for c in range(10):
        members = (y == c).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        a = round(len(members) * FRACTIONS[0])
        b = a + round(len(members) * FRACTIONS[1])
        for part, chunk in zip(parts, (members[:a], members[a:b], members[b:])):
            part.append(chunk)
    return [torch.cat(p).sort().values for p in parts]


def batches(x: torch.Tensor, y: torch.Tensor, protocol: Protocol, generator: torch.Generator):
    """One epoch of shuffled mini-batches (a last batch of one is dropped: batch norm)."""
    order = torch.randperm(len(x), generator=generator)
    starts = range(0, len(x), protocol.batch)[:protocol.epoch_batches]
    for start in starts:
        picked = order[start:start + protocol.batch]
        if len(picked) > 1:
            yield x[picked], y[picked]


def accuracy(module, x: torch.Tensor, y: torch.Tensor) -> float:
    module.eval()
    with torch.no_grad():
        return (module(x).argmax(1) == y).float().mean().item()


# ---- searches ----------------------------------------------------------------------------


def method_object(name: str, protocol: Protocol, seed: int):
    """The method with its paper defaults, except what depends on the run's length: warm-ups
    keep the papers' fraction of the search (PC-DARTS 15 of 50 epochs, ProxylessNAS 40 of
    120) and SPOS' evolution is sized for a space of 6,234 distinct architectures."""
    epochs = protocol.search_epochs
    if name == "pcdarts":
        return PCDarts(warmup_epochs=round(epochs * 15 / 50))
    if name == "proxyless":
        return Proxyless(warmup_epochs=round(epochs * 40 / 120))
    if name == "spos":
        p = protocol.spos_population
        return SPOS(population=p, iterations=protocol.spos_iterations, parents=max(2, p // 4), mutations=p // 2,
                    crossovers=p // 2, calibration_batches=4, seed=seed)
    return {"darts": Darts(), "gdas": GDAS()}[name]


def search_oneshot(name: str, split: Split, protocol: Protocol, seed: int):
    """Train the supernet with the method's own loop, then derive: (assignment, steps)."""
    torch.manual_seed(seed)
    net = archlang.supernet(SPEC, method=method_object(name, protocol, seed), seed=seed)
    optimizers = net.method.optimizers(net)
    scheduler = net.method.scheduler(optimizers, epochs=protocol.search_epochs)
    train_gen, valid_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    steps = 0
    for epoch in range(protocol.search_epochs):
        net.method.on_epoch(net, epoch, protocol.search_epochs)
        net.train()
        valid = cycle(lambda: batches(split.x_valid, split.y_valid, protocol, valid_gen))
        for train in batches(split.x_train, split.y_train, protocol, train_gen):
            net.method.train_step(net, train, next(valid), optimizers)
            steps += 1
        scheduler.step()
    if name == "spos":
        calibration = [x for x, _ in batches(split.x_train, split.y_train, protocol, train_gen)]
        net.method.evolve(net, lambda supernet: accuracy(supernet, split.x_valid, split.y_valid), calibration)
    return net.space, net.derive(), steps


def cycle(make):
    while True:
        yield from make()


def search_random(space, split: Split, protocol: Protocol, seed: int, steps: int):
    """Random search with ``steps`` weight updates in all: ``random_candidates`` uniformly drawn
    architectures, each trained for an equal share with the final protocol's optimiser and
    rated on the valid split; the best wins (ties: the first drawn)."""
    rng = random.Random(seed)
    share = max(1, steps // protocol.random_candidates)
    best, best_score = None, -1.0
    for _ in range(protocol.random_candidates):
        candidate = space.sample(rng)
        module = train(space, candidate, split, protocol, seed, max_steps=share)
        score = accuracy(module, split.x_valid, split.y_valid)
        if score > best_score:
            best, best_score = candidate, score
    return best


def train(space, assignment, split: Split, protocol: Protocol, seed: int, max_steps: int | None = None):
    """The fixed protocol: the architecture built from scratch (weights from ``seed``), Adam
    on train batches for ``final_epochs`` epochs or ``max_steps`` steps."""
    module = build_module(space.fix_model(assignment), seed=seed)
    optimizer = torch.optim.Adam(module.parameters(), lr=protocol.final_lr)
    generator = torch.Generator().manual_seed(seed)
    module.train()
    step = 0
    for _ in range(protocol.final_epochs if max_steps is None else 10**9):
        for x, y in batches(split.x_train, split.y_train, protocol, generator):
            if max_steps is not None and step >= max_steps:
                return module
            optimizer.zero_grad()
            F.cross_entropy(module(x), y).backward()
            optimizer.step()
            step += 1
    return module


# ---- one run -----------------------------------------------------------------------------


@dataclass
class Result:
    method: str
    seed: int
    test: float
    valid: float
    search_cpu: float
    final_cpu: float
    search_steps: int
    params: int
    macs: int
    assignment: dict


def run(method: str, split: Split, protocol: Protocol, seed: int, space, steps: int) -> Result:
    """One method and seed: search (timed in CPU seconds), derive, train from scratch, test."""
    start = time.process_time()
    if method in METHODS:
        space, assignment, steps = search_oneshot(method, split, protocol, seed)
    elif method == "random search":
        assignment = search_random(space, split, protocol, seed, steps)
    else:
        assignment, steps = space.sample(random.Random(seed)), 0
    searched = time.process_time()
    module = train(space, assignment, split, protocol, seed)
    trained = time.process_time()
    return Result(method, seed, accuracy(module, split.x_test, split.y_test),
                  accuracy(module, split.x_valid, split.y_valid), searched - start, trained - searched, steps,
                  sum(p.numel() for p in module.parameters()), macs_per_example(assignment),
                  dict(assignment.values))


@functools.lru_cache(maxsize=1)
def single_example_space():
    return archlang.space(SPEC, inputs={"x": [1, 1, 8, 8]})


def macs_per_example(assignment) -> int:
    return model_macs(single_example_space().fix_model(assignment))


def evaluate(seeds: list[int], protocol: Protocol, methods=METHODS + BASELINES, log=print,
             save=lambda results: None) -> list[Result]:
    """Every method for every seed, seeds outermost (so a cut-short run has whole seeds);
    ``save(results)`` after each run."""
    torch.set_num_threads(1)  # small networks on a shared machine: threads only wait on each other
    split = digits_split()
    space = archlang.space(SPEC)
    results = []
    steps = protocol.search_epochs * sum(1 for _ in batches(split.x_train, split.y_train, protocol,
                                                             torch.Generator()))
    for seed in seeds:
        for method in methods:
            result = run(method, split, protocol, seed, space, steps)
            results.append(result)
            save(results)
            log(f"seed {seed}  {method:<14} test {result.test:.4f}  valid {result.valid:.4f}  "
                f"search {result.search_cpu:6.1f} s  final {result.final_cpu:5.1f} s  "
                f"{result.params:,} params  {result.macs:,} MACs")
    return results


# ---- report ------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    """Markdown: per method, test accuracy mean ± sd, and the means of the rest."""
    lines = ["| method | test accuracy (mean ± sd) | seeds | search steps | search CPU s | params | MACs |",
             "|---|---|---|---|---|---|---|"]
    for method in dict.fromkeys(r.method for r in results):
        rows = [r for r in results if r.method == method]
        tests = [100 * r.test for r in rows]
        sd = statistics.stdev(tests) if len(tests) > 1 else 0.0
        lines.append(f"| {method} | {statistics.mean(tests):.2f} ± {sd:.2f} % | {len(rows)} | "
                     f"{statistics.mean(r.search_steps for r in rows):.0f} | "
                     f"{statistics.mean(r.search_cpu for r in rows):.1f} | "
                     f"{statistics.mean(r.params for r in rows):,.0f} | {statistics.mean(r.macs for r in rows):,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke test in seconds")
    parser.add_argument("--methods", nargs="+", default=list(METHODS + BASELINES))
    parser.add_argument("--json", help="write every run (assignments included) to this file, after each run")
    parser.add_argument("--table", metavar="JSON", nargs="+",
                        help="only print the table of runs saved with --json (several files: one per seed, say)")
    args = parser.parse_args(argv)
    if args.table:
        print(table([Result(**r) for path in args.table for r in json.loads(Path(path).read_text())]))
        return 0
    protocol = QUICK if args.quick else Protocol()
    print(f"protocol: {asdict(protocol)}; split seed {SPLIT_SEED}; seeds {args.seeds}", flush=True)
    results = evaluate(args.seeds, protocol, args.methods, log=lambda line: print(line, flush=True),
                       save=lambda results: args.json and save(results, Path(args.json)))
    print(table(results))
    return 0


def save(results: list[Result], path: Path) -> None:
    from archlang.files.write import write_text

    write_text(path, json.dumps([asdict(r) for r in results], indent=1) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
