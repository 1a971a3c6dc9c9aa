"""The ordering optimizer: simulated annealing over priority lists, with common random numbers.

Search space
    A candidate is a priority list: a permutation of the unit ids. It is decoded by the serial
    schedule-generation scheme :func:`sim.model.ordering.decode_priorities` (take the unit listed
    first whose must-precede predecessors are all placed), so every candidate is a topological order
    of the DAG: the constraints hold by construction, never by penalty. The decoded order is what
    the engine hands to the crews (position = crew priority), so it is also the state the search
    keeps; equal decoded orders are evaluated once (a cache).

Evaluation
    Every candidate runs the same replications ``0..n-1`` (common random numbers: the same draws
    for the same unit and step), so two candidates differ only by their order. Objectives
    (lower is better), over those replications:

    - ``p80_makespan``: the 80th percentile of ``makespan_hours`` (numpy linear interpolation);
    - ``vm_hours_down``: the mean VM-hours of data-plane downtime;
    - ``peak_vms_down``: the mean of the peak number of VMs down at once;
    - ``weighted``: ``0.5 * P80 makespan / B_m + 0.25 * mean VM-hours down / B_v + 0.25 * mean
      peak VMs down / B_p``, each term divided by its value ``B`` under the plan's own ordering on
      the same replications (so the plan as it stands scores 1.0; a term whose ``B`` is 0 is
      divided by 1). Other weights: ``weights=``.

Search: simulated annealing with restarts
    Starting points: every named strategy (:data:`sim.model.ordering.STRATEGIES`) and the plan's own
    order; the search starts from the best of them and only ever reports a candidate at least as
    good, so the result beats or ties the best named strategy by construction. A move takes the
    current order and either swaps two units (probability 1/2) or moves one unit to another
    position, then decodes. A worse candidate is accepted with probability
    ``exp(-(relative worsening) / T)``, the worsening relative to the best named objective. The
    temperature falls geometrically from :data:`T_START` to :data:`T_END` over a cycle of
    ``max(100, 20 * units)`` proposals; each cycle restarts from the best order found. The
    schedule depends only on the proposal count, never on the clock, so for one seed the search
    is one fixed sequence: ``max_evaluations`` makes it reproducible; a time budget stops it
    after a prefix of that sequence. It also stops when ``max(1000, 50 * units)`` proposals in a
    row decode to orders already evaluated (the space is exhausted). With ``batch=k`` the
    search draws ``k`` proposals from the current order at a time and evaluates them in one
    call (a parallel runner spreads them), then accepts or rejects them one after the other; the
    sequence then depends on ``k`` (never on the worker count).

    The random numbers come from ``numpy.random.Generator(PCG64(SeedSequence(seed,
    spawn_key=(SPAWN_KEY,))))``, ``seed`` the plan's seed unless given.

Improvement and its confidence
    ``improvement = objective(best named) - objective(best)``. Two paired 95 % intervals, both
    of best named minus best on the same replications:

    - ``interval``: the Student t interval (``scipy.stats.t``) of the mean per-replication
      difference of the objective's metric (makespan hours for ``p80_makespan``; the weighted
      sum of the three metrics, makespan in place of its P80, for ``weighted``). For the mean
      objectives this is the interval of the improvement itself;
    - ``objective_interval``: the percentile bootstrap of the objective's difference
      (:data:`BOOTSTRAP` resamples of the replication indices, the same resample for both
      orders), for the P80 objectives whose difference is not a mean. Its generator is
      ``SeedSequence(seed, spawn_key=(SPAWN_KEY, 1))``: the same numbers every run.

    On the search replications both are optimistic (the best was chosen on those draws);
    ``holdout=h`` computes them on replications ``n..n+h-1``, which the search never saw.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sim.engine.sampling import stable_hash
from sim.experiments.replications import Prepared, ReplicationRow
from sim.experiments.sensitivity import Evaluate, serial_evaluate
from sim.model.ordering import STRATEGIES, decode_priorities, order_units

# scipy ships no type information: as ``Any`` its calls stay out of strict checking whether or
# not stubs are installed.
stats: Any = import_module("scipy.stats")

FloatArray = npt.NDArray[np.float64]

Objective = Literal["p80_makespan", "vm_hours_down", "peak_vms_down", "weighted"]
OBJECTIVES: tuple[Objective, ...] = ("p80_makespan", "vm_hours_down", "peak_vms_down", "weighted")

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "p80_makespan": 0.5,
    "vm_hours_down": 0.25,
    "peak_vms_down": 0.25,
}
"""Weights of the ``weighted`` objective (each term relative to the plan's own ordering)."""

SPAWN_KEY = stable_hash("sim.optimize")
"""The optimizer's fixed ``SeedSequence`` spawn key (distinct from every replication index).

The name hashed is a stream name, not a module path: it stays ``sim.optimize`` wherever this
module lives, so the same seed keeps giving the same search."""

BOOTSTRAP = 2000
"""Resamples of the bootstrap interval of the objective's difference."""

T_START = 0.05
"""Temperature at a cycle's start: a candidate 5 % worse is accepted with probability 1/e."""
T_END = 0.0005
"""Temperature at a cycle's end."""

OBJECTIVE_UNITS: Mapping[str, str] = {
    "p80_makespan": " h",
    "vm_hours_down": " VM-hours",
    "peak_vms_down": " VMs",
    "weighted": "",
}
"""The unit of each objective, as :meth:`OptimizeResult.verdict` writes it (``weighted`` has
none: each term is relative to the plan's own ordering)."""

_METRIC = {
    "p80_makespan": "makespan_hours",
    "vm_hours_down": "vm_hours_down",
    "peak_vms_down": "peak_vms_down",
}


@dataclass(frozen=True)
class Scorer:
    """How rows become the objective, and each replication's score for the paired interval."""

    objective: Objective
    weights: Mapping[str, float]
    scale: Mapping[str, float]  # the divisor of each weighted term (1.0 outside ``weighted``)

    def value(self, rows: Sequence[ReplicationRow]) -> float:
        if not rows:
            raise ValueError("no replication rows to score")
        return float(self.resampled(rows, np.arange(len(rows))[None, :])[0])

    def resampled(self, rows: Sequence[ReplicationRow], idx: npt.NDArray[np.int64]) -> FloatArray:
        """The objective of each resample: ``idx`` holds one row of replication positions each."""
        makespan = np.array([r.makespan_hours for r in rows], dtype=float)[idx]
        down = np.array([r.vm_hours_down for r in rows], dtype=float)[idx]
        peak = np.array([r.peak_vms_down for r in rows], dtype=float)[idx]
        terms: dict[str, FloatArray] = {
            "p80_makespan": np.percentile(makespan, 80, axis=1),
            "vm_hours_down": down.mean(axis=1),
            "peak_vms_down": peak.mean(axis=1),
        }
        if self.objective != "weighted":
            return terms[self.objective]
        out = np.zeros(idx.shape[0])
        for k, term in terms.items():
            out += self.weights[k] * term / self.scale[k]
        return out

    def per_replication(self, rows: Sequence[ReplicationRow]) -> list[float]:
        if self.objective != "weighted":
            metric = _METRIC[self.objective]
            return [float(getattr(r, metric)) for r in rows]
        return [
            self.weights["p80_makespan"] * r.makespan_hours / self.scale["p80_makespan"]
            + self.weights["vm_hours_down"] * r.vm_hours_down / self.scale["vm_hours_down"]
            + self.weights["peak_vms_down"] * r.peak_vms_down / self.scale["peak_vms_down"]
            for r in rows
        ]


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """The weights of ``weighted`` (default :data:`DEFAULT_WEIGHTS`); ``ValueError`` unless every
    key is given a finite number of zero or more."""
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if set(w) != set(DEFAULT_WEIGHTS) or not all(math.isfinite(v) and v >= 0 for v in w.values()):
        keys = ", ".join(DEFAULT_WEIGHTS)
        raise ValueError(f"weights must give a finite number of zero or more for each of: {keys}")
    return w


def make_scorer(
    objective: str,
    baseline: Sequence[ReplicationRow],
    weights: Mapping[str, float] | None = None,
) -> Scorer:
    """The scorer of ``objective``; ``baseline`` (the plan's own ordering) scales ``weighted``.

    Raises ``ValueError`` naming the expected values for an unknown objective or weight key.
    """
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {objective!r}; expected one of: {', '.join(OBJECTIVES)}"
        )
    w = check_weights(weights)
    scale = dict.fromkeys(DEFAULT_WEIGHTS, 1.0)
    if objective == "weighted":
        raw = Scorer("p80_makespan", w, scale)
        for key in OBJECTIVES[:3]:
            base = dataclasses.replace(raw, objective=key).value(baseline)
            scale[key] = base if base > 0 else 1.0
    return Scorer(objective, w, scale)


