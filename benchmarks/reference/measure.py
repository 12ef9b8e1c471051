"""Model-agnostic CPU measurements of one supernet training step.

Every function takes an ordinary ``nn.Module``, a loss ``loss_fn(outputs, targets)`` and an
optimizer, so the same code measures the reference DARTS / PC-DARTS networks of this package
and, later, the supernets archlang compiles:

* ``count_parameters``   -- weights (``weight_parameters()`` when the model has it), architecture
                            parameters (``arch_parameters()``) and their de-duplicated total;
* ``time_training_step`` -- median CPU time (``time.process_time``) and wall time
                            (``time.perf_counter``) of forward + backward + optimizer step;
* ``saved_tensor_bytes`` -- exact bytes kept alive for backward by one forward, via
                            ``torch.autograd.graph.saved_tensors_hooks``;
* ``peak_step_memory``   -- peak memory of one step, in a fresh subprocess (see its docstring
                            for why the profiler's allocator trace is the primary figure).

``python -m benchmarks.reference.measure`` prints all four for DARTS and PC-DARTS at the paper's
search configuration (C=16, 8 cells, batch 32 of 3x32x32, 10 classes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial

import torch
import torch.nn as nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# ---------------------------------------------------------------------------------------------
# Inputs and one training step
# ---------------------------------------------------------------------------------------------


def cifar_batch(batch_size: int = 32, image_size: int = 32, num_classes: int = 10,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic random CIFAR-shaped batch: (batch, 3, size, size) inputs and class labels."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
    targets = torch.randint(0, num_classes, (batch_size,), generator=generator)
    return inputs, targets


def training_step(model: nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                  inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Forward + backward + optimizer step; gradients are freed (set to None) first, so the
    step allocates them afresh, as a training loop with the default ``zero_grad`` does."""
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.detach()


@dataclass(frozen=True)
class StepSetup:
    """Everything one training step needs; built inside the subprocess by ``peak_step_memory``."""

    model: nn.Module
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    inputs: torch.Tensor
    targets: torch.Tensor

    def step(self) -> torch.Tensor:
        return training_step(self.model, self.loss_fn, self.optimizer, self.inputs, self.targets)


# ---------------------------------------------------------------------------------------------
# (a) parameter count
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterCount:
    weights: int  #: elements of the network weights (what the papers report as "params")
    arch: int     #: elements of the architecture parameters (alphas, betas, ...)
    total: int    #: elements of every distinct parameter tensor, weights and arch together


