"""The ordering optimizer: simulated annealing over priority lists, with candidates screened on
a few replications before the full set (common random numbers throughout), within a wall-time
budget that the whole call keeps.

Search space
    A candidate is a priority list: a permutation of the unit ids. It is decoded by the serial
    schedule-generation scheme :func:`sim.model.ordering.decode_priorities` (take the unit listed
    first whose must-precede predecessors are all placed), so every candidate is a topological order
    of the DAG: the constraints hold by construction, never by penalty. The decoded order is what
    the engine hands to the crews (position = crew priority), so it is also the state the search
    keeps; equal decoded orders are evaluated once (a cache).

Objectives (lower is better), over a candidate's replications
    - ``p80_makespan``: the 80th percentile of ``makespan_hours`` (numpy linear interpolation);
    - ``vm_hours_down``: the mean VM-hours of data-plane downtime;
    - ``peak_vms_down``: the mean of the peak number of VMs down at once;
    - ``weighted``: ``0.5 * P80 makespan / B_m + 0.25 * mean VM-hours down / B_v + 0.25 * mean
      peak VMs down / B_p``, each term divided by its value ``B`` under the plan's own ordering on
      the screening replications ``0..k-1`` (so the plan as it stands scores 1.0 there; a term
      whose ``B`` is 0 is divided by 1). Other weights: ``weights=``.

    A replication's *score*, used by the screen and the paired t interval, is the objective's
    metric in that replication (makespan hours for ``p80_makespan``; for ``weighted`` the
    weighted sum with the replication's makespan in place of the P80).

Screen, then select (Nelson, Swann, Goldsman & Song 2001)
    The procedure follows the screen-then-select idea of B. L. Nelson, J. Swann, D. Goldsman and
    W. Song, "Simple procedures for selecting the best simulated system when the number of
    alternatives is large", Operations Research 49(6):950-963 (2001): a first stage of ``k``
    replications for every alternative screens out those that are clearly not competitive, and
    only the survivors get the (larger) second stage. Here:

    - **Screening stage.** Every candidate, starting points included, runs replications
      ``0..k-1`` (``screen``, default :data:`SCREEN`; the same ones for all: common random
      numbers). Its *screening value* is the mean of its ``k`` scores.
    - **The screen** (their rule with indifference zone 0, minimising, and, as common random
      numbers allow, the sample variance of the paired differences): alternative ``i`` survives
      against ``j`` when ``mean(d) <= t * S_d / sqrt(k)``, ``d`` the ``k`` score differences
      ``i - j``, ``S_d`` their sample standard deviation and ``t`` the ``1 - alpha / c`` quantile
      of Student's t with ``k - 1`` degrees of freedom (``c`` the number of comparisons ``i``
      must survive, Bonferroni; ``alpha`` = ``screen_alpha``, default :data:`SCREEN_ALPHA`).
      That is: ``i`` is kept unless it is significantly worse than ``j``.
    - **Starting points**: every named strategy (:data:`sim.model.ordering.STRATEGIES`) and the
      plan's own order are screened as one set (``i`` must survive against every other one:
      ``c`` = their number - 1), as in their procedure. The survivors get replications
      ``k..n-1`` (``n`` = ``replications``); the best named strategy is the named one with the
      lowest objective over ``0..n-1`` among them, and the search starts from the best survivor.
    - **A candidate of the search** is compared with the incumbent (the best order evaluated in
      full) by the same screen, ``c = 1``, and promoted to replications ``k..n-1`` when it
      screens the incumbent out: when the incumbent does not survive against it, i.e. the
      candidate is significantly better on the ``k`` replications (``mean(incumbent -
      candidate) > t * S_d / sqrt(k)``). Where their procedure sends every survivor to the
      second stage, this sends only those: most neighbours of a good order cannot be told from
      it on ``k`` replications, and evaluating each of them in full would leave the budget few
      candidates. A promoted candidate whose objective over ``0..n-1`` is lower than the
      incumbent's becomes the incumbent. Only an order evaluated in full can be reported, so the
      result is at least as good as the best named strategy on ``0..n-1`` by construction.

Search: simulated annealing on the screening values
    A move takes the current order and makes one of the changes a planner would try, then
    decodes it:

    - **swap** two units (weight 0.35) or **shift** one unit to another position (0.25);
    - **window** (0.25, when the plan has maintenance windows): move a unit to the position where
      the units of the window before or after its own start, the windows read off the
      incumbent's schedule in replication 0 (the maintenance window each unit first started in);
    - **wave** (0.15, when ``plan.waves`` is set): move a unit to the front of its wave, or to the
      front of the wave before it.

    Weights of moves that do not apply are shared by the others in proportion. A candidate worse
    than the current order (on the screening values) by ``w`` is accepted with probability
    ``exp(-w / (s * T))``: ``s``, the scale, is the median worsening of the candidates screened so
    far (each against the order current when it was drawn), so the temperature is in units of a
    typical move on this scenario (a 2,000-VM plan's makespan moves by minutes, contoso's by a
    tenth of its length). ``T`` falls geometrically from :data:`T_START` to :data:`T_END` with the
    fraction ``f`` of the budget used: ``T = T_START * (T_END / T_START) ** f`` (at the start a
    typical worsening is accepted with probability 1/e, at the end about never). With
    ``max_evaluations``
    ``f`` is the share of those evaluations done, so for one seed the search is one fixed
    sequence whatever the machine, its speed or the worker count (reproducible to the bit; a time
    budget given too then only stops it early); without, ``f`` is the share of the search's wall
    time used. The search also stops when ``max(1000, 50 * units)`` proposals in a row decode to
    orders already screened (the space is exhausted). ``batch=k`` draws ``k`` proposals from the
    current order at a time and screens them in one call, then accepts or rejects them one after
    the other (the sequence then depends on ``k``, never on the worker count).

    An *evaluation* is one candidate screened (starting points included); a *promotion* is one
    evaluated on the full ``n``.

    The random numbers come from ``numpy.random.Generator(PCG64(SeedSequence(seed,
    spawn_key=(SPAWN_KEY,))))``, ``seed`` the plan's seed unless given.

The budget: wall time, for the whole call
    ``budget_s`` counts from ``started`` (default: the call) to the return, hold-out included.
    Every evaluation is given a ``stop`` that the runner asks before each batch of replications
    (at most :data:`sim.experiments.runner.STOP_BATCH` per worker run on after it fires), so no
    evaluation runs past its deadline by more than a few replications. The search's deadline
    leaves the hold-out the time it is estimated to need (``1.1 * 2 * holdout`` times the
    seconds per replication measured so far, at most half the budget) and 2 % of the budget; the
    hold-out's deadline is the budget itself, and should it be reached the verdict is judged on
    the held-out replications that ran (and says how many). The starting points must be screened
    and their survivors evaluated in full within the budget: :class:`BudgetTooShort` otherwise.

Improvement and its confidence
    ``improvement = objective(best named) - objective(best)`` on ``0..n-1``. Two paired 95 %
    intervals, both of best named minus best on the same replications:

    - ``interval``: the Student t interval (``scipy.stats.t``) of the mean per-replication
      score difference. For the mean objectives this is the interval of the improvement itself;
    - ``objective_interval``: the percentile bootstrap of the objective's difference
      (:data:`BOOTSTRAP` resamples of the replication indices, the same resample for both
      orders), for the P80 objectives whose difference is not a mean. Its generator is
      ``SeedSequence(seed, spawn_key=(SPAWN_KEY, 1))``: the same numbers every run.

    On the search replications both are optimistic (the best was chosen on those draws);
    ``holdout=h`` computes them on replications ``n..n+h-1`` only, which the search never ran
    (nothing of the search is reused). When the best order is the best named strategy's own,
    nothing better was found: no hold-out runs (the rows would be the same) and both intervals
    are 0.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from sim.engine.sampling import stable_hash
from sim.experiments.replications import Prepared, ReplicationRow
from sim.model.ordering import STRATEGIES, decode_priorities, order_units, wave_members

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

T_START = 1.0
"""Temperature at the start, in units of the median worsening: a typical worse candidate is
accepted with probability 1/e."""
T_END = 0.01
"""Temperature at the end of the budget: a typical worse candidate is accepted with probability
e^-100."""

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


SCREEN = 4
"""Replications ``0..k-1`` every candidate is screened on (``screen``). Sized on the shipped
2,000-VM scenario (``scenarios/weekend-2000.yaml``): a replication takes about 40 ms on one core,
so 200 candidates on 4 replications, the starting points' full evaluations and a 200-replication
hold-out of two orders fit a 60 s budget on two cores."""

SCREEN_ALPHA = 0.1
"""The screen's one-sided significance level ``alpha`` (``screen_alpha``)."""