@dataclass(frozen=True)
class Interval:
    """A paired confidence interval of a mean difference."""

    mean: float
    low: float
    high: float
    n: int


def paired_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student t interval of ``mean(a - b)`` over paired values (NaN bounds when ``n < 2``)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = int(d.size)
    if n == 0:
        raise ValueError("no pairs")
    mean = float(d.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class OptimizeStatus:
    """Where the search is: passed to ``progress`` after every evaluation."""

    evaluations: int
    proposals: int
    elapsed_s: float
    best: float
    fraction: float  # of the budget used, 0..1 (the larger of time and evaluations)


@dataclass(frozen=True)
class OptimizeResult:
    """The best order found, next to every named strategy."""

    objective: str
    replications: int
    best_order: tuple[str, ...]
    best_value: float
    named: dict[str, float]  # strategy name -> objective, in STRATEGIES order
    plan_value: float  # the plan's own ordering
    best_named: str
    improvement: float  # named[best_named] - best_value, >= 0
    interval: Interval  # paired t: mean per-replication difference (best named - best)
    objective_interval: Interval  # paired bootstrap of the objective's difference
    interval_replications: tuple[int, int]  # [first, last) replication indices of both
    evaluations: int  # distinct orders simulated (starting points included)
    proposals: int
    elapsed_s: float
    stopped: str  # "evaluations", "time", or "exhausted"
    seed: int

    @property
    def improvement_pct(self) -> float:
        ref = self.named[self.best_named]
        return 100.0 * self.improvement / ref if ref else 0.0

    def rows(self) -> list[tuple[str, float]]:
        """``(label, objective)`` for a table: ``optimized``, every named strategy, ``plan``."""
        return [("optimized", self.best_value), *self.named.items(), ("plan", self.plan_value)]

    def ordering_yaml(self) -> str:
        """``ordering: [...]``: paste under ``plan:`` to re-run the best order."""
        return "ordering: [" + ", ".join(json.dumps(u) for u in self.best_order) + "]\n"

    @property
    def held_out(self) -> bool:
        """Whether the intervals come from replications the search never saw (``holdout``)."""
        return self.interval_replications[0] >= self.replications

    def verdict(self) -> str:
        """Better, a tie or worse than the best named strategy, from the bootstrap 95 % interval
        of the objective's improvement (:attr:`objective_interval`): better when it lies above 0,
        worse when below, a tie when it includes 0. Judged on the held-out replications when
        there were some; on the search's own it says that the figure is optimistic."""
        iv = self.objective_interval
        first, stop = self.interval_replications
        unit = OBJECTIVE_UNITS[self.objective]
        where = (
            f"On {stop - first} held-out replications ({first}-{stop - 1}), which the search"
            " never saw"
            if self.held_out
            else f"On the {stop - first} replications the search chose it on (optimistic: pass"
            " holdout= to judge it on fresh ones)"
        )
        ci = f"95 % CI {iv.low:.3f} to {iv.high:.3f}{unit}"
        if math.isnan(iv.low) or math.isnan(iv.high):
            return f"Not judged: too few replications for an interval. {where}."
        if iv.low > 0:
            return (
                f"Better. {where}, the optimized ordering improves {self.objective} over"
                f" {self.best_named} by {iv.mean:.3f}{unit} ({ci})."
            )
        if iv.high < 0:
            return (
                f"Worse. {where}, the optimized ordering is {-iv.mean:.3f}{unit} worse than"
                f" {self.best_named} on {self.objective} (improvement {ci})."
            )
        return (
            f"Tie. {where}, the optimized ordering and {self.best_named} cannot be told apart"
            f" on {self.objective}: the improvement is {iv.mean:+.3f}{unit}, {ci}, which"
            " includes 0."
        )


def search_seed(seed: int, stream: int = 0) -> np.random.Generator:
    """The optimizer's random generator for ``seed``: ``stream`` 0 the search, 1 the bootstrap."""
    key = (SPAWN_KEY,) if stream == 0 else (SPAWN_KEY, stream)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def bootstrap_interval(
    scorer: Scorer,
    a: Sequence[ReplicationRow],
    b: Sequence[ReplicationRow],
    rng: np.random.Generator,
    resamples: int = BOOTSTRAP,
    confidence: float = 0.95,
) -> Interval:
    """Percentile bootstrap of ``objective(a) - objective(b)`` over paired replications."""
    n = len(a)
    if n != len(b) or n == 0:
        raise ValueError("expected the same, non-zero number of rows on both sides")
    observed = scorer.value(a) - scorer.value(b)
    if n < 2:
        return Interval(observed, math.nan, math.nan, n)
    idx = rng.integers(0, n, size=(resamples, n))
    diff = scorer.resampled(a, idx) - scorer.resampled(b, idx)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(diff, [tail, 100 - tail])
    return Interval(observed, float(low), float(high), n)


def _propose(order: Sequence[str], rng: np.random.Generator) -> list[str]:
    out = list(order)
    i, j = (int(x) for x in rng.choice(len(out), size=2, replace=False))
    if rng.random() < 0.5:
        out[i], out[j] = out[j], out[i]
    else:
        out.insert(j, out.pop(i))
    return out


MAX_EVALUATIONS = 1_000_000
"""The most orderings one search evaluates (``--max-evaluations``)."""

MAX_BUDGET_S = 86_400.0
"""The longest search, in seconds (``--budget``): a day."""


def optimize(
    prepared: Prepared,
    *,
    objective: str = "p80_makespan",
    replications: int = 50,
    budget_s: float | None = 20.0,
    max_evaluations: int | None = None,
    seed: int | None = None,
    weights: Mapping[str, float] | None = None,
    holdout: int = 0,
    batch: int = 1,
    evaluate: Evaluate | None = None,
    progress: Callable[[OptimizeStatus], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> OptimizeResult:
    """Search orders of ``prepared``'s units for the lowest ``objective`` (see the module doc).

    Stops at ``budget_s`` seconds or ``max_evaluations`` distinct orders, whichever comes first
    (at least one must be given; the starting points are always evaluated). ``evaluate`` runs
    replications (default: serially here); ``progress`` gets an :class:`OptimizeStatus` after
    every evaluation. ``batch`` proposals are drawn from the current order and evaluated in one
    ``evaluate`` call, then accepted or not one after the other: more than 1 keeps a parallel
    runner busy (the search then depends on ``batch``, never on the worker count). Raises
    ``ValueError`` for an unknown objective, bad weights, no budget, or ``batch < 1``.
    """
    if budget_s is None and max_evaluations is None:
        raise ValueError("expected a time budget, a maximum number of evaluations, or both")
    if budget_s is not None and not 0 <= budget_s <= MAX_BUDGET_S:
        raise ValueError(f"expected a time budget from 0 to {MAX_BUDGET_S:,.0f} s, got {budget_s}")
    if max_evaluations is not None and not 1 <= max_evaluations <= MAX_EVALUATIONS:
        raise ValueError(
            f"expected from 1 to {MAX_EVALUATIONS:,} evaluations, got {max_evaluations}"
        )
    if batch < 1:
        raise ValueError(f"expected a batch of at least one proposal, got {batch}")
    if replications < 1 or holdout < 0:
        raise ValueError("expected at least one replication and a holdout of zero or more")
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {objective!r}; expected one of: {', '.join(OBJECTIVES)}"
        )
    check_weights(weights)
    run: Evaluate = evaluate if evaluate is not None else serial_evaluate
    n = replications
    started = clock()
    units = prepared.units
    plan = prepared.plan

    # Starting points: every named strategy and the plan's own order, each evaluated once.
    starts: dict[str, tuple[str, ...]] = {
        name: tuple(order_units(units, name, plan)) for name in STRATEGIES
    }
    starts["plan"] = tuple(prepared.order)
    distinct = list(dict.fromkeys(starts.values()))
    rows_of: dict[tuple[str, ...], list[ReplicationRow]] = {}
    for order, rows in zip(
        distinct, run([dataclasses.replace(prepared, order=o) for o in distinct], n), strict=True
    ):
        rows_of[order] = list(rows)
    scorer = make_scorer(objective, rows_of[starts["plan"]], weights)
    cache: dict[tuple[str, ...], float] = {o: scorer.value(r) for o, r in rows_of.items()}
    named = {name: cache[starts[name]] for name in STRATEGIES}
    best_named = min(named, key=lambda k: named[k])  # first of equal ones, in STRATEGIES order
    reference = abs(named[best_named]) or 1.0

    best = min(distinct, key=lambda o: (cache[o], distinct.index(o)))
    best_value = cache[best]
    current, current_value = best, best_value
    rng = search_seed(plan.seed if seed is None else seed, 0)
    evaluations, proposals, repeats = len(distinct), 0, 0
    cycle = max(100, 20 * len(units.units))
    patience = max(1000, 50 * len(units.units))
    stopped = "exhausted"

    def fraction() -> float:
        parts = []
        if budget_s is not None:
            parts.append((clock() - started) / budget_s if budget_s > 0 else 1.0)
        if max_evaluations is not None:
            parts.append(evaluations / max_evaluations)
        return min(1.0, max(parts))

    def report() -> None:
        if progress is not None:
            status = OptimizeStatus(
                evaluations, proposals, clock() - started, best_value, fraction()
            )
            progress(status)

    report()
    while len(units.units) > 1:
        if max_evaluations is not None and evaluations >= max_evaluations:
            stopped = "evaluations"
            break
        if budget_s is not None and clock() - started >= budget_s:
            stopped = "time"
            break
        if repeats >= patience:
            break
        # ``batch`` proposals from the current order, their new orders evaluated in one call.
        candidates = [tuple(decode_priorities(units, _propose(current, rng))) for _ in range(batch)]
        fresh = [c for c in dict.fromkeys(candidates) if c not in cache]
        if max_evaluations is not None:
            fresh = fresh[: max_evaluations - evaluations]
        if fresh:
            results = run([dataclasses.replace(prepared, order=c) for c in fresh], n)
            for c, rows in zip(fresh, results, strict=True):
                cache[c] = scorer.value(rows)
                if cache[c] < best_value:  # kept for the intervals, should it become the best
                    rows_of[c] = list(rows)
            evaluations += len(fresh)
        for candidate in candidates:
            if candidate not in cache:
                break  # beyond max_evaluations: the search stops at the loop's top
            step = proposals % cycle
            if step == 0 and proposals:
                current, current_value = best, best_value
            temperature = T_START * (T_END / T_START) ** (step / (cycle - 1))
            proposals += 1
            value = cache[candidate]
            repeats = 0 if candidate in fresh else repeats + 1
            worse = (value - current_value) / reference
            if worse <= 0 or rng.random() < math.exp(-worse / temperature):
                current, current_value = candidate, value
            if value < best_value:
                best, best_value = candidate, value
        if fresh:
            report()

    ref_order = starts[best_named]
    if holdout > 0:
        both = run([dataclasses.replace(prepared, order=o) for o in (ref_order, best)], n + holdout)
        a, b = list(both[0])[n:], list(both[1])[n:]
        span = (n, n + holdout)
    else:
        a, b = rows_of[ref_order], rows_of[best]
        span = (0, n)
    interval = paired_interval(scorer.per_replication(a), scorer.per_replication(b))
    used_seed = plan.seed if seed is None else seed
    boot = bootstrap_interval(scorer, a, b, search_seed(used_seed, 1))
    return OptimizeResult(
        objective=objective,
        replications=n,
        best_order=best,
        best_value=best_value,
        named=named,
        plan_value=cache[starts["plan"]],
        best_named=best_named,
        improvement=named[best_named] - best_value,
        interval=interval,
        objective_interval=boot,
        interval_replications=span,
        evaluations=evaluations,
        proposals=proposals,
        elapsed_s=clock() - started,
        stopped=stopped,
        seed=used_seed,
    )


def optimized_order(
    prepared: Prepared,
    *,
    objective: str = "p80_makespan",
    replications: int = 50,
    budget_s: float | None = 20.0,
    max_evaluations: int | None = None,
    evaluate: Evaluate | None = None,
) -> tuple[str, ...]:
    """The ``optimized`` alternative of a comparison: :func:`optimize`'s best order.

    Searching on the comparison's own replications (``replications`` = its count) makes the
    optimized order beat or tie every named strategy on that objective in that table, by
    construction (and optimistically: chosen on those draws).
    """
    return optimize(
        prepared,
        objective=objective,
        replications=replications,
        budget_s=budget_s,
        max_evaluations=max_evaluations,
        evaluate=evaluate,
    ).best_order