def _unique(tensors: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    seen: dict[int, torch.Tensor] = {}
    for t in tensors:
        seen.setdefault(id(t), t)
    return list(seen.values())


def count_parameters(model: nn.Module) -> ParameterCount:
    """Count weights and architecture parameters, each tensor once even if shared.

    Uses ``model.arch_parameters()`` / ``model.weight_parameters()`` when present (DARTS-style
    supernets); otherwise every ``nn.Parameter`` counts as a weight.
    """
    arch = _unique(model.arch_parameters()) if hasattr(model, "arch_parameters") else []
    arch_ids = {id(p) for p in arch}
    if hasattr(model, "weight_parameters"):
        weights = _unique(model.weight_parameters())
    else:
        weights = _unique(p for p in model.parameters() if id(p) not in arch_ids)
    every = _unique(itertools.chain(model.parameters(), arch))
    return ParameterCount(weights=sum(p.numel() for p in weights), arch=sum(p.numel() for p in arch),
                          total=sum(p.numel() for p in every))


# ---------------------------------------------------------------------------------------------
# (b) step time
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTiming:
    cpu_ms: float              #: median process CPU time; sums every thread, so it can exceed wall
    wall_ms: float             #: median wall-clock time
    threads: int               #: torch intra-op threads during the measurement
    cpu_samples_ms: list[float] = field(repr=False)
    wall_samples_ms: list[float] = field(repr=False)


def time_training_step(model: nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                       inputs: torch.Tensor, targets: torch.Tensor, repeats: int = 5, warmup: int = 1,
                       step: Callable[..., torch.Tensor] = training_step) -> StepTiming:
    """Median CPU and wall time of ``step`` over ``repeats`` runs after ``warmup`` untimed runs.

    Warm-up runs absorb one-time costs (optimizer state allocation, oneDNN primitive creation,
    thread-pool start). Medians rather than means, so that one preempted run does not move the
    figure. Note that the steps really train the model: its weights change.

    Threads: ``process_time`` adds up the CPU time of every thread, including OpenMP workers
    spinning at barriers. On a machine whose cores are shared with other jobs a multi-threaded
    step can stall at every parallel region (we saw a 0.1 ms conv take 19 ms with 2 threads on 2
    busy cores), so compare networks with ``torch.set_num_threads(1)``, where CPU time ~ wall
    time and the figure is repeatable; the thread count is recorded with the result.
    """
    model.train()
    for _ in range(warmup):
        step(model, loss_fn, optimizer, inputs, targets)
    cpu, wall = [], []
    for _ in range(repeats):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        step(model, loss_fn, optimizer, inputs, targets)
        cpu.append(1e3 * (time.process_time() - cpu0))
        wall.append(1e3 * (time.perf_counter() - wall0))
    return StepTiming(cpu_ms=statistics.median(cpu), wall_ms=statistics.median(wall),
                      threads=torch.get_num_threads(), cpu_samples_ms=cpu, wall_samples_ms=wall)


# ---------------------------------------------------------------------------------------------
# (c) tensors saved for backward
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedTensors:
    activation_bytes: int  #: saved storages that are not parameters or buffers: the activation memory
    parameter_bytes: int   #: saved storages that are parameters/buffers (kept alive anyway)
    total_bytes: int       #: activation_bytes + parameter_bytes
    saved_tensors: int     #: number of pack-hook calls (a storage may be saved many times)
    storages: int          #: distinct storages behind them


def _storage_key(tensor: torch.Tensor) -> tuple[int, int] | None:
    try:
        storage = tensor.untyped_storage()
    except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. some subclasses)
        return None
    return storage.data_ptr(), storage.nbytes()


def saved_tensor_bytes(model: nn.Module, inputs: torch.Tensor, loss_fn: LossFn | None = None,
                       targets: torch.Tensor | None = None) -> SavedTensors:
    """Bytes kept alive for the backward pass by one training-mode forward (and loss, if given).

    Every tensor autograd saves goes through the pack hook; we count the *storage* behind it,
    once per distinct ``untyped_storage().data_ptr()``: a view (e.g. a channel slice) keeps its
    whole base storage alive, and the same activation saved by several ops costs memory once.
    The pack hook returns the tensor itself, so all saved storages stay alive until the graph is
    dropped and no two distinct ones can share an address. Storages of parameters and buffers
    (conv weights saved for grad-input, BN running stats) are reported apart: they are resident
    whether or not a forward runs.
    """
    resident = {t.untyped_storage().data_ptr() for t in itertools.chain(model.parameters(), model.buffers())}
    storages: dict[int, int] = {}
    calls = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        key = _storage_key(tensor)
        if key is not None:
            storages[key[0]] = max(storages.get(key[0], 0), key[1])
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        outputs = model(inputs)
        if loss_fn is not None:
            loss_fn(outputs, targets)
    parameter_bytes = sum(n for ptr, n in storages.items() if ptr in resident)
    total = sum(storages.values())
    return SavedTensors(activation_bytes=total - parameter_bytes, parameter_bytes=parameter_bytes,
                        total_bytes=total, saved_tensors=calls, storages=len(storages))


# ---------------------------------------------------------------------------------------------
# (d) peak memory of one step, in a fresh subprocess
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeakMemory:
    step_peak_bytes: int             #: profiler: peak tensor bytes allocated during the step above its start
    resident_bytes: int              #: params + buffers + optimizer state + batch before the step
    rss_first_step_delta_bytes: int  #: peak-RSS growth over the process's first step (indicative only)

    @property
    def peak_bytes(self) -> int:
        """Resident state plus the step's peak: the tensor memory high-water mark of the step."""
        return self.resident_bytes + self.step_peak_bytes