MOVE_WEIGHTS: Mapping[str, float] = {"swap": 0.35, "shift": 0.25, "window": 0.25, "wave": 0.15}
"""How often each move is drawn (those that do not apply share their weight)."""

HOLDOUT_MARGIN = 1.1
"""The hold-out's time estimate is this multiple of its replications at the measured rate."""

HOLDOUT_SHARE = 0.5
"""The most of the budget the search leaves for the hold-out."""

SLACK = 0.02
"""The share of the budget the search leaves unused for what follows it (intervals, return)."""


class Evaluate(Protocol):
    """``evaluate(alternatives, n, first=0, stop=None)`` -> one row list per alternative,
    replications ``first..first+n-1`` in order; ``stop()`` is asked between replications or
    batches and, once true, the rows that finished are returned (the others missing).
    ``functools.partial(sim.experiments.runner.run_replications, workers=...)`` is one."""

    def __call__(
        self,
        alternatives: Sequence[Prepared],
        n: int,
        *,
        first: int = 0,
        stop: Callable[[], bool] | None = None,
    ) -> Sequence[Sequence[ReplicationRow]]: ...


def serial_evaluate(
    alternatives: Sequence[Prepared],
    n: int,
    *,
    first: int = 0,
    stop: Callable[[], bool] | None = None,
) -> list[list[ReplicationRow]]:
    """Replications ``first..first+n-1`` of every alternative in this process, ``stop`` asked
    before each."""
    out: list[list[ReplicationRow]] = []
    for alt in alternatives:
        rows: list[ReplicationRow] = []
        for r in range(first, first + n):
            if stop is not None and stop():
                break
            rows.append(alt.row(r))
        out.append(rows)
    return out