def _resident_bytes(setup: StepSetup) -> int:
    """Distinct storages of the model, any gradients it still holds, the optimizer state and the batch."""
    tensors = list(itertools.chain(setup.model.parameters(), setup.model.buffers(),
                                   (p.grad for p in setup.model.parameters() if p.grad is not None),
                                   (v for state in setup.optimizer.state.values() for v in state.values()
                                    if isinstance(v, torch.Tensor)),
                                   (setup.inputs, setup.targets)))
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def _profiled_step_peak(setup: StepSetup) -> int:
    """Peak of the running sum of allocator events recorded by the profiler during one step.

    Gradients are dropped *before* the profiler starts: a block allocated before profiling has
    no size in the trace, so its free inside the trace could not be subtracted.
    """
    from torch.profiler import ProfilerActivity, profile

    setup.optimizer.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        loss = setup.loss_fn(setup.model(setup.inputs), setup.targets)
        loss.backward()
        setup.optimizer.step()
        del loss
    # The raw event list keeps every allocation/free with its signed size (prof.events() folds
    # them into the enclosing ops); order by timestamp, ties in recording order.
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events = sorted(enumerate(events), key=lambda ie: (ie[1].start_ns(), ie[0]))
    running = itertools.accumulate(e.nbytes() for _, e in events)
    return max(itertools.chain([0], running))


def _proc_status_bytes(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # reported in kB
    raise KeyError(field)


def _peak_rss_growth(run: Callable[[], object]) -> int:
    """Growth of the process's peak RSS while ``run`` executes.

    On Linux the peak (VmHWM) is first reset to the current RSS through /proc/self/clear_refs.
    ``ru_maxrss`` alone would not do in a spawned child: the kernel carries the high-water mark
    of the parent's address space across fork/vfork + exec into the child's ``ru_maxrss``, so
    a child started from a big parent reports the parent's peak and a zero delta.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")  # "5": reset the peak RSS to the current RSS
        baseline = _proc_status_bytes("VmRSS")
    except OSError:  # not Linux, or /proc not writable: fall back to the (inherited) ru_maxrss
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run()
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    run()
    return _proc_status_bytes("VmHWM") - baseline


def _peak_in_this_process(make_setup: Callable[[], StepSetup], num_threads: int, warmup: int) -> PeakMemory:
    torch.set_num_threads(num_threads)
    setup = make_setup()
    setup.model.train()
    # RSS only means something over the first step: later steps reuse heap pages that malloc
    # kept from the first one, so their RSS growth is about zero whatever they allocate.
    rss_delta = _peak_rss_growth(setup.step)
    for _ in range(warmup):
        setup.step()
    setup.optimizer.zero_grad(set_to_none=True)
    resident = _resident_bytes(setup)
    return PeakMemory(step_peak_bytes=_profiled_step_peak(setup), resident_bytes=resident,
                      rss_first_step_delta_bytes=rss_delta)


def peak_step_memory(make_setup: Callable[[], StepSetup], num_threads: int | None = None,
                     warmup: int = 1) -> PeakMemory:
    """Peak memory of one training step, measured in a fresh ``spawn`` subprocess.

    ``make_setup`` must be picklable (a module-level function or a ``functools.partial`` of one),
    since it is called in the child.

    Two figures are taken; ``step_peak_bytes`` (+ ``resident_bytes``) is the one to use:

    * **Profiler allocator trace** (primary). ``torch.profiler`` with ``profile_memory=True``
      records the signed size of every allocation and free made through c10's CPU allocator;
      the maximum of their running sum over a steady-state step (after ``warmup`` steps, so the
      optimizer state exists) is the step's peak above the memory live at its start. It counts
      tensor bytes exactly, so it is identical from run to run and machine to machine for the
      same model, batch and torch version. It does not see memory allocated outside c10 (e.g.
      oneDNN scratch-pads or BLAS workspaces, which are small here).
    * **Peak-RSS growth over the first step** (secondary, for reference): VmHWM after the
      first step minus RSS before it (``ru_maxrss`` where /proc is unavailable). RSS moves with
      glibc's malloc (arenas, the dynamic mmap threshold, freed memory not returned to the OS),
      page granularity, thread-pool start-up and one-time caches, and later steps reuse pages
      kept from the first, so it can only be taken over the first step of a fresh process, which
      includes those one-time costs. That is why this runs in a fresh subprocess, and why it is
      reported but not relied on: it is not repeatable to better than a few MB.
    """
    threads = num_threads if num_threads is not None else torch.get_num_threads()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_peak_in_this_process, make_setup, threads, warmup).result()


# ---------------------------------------------------------------------------------------------
# The reference configurations
# ---------------------------------------------------------------------------------------------


def reference_setup(kind: str = "darts", C: int = 16, layers: int = 8, num_classes: int = 10,
                    batch_size: int = 32, image_size: int = 32, k: int = 4, seed: int = 0) -> StepSetup:
    """DARTS or PC-DARTS search network with its weight optimiser (SGD over the weights, paper
    defaults) and a random batch. The step measured is the weight step of the search loop."""
    from . import darts, pcdarts

    torch.manual_seed(seed)
    if kind == "darts":
        model = darts.Network(C, num_classes, layers)
    elif kind == "pcdarts":
        model = pcdarts.PCDartsNetwork(C, num_classes, layers, k=k)
    else:
        raise ValueError(f"unknown reference network {kind!r}; expected 'darts' or 'pcdarts'")
    inputs, targets = cifar_batch(batch_size, image_size, num_classes, seed)
    return StepSetup(model, nn.CrossEntropyLoss(), darts.make_weight_optimizer(model), inputs, targets)


def measure_reference(kind: str, repeats: int = 5, peak: bool = True, **config) -> dict:
    """All four measurements of one reference network, as a plain dict."""
    report: dict = {"kind": kind, **config}
    if peak:  # first, while this process is still small (the child inherits nothing, but the host's RAM is shared)
        memory = peak_step_memory(partial(reference_setup, kind, **config))
        report["peak"] = {**asdict(memory), "peak_bytes": memory.peak_bytes}
    setup = reference_setup(kind, **config)
    report["params"] = asdict(count_parameters(setup.model))
    report["saved"] = asdict(saved_tensor_bytes(setup.model, setup.inputs, setup.loss_fn, setup.targets))
    timing = time_training_step(setup.model, setup.loss_fn, setup.optimizer, setup.inputs, setup.targets,
                                repeats=repeats)
    report["time"] = asdict(timing)
    return report


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--C", type=int, default=16)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--k", type=int, default=4, help="PC-DARTS channel proportion 1/K")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: see the note on threads in time_training_step)")
    parser.add_argument("--no-peak", action="store_true", help="skip the subprocess peak measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = dict(C=args.C, layers=args.layers, batch_size=args.batch_size, image_size=args.image_size)
    reports = [measure_reference("darts", args.repeats, not args.no_peak, **config),
               measure_reference("pcdarts", args.repeats, not args.no_peak, k=args.k, **config)]
    for r in reports:
        name = r["kind"] + (f" K={r['k']}" if "k" in r else "")
        print(f"{name}: weights {r['params']['weights']:,} (+{r['params']['arch']} arch = {r['params']['total']:,})")
        t = r["time"]
        print(f"  step: {t['cpu_ms']:.0f} ms CPU, {t['wall_ms']:.0f} ms wall (median of {args.repeats}; "
              f"CPU {min(t['cpu_samples_ms']):.0f}-{max(t['cpu_samples_ms']):.0f} ms; {t['threads']} thread(s))")
        print(f"  saved for backward: {_mib(r['saved']['activation_bytes'])} activations "
              f"({r['saved']['activation_bytes']:,} B) + {_mib(r['saved']['parameter_bytes'])} params/buffers")
        if "peak" in r:
            p = r["peak"]
            print(f"  peak of a step: {_mib(p['peak_bytes'])} = {_mib(p['resident_bytes'])} resident + "
                  f"{_mib(p['step_peak_bytes'])} step (profiler); first-step peak-RSS growth "
                  f"{_mib(p['rss_first_step_delta_bytes'])}")
    darts_saved, pc_saved = (r["saved"]["activation_bytes"] for r in reports)
    print(f"saved activations PC-DARTS/DARTS = {pc_saved / darts_saved:.3f}")


if __name__ == "__main__":
    main()