class BudgetTooShort(ValueError):
    """The budget ran out before the starting points were screened and evaluated."""


def survives(
    diffs: Sequence[float] | FloatArray, alpha: float = SCREEN_ALPHA, comparisons: int = 1
) -> bool:
    """The screen of one pair (module doc): ``mean(d) <= t * S_d / sqrt(k)``, ``t`` the
    ``1 - alpha / comparisons`` quantile of Student's t with ``k - 1`` degrees of freedom.
    With one difference there is no variance: it survives when ``d <= 0``."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        raise ValueError("no differences to screen")
    mean = float(d.mean())
    if d.size < 2:
        return mean <= 0
    t = float(stats.t.ppf(1 - alpha / comparisons, d.size - 1))
    return mean <= t * float(d.std(ddof=1)) / math.sqrt(d.size)


def screen_set(scores: Sequence[Sequence[float]], alpha: float = SCREEN_ALPHA) -> list[bool]:
    """Which of a set of alternatives survive the screen (module doc): each must survive
    against every other, on paired scores, Bonferroni over the ``len - 1`` comparisons."""
    m = len(scores)
    arr = [np.asarray(s, dtype=float) for s in scores]
    return [
        all(survives(arr[i] - arr[j], alpha, m - 1) for j in range(m) if j != i) for i in range(m)
    ]


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
    improvement: float  # named[best_named] - best_value, >= 0, on replications 0..n-1
    interval: Interval  # paired t: mean per-replication difference (best named - best)
    objective_interval: Interval  # paired bootstrap of the objective's difference
    interval_replications: tuple[int, int]  # [first, last) replication indices asked
    evaluations: int  # distinct orders screened (starting points included)
    proposals: int
    elapsed_s: float
    stopped: str  # "evaluations", "time", or "exhausted"
    seed: int
    best_named_order: tuple[str, ...] = ()
    screen: int = 0  # k: the screening replications 0..k-1
    promotions: int = 0  # orders evaluated on all n replications (starting points included)
    named_replications: dict[str, int] = dataclasses.field(default_factory=dict)
    plan_replications: int = 0
    holdout_run: int = 0  # held-out replications the intervals are computed on
    budget_s: float | None = None

    @property
    def improvement_pct(self) -> float:
        ref = self.named[self.best_named]
        return 100.0 * self.improvement / ref if ref else 0.0

    def rows(self) -> list[tuple[str, float]]:
        """``(label, objective)`` for a table: ``optimized``, every named strategy, ``plan``."""
        return [("optimized", self.best_value), *self.named.items(), ("plan", self.plan_value)]

    def counts(self) -> list[int]:
        """How many replications each value of :meth:`rows` is over (``n``, or ``k`` for an
        order the screen dropped)."""
        n = self.replications
        return [
            n,
            *(self.named_replications.get(k, n) for k in self.named),
            self.plan_replications or n,
        ]

    def ordering_yaml(self) -> str:
        """``ordering: [...]``: paste under ``plan:`` to re-run the best order."""
        return "ordering: [" + ", ".join(json.dumps(u) for u in self.best_order) + "]\n"

    @property
    def held_out(self) -> bool:
        """Whether the intervals come from replications the search never saw (``holdout``)."""
        return self.interval_replications[0] >= self.replications

    @property
    def found_nothing_better(self) -> bool:
        """The best order is the best named strategy's own."""
        return self.best_order == self.best_named_order

    @property
    def better(self) -> bool:
        """Better than the best named strategy on held-out replications: the bootstrap 95 %
        interval of the improvement lies above 0 (the only case the CLI reports a gain)."""
        iv = self.objective_interval
        return self.held_out and not self.found_nothing_better and iv.low > 0

    def verdict(self, holdout_hint: str = "holdout=") -> str:
        """Better, a tie or worse than the best named strategy, from the bootstrap 95 % interval
        of the objective's improvement (:attr:`objective_interval`): better when it lies above 0,
        worse when below, a tie when it includes 0; "nothing better" when the search ended on
        the best named strategy's own order. Judged on the held-out replications when there
        were some; on the search's own it says that the figure is optimistic and names
        ``holdout_hint`` as the way to judge it on fresh ones (the CLI: ``--holdout N``)."""
        iv = self.objective_interval
        first, stop = self.interval_replications
        unit = OBJECTIVE_UNITS[self.objective]
        if self.found_nothing_better:
            return (
                f"Nothing better than {self.best_named} was found: the search ({self.evaluations}"
                f" orderings screened, {self.promotions} evaluated on all {self.replications}"
                f" replications) ended on its order."
            )
        asked = stop - first
        ran = self.holdout_run if self.held_out else asked
        if self.held_out:
            span = f"({first}-{stop - 1})" if ran == asked else f"of the {asked} asked (budget)"
            where = f"On {ran} held-out replications {span}, which the search never saw"
        else:
            where = (
                f"On the {asked} replications the search chose it on (optimistic: pass"
                f" {holdout_hint} to judge it on fresh ones)"
            )
        ci = f"95 % CI {iv.low:.3f} to {iv.high:.3f}{unit}"
        if math.isnan(iv.low) or math.isnan(iv.high):
            return (
                f"Not judged: too few replications for an interval. {where}. Nothing better"
                f" than {self.best_named} is shown."
            )
        if iv.low > 0:
            return (
                f"Better. {where}, the optimized ordering improves {self.objective} over"
                f" {self.best_named} by {iv.mean:.3f}{unit} ({ci})."
            )
        if iv.high < 0:
            return (
                f"Worse. {where}, the optimized ordering is {-iv.mean:.3f}{unit} worse than"
                f" {self.best_named} on {self.objective} (improvement {ci}): nothing better than"
                f" {self.best_named} was found."
            )
        return (
            f"Tie. {where}, the optimized ordering and {self.best_named} cannot be told apart"
            f" on {self.objective}: the improvement is {iv.mean:+.3f}{unit}, {ci}, which"
            f" includes 0: nothing better than {self.best_named} was found."
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


class Moves:
    """The moves of the search (module doc) on one prepared alternative."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.wave_of = {u: i for u, (i, _) in wave_members(prepared.units, prepared.plan).items()}
        self.window_of: dict[str, int] = {}
        self._schedule_of: tuple[str, ...] | None = None

    def schedule(self, order: tuple[str, ...]) -> None:
        """Read each unit's maintenance window off ``order``'s replication 0 (once per order)."""
        if order == self._schedule_of or not self.prepared.plan.maintenance_windows:
            return
        rep = dataclasses.replace(self.prepared, order=order).replicate(0)
        starts = [a for a, _ in rep.maintenance]
        self.window_of = {
            o.unit: max(0, bisect.bisect_right(starts, o.first_start) - 1)
            for o in rep.outcomes
            if o.first_start is not None
        }
        self._schedule_of = order

    def kinds(self) -> list[str]:
        windows = len(set(self.window_of.values())) > 1
        return [
            k
            for k in MOVE_WEIGHTS
            if (k != "window" or windows) and (k != "wave" or bool(self.wave_of))
        ]

    def propose(self, order: Sequence[str], rng: np.random.Generator) -> list[str]:
        """A changed copy of ``order`` (not yet decoded)."""
        out = list(order)
        kinds = self.kinds()
        weights = np.array([MOVE_WEIGHTS[k] for k in kinds])
        kind = kinds[int(np.searchsorted(np.cumsum(weights / weights.sum()), rng.random()))]
        if kind == "window":
            return self._to_window(out, rng)
        if kind == "wave":
            return self._to_wave(out, rng)
        i, j = (int(x) for x in rng.choice(len(out), size=2, replace=False))
        if kind == "swap":
            out[i], out[j] = out[j], out[i]
        else:
            out.insert(j, out.pop(i))
        return out

    def _move_before(self, out: list[str], unit: str, target: str) -> list[str]:
        out.remove(unit)
        out.insert(out.index(target), unit)
        return out

    def _to_window(self, out: list[str], rng: np.random.Generator) -> list[str]:
        placed = [u for u in out if u in self.window_of]
        unit = placed[int(rng.integers(len(placed)))]
        own = self.window_of[unit]
        used = sorted(set(self.window_of.values()))
        earlier = [w for w in used if w < own]
        later = [w for w in used if w > own]
        go_earlier = rng.random() < 0.5
        if not (earlier if go_earlier else later):
            go_earlier = not go_earlier
        target_window = earlier[-1] if go_earlier else later[0]
        target = next(u for u in out if self.window_of.get(u) == target_window)
        return self._move_before(out, unit, target)

    def _to_wave(self, out: list[str], rng: np.random.Generator) -> list[str]:
        members = [u for u in out if u in self.wave_of]
        unit = members[int(rng.integers(len(members)))]
        wave = self.wave_of[unit]
        if rng.random() < 0.5 and any(w < wave for w in self.wave_of.values()):
            wave = max(w for w in self.wave_of.values() if w < wave)
        target = next(u for u in out if self.wave_of.get(u) == wave)
        if target == unit:
            return out
        return self._move_before(out, unit, target)


HOLDOUT_ROUND = 8
"""The fewest held-out replications of each order run per round (a round is a tenth of the
hold-out, at least this many and at most five times as many): the most the budget can cut off
at a time."""

MAX_EVALUATIONS = 1_000_000
"""The most orderings one search evaluates (``--max-evaluations``)."""

MAX_BUDGET_S = 86_400.0
"""The longest search, in seconds (``--budget``): a day."""


def _complete(rows: Sequence[ReplicationRow], first: int, n: int) -> bool:
    return [r.replication for r in rows] == list(range(first, first + n))


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
    screen: int = SCREEN,
    screen_alpha: float = SCREEN_ALPHA,
    evaluate: Evaluate | None = None,
    progress: Callable[[OptimizeStatus], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    started: float | None = None,
) -> OptimizeResult:
    """Search orders of ``prepared``'s units for the lowest ``objective`` (see the module doc).

    Stops at ``max_evaluations`` screened orders or when the search's share of ``budget_s``
    (wall seconds from ``started``, default now, to the return, hold-out included) is spent,
    whichever comes first (at least one must be given). ``evaluate`` runs replications (default:
    serially here); ``progress`` gets an :class:`OptimizeStatus` after every evaluation.
    ``batch`` proposals are drawn from the current order and screened in one ``evaluate``
    call, then accepted or not one after the other: more than 1 keeps a parallel runner busy
    (the search then depends on ``batch``, never on the worker count). Raises ``ValueError``
    for an unknown objective, bad weights, no budget, ``batch < 1`` or a bad screen, and
    :class:`BudgetTooShort` when the budget cannot cover the starting points.
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
    if screen < 1 or not 0 < screen_alpha < 1:
        raise ValueError(
            f"expected a screen of at least one replication and a screen_alpha between 0 and 1,"
            f" got {screen} and {screen_alpha}"
        )
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {objective!r}; expected one of: {', '.join(OBJECTIVES)}"
        )
    check_weights(weights)
    run: Evaluate = evaluate if evaluate is not None else serial_evaluate
    n = replications
    k = min(screen, n)
    begin = clock() if started is None else started
    units = prepared.units
    plan = prepared.plan
    spent = [0.0, 0]  # seconds in evaluate, replications it returned

    def per_replication_s() -> float | None:
        return spent[0] / spent[1] if spent[1] else None

    def hard_stop() -> bool:
        return budget_s is not None and clock() - begin >= budget_s

    def search_end() -> float:
        """Seconds from ``begin`` at which the search stops (module doc)."""
        if budget_s is None:
            return math.inf
        rate = per_replication_s()
        reserve = HOLDOUT_SHARE * budget_s
        if holdout == 0:
            reserve = 0.0
        elif rate is not None:
            reserve = min(reserve, HOLDOUT_MARGIN * 2 * holdout * rate)
        return budget_s - reserve - SLACK * budget_s

    def search_stop() -> bool:
        return clock() - begin >= search_end()

    def call(
        orders: Sequence[tuple[str, ...]], first: int, count: int, stop: Callable[[], bool]
    ) -> list[list[ReplicationRow]]:
        t0 = clock()
        got = run(
            [dataclasses.replace(prepared, order=o) for o in orders], count, first=first, stop=stop
        )
        out = [list(rows) for rows in got]
        spent[0] += clock() - t0
        spent[1] += sum(len(rows) for rows in out)
        return out

    # Starting points: every named strategy and the plan's own order, screened as one set.
    starts: dict[str, tuple[str, ...]] = {
        name: tuple(order_units(units, name, plan)) for name in STRATEGIES
    }
    starts["plan"] = tuple(prepared.order)
    distinct = list(dict.fromkeys(starts.values()))
    screened = call(distinct, 0, k, hard_stop)
    if not all(_complete(rows, 0, k) for rows in screened):
        raise BudgetTooShort(
            f"the budget of {budget_s} s ran out before the {len(distinct)} starting orderings"
            f" were screened on {k} replications; expected a longer budget"
        )
    screen_rows: dict[tuple[str, ...], list[ReplicationRow]] = dict(
        zip(distinct, screened, strict=True)
    )
    scorer = make_scorer(objective, screen_rows[starts["plan"]], weights)
    scores = {o: scorer.per_replication(r) for o, r in screen_rows.items()}
    screen_val = {o: float(np.mean(v)) for o, v in scores.items()}
    kept = screen_set([scores[o] for o in distinct], screen_alpha)
    full_rows: dict[tuple[str, ...], list[ReplicationRow]] = {}
    survivors = [o for o, keep in zip(distinct, kept, strict=True) if keep]
    if k < n:
        topped = call(survivors, k, n - k, hard_stop)
        for o, rows in zip(survivors, topped, strict=True):
            if _complete(rows, k, n - k):
                full_rows[o] = screen_rows[o] + rows
    else:
        full_rows = {o: screen_rows[o] for o in survivors}
    full_val = {o: scorer.value(r) for o, r in full_rows.items()}
    in_full = [name for name in STRATEGIES if starts[name] in full_val]
    if not in_full:
        raise BudgetTooShort(
            f"the budget of {budget_s} s ran out before the best starting orderings were"
            f" evaluated on all {n} replications; expected a longer budget"
        )
    best_named = min(in_full, key=lambda name: full_val[starts[name]])  # first of equal ones
    named = {
        name: full_val.get(starts[name]) or scorer.value(screen_rows[starts[name]])
        for name in STRATEGIES
    }
    named_counts = {name: n if starts[name] in full_val else k for name in STRATEGIES}
    worsenings: list[float] = []  # sorted: the scale of the temperature (module doc)

    best = min(full_val, key=lambda o: (full_val[o], distinct.index(o)))
    best_value = full_val[best]
    current = best
    rng = search_seed(plan.seed if seed is None else seed, 0)
    moves = Moves(prepared)
    evaluations, proposals, repeats = len(distinct), 0, 0
    promotions = len(full_rows)
    patience = max(1000, 50 * len(units.units))
    stopped = "exhausted"

    def fraction() -> float:
        """Of the search's budget used: evaluations when counted, else wall time."""
        if max_evaluations is not None:
            return min(1.0, evaluations / max_evaluations)
        end = search_end()
        return min(1.0, (clock() - begin) / end) if end > 0 else 1.0

    def report() -> None:
        if progress is not None:
            used = [fraction()]
            if budget_s is not None:
                used.append((clock() - begin) / budget_s if budget_s > 0 else 1.0)
            status = OptimizeStatus(
                evaluations, proposals, clock() - begin, best_value, min(1.0, max(used))
            )
            progress(status)

    report()
    while len(units.units) > 1:
        if max_evaluations is not None and evaluations >= max_evaluations:
            stopped = "evaluations"
            break
        if search_stop():
            stopped = "time"
            break
        if repeats >= patience:
            break
        moves.schedule(best)
        candidates = [
            tuple(decode_priorities(units, moves.propose(current, rng))) for _ in range(batch)
        ]
        fresh = [c for c in dict.fromkeys(candidates) if c not in screen_val]
        if max_evaluations is not None:
            fresh = fresh[: max_evaluations - evaluations]
        cut = False
        if fresh:
            for c, rows in zip(fresh, call(fresh, 0, k, search_stop), strict=True):
                if not _complete(rows, 0, k):
                    cut = True
                    continue
                screen_rows[c] = rows
                scores[c] = scorer.per_replication(rows)
                screen_val[c] = float(np.mean(scores[c]))
                evaluations += 1
        for candidate in candidates:
            if candidate not in screen_val:
                break  # not screened (cut short, or beyond max_evaluations)
            proposals += 1
            new = candidate in fresh
            repeats = 0 if new else repeats + 1
            # promoted when it screens the incumbent out (module doc)
            if (
                new
                and candidate not in full_val
                and not survives(np.subtract(scores[best], scores[candidate]), screen_alpha)
            ):
                rest = call([candidate], k, n - k, search_stop)[0] if k < n else []
                if k < n and not _complete(rest, k, n - k):
                    cut = True
                    break
                full_rows[candidate] = screen_rows[candidate] + rest
                full_val[candidate] = scorer.value(full_rows[candidate])
                promotions += 1
                if full_val[candidate] < best_value:
                    best, best_value = candidate, full_val[candidate]
            temperature = T_START * (T_END / T_START) ** fraction()
            worse = screen_val[candidate] - screen_val[current]
            if worse > 0:
                bisect.insort(worsenings, worse)
            scale = worsenings[len(worsenings) // 2] if worsenings else 1.0
            if worse <= 0 or rng.random() < math.exp(-worse / (scale * temperature)):
                current = candidate
        if fresh:
            report()
        if cut:
            stopped = "time"
            break

    ref_order = starts[best_named]
    used_seed = plan.seed if seed is None else seed
    ran = 0
    if holdout > 0:
        span = (n, n + holdout)
        if best == ref_order:
            a = b = full_rows[best][:0]
            ran = holdout
        else:
            # In rounds, both orders together: when the budget cuts the hold-out short, the
            # replications that ran are paired (in one call the runner would finish the first
            # order's before it starts the second's, and a cut would leave no pair).
            got: list[list[ReplicationRow]] = [[], []]
            step = min(max(HOLDOUT_ROUND, math.ceil(holdout / 10)), 5 * HOLDOUT_ROUND)
            for first in range(n, n + holdout, step):
                part = call([ref_order, best], first, min(step, n + holdout - first), hard_stop)
                got[0] += part[0]
                got[1] += part[1]
                if hard_stop():
                    break
            common = {r.replication for r in got[0]} & {r.replication for r in got[1]}
            a = [r for r in got[0] if r.replication in common]
            b = [r for r in got[1] if r.replication in common]
            ran = len(common)
    else:
        a, b = full_rows[ref_order], full_rows[best]
        span = (0, n)
    if best == ref_order:
        zero = Interval(0.0, 0.0, 0.0, ran if holdout > 0 else n)
        interval = boot = zero
    elif len(a) == 0:
        interval = boot = Interval(math.nan, math.nan, math.nan, 0)
    else:
        interval = paired_interval(scorer.per_replication(a), scorer.per_replication(b))
        boot = bootstrap_interval(scorer, a, b, search_seed(used_seed, 1))
    plan_order = starts["plan"]
    return OptimizeResult(
        objective=objective,
        replications=n,
        best_order=best,
        best_value=best_value,
        named=named,
        plan_value=full_val.get(plan_order) or scorer.value(screen_rows[plan_order]),
        best_named=best_named,
        improvement=named[best_named] - best_value,
        interval=interval,
        objective_interval=boot,
        interval_replications=span,
        evaluations=evaluations,
        proposals=proposals,
        elapsed_s=clock() - begin,
        stopped=stopped,
        seed=used_seed,
        best_named_order=ref_order,
        screen=k,
        promotions=promotions,
        named_replications=named_counts,
        plan_replications=n if plan_order in full_val else k,
        holdout_run=ran,
        budget_s=budget_s,
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
