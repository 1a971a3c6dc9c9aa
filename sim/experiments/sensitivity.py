"""What drives the result: a one-at-a-time tornado, and each unit's criticality index.

Tornado (:func:`tornado`)
    Every factor below is set to a low and a high value, one at a time, everything else as the
    plan stands; every variant runs the same replications ``0..n-1`` as the base (common random
    numbers: the same draws for the same unit and step), in the base plan's unit order (the
    order is the plan's decision, not what a faster Prepare would have chosen). The chosen
    statistic of the chosen metric (default: P80 of ``makespan_hours``) is reported at low, base
    and high, with the swing ``|metric at high - metric at low|``; rows are sorted by swing,
    largest first. Factors (:func:`factors`):

    - ``durations.STEP`` for each of the nine steps: ``base`` and ``per_vm`` scaled by ``low``
      and ``high`` (default x0.5 and x1.5), so the central value scales and the spread
      (relative) stays; for ``remediate`` and ``restore`` every rule's own duration is scaled
      (``plan.remedies``, :data:`sim.model.remedies.REMEDIES`);
    - ``crews``: one fewer (never below 1) and one more;
    - ``check``: 0 and twice the plan's;
    - ``failures.validate|prepare|commit``: 0 and twice the plan's, capped at 1;
    - ``restart_after``: ``prepare`` and ``commit``.

    A factor that cannot move (a probability of 0 doubled, one crew minus one) shows a swing of 0.

Criticality index (:func:`criticality_index`)
    The share of replications in which a unit lies on the critical path (:func:`critical_path`).
    The path is traced back on the replication's step intervals (start/end events), from the
    step that ends last. For a step of unit ``u`` starting at ``s`` the path goes on to, first
    match wins:

    1. ``u``'s own step that ended at ``s`` (Validate -> Prepare -> Check -> Commit...);
    2. for ``u``'s first step only: a DAG predecessor of ``u`` whose Commit (or the Start after
       it) ended at ``s`` (``u`` waited for it to commit);
    3. another unit's step that ended at ``s`` on the crew this step took (``u`` waited for that
       crew), else another unit's crew-holding step ending at ``s``;
    4. another unit's Commit (or the Start after it) ending at ``s`` (a re-peering that waits
       for the peer VNet);
    5. none: the step started at time 0, at a maintenance window's opening or a wave's
       ``not_before``: the path starts there.

    Times are matched exactly: the engine's clock gives the same number to a step's end and to
    the start it releases. Among several matches, the first unit by name.

    Every unit with a step on the path is on the critical path of that replication.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.model.plan import STEP_NAMES, Plan, RemedyDurations
from sim.model.remedies import REMEDIES
from sim.model.rules import check
from sim.model.units import MigrationUnits
from sim.outputs.records import Replication

Rows = Sequence[Sequence[ReplicationRow]]
Evaluate = Callable[[Sequence[Prepared], int], Rows]
"""``evaluate(alternatives, n)`` -> one row list per alternative, replications ``0..n-1`` in
order. :func:`serial_evaluate` runs here;
``functools.partial(sim.experiments.runner.run_replications, workers=...)`` runs on a pool or a
cluster with the same rows."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``."""

Statistic = Literal["mean", "p50", "p80", "p90"]
STATISTICS: tuple[Statistic, ...] = ("mean", "p50", "p80", "p90")


def serial_evaluate(
    alternatives: Sequence[Prepared], n: int, progress: Progress | None = None
) -> list[list[ReplicationRow]]:
    """Replications ``0..n-1`` of every alternative, in this process."""
    total = n * len(alternatives)
    done = 0
    out: list[list[ReplicationRow]] = []
    for alt in alternatives:
        rows = []
        for r in range(n):
            rows.append(alt.row(r))
            done += 1
            if progress is not None:
                progress(done, total)
        out.append(rows)
    return out


def statistic(values: Iterable[float], stat: str) -> float:
    """``mean``, or the percentile ``pNN`` (numpy's default linear interpolation)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        raise ValueError("no values")
    if stat == "mean":
        return float(arr.mean())
    if stat.startswith("p") and stat[1:].isdigit() and 0 <= int(stat[1:]) <= 100:
        return float(np.percentile(arr, int(stat[1:])))
    raise ValueError(f"unknown statistic {stat!r}; expected mean or pNN such as p80")


def check_metric(metric: str, stat: str) -> None:
    """Raise ``ValueError`` naming what is expected for an unknown metric or statistic."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of: {', '.join(METRICS)}")
    statistic([0.0], stat)


def variant(prepared: Prepared, plan: Plan) -> Prepared:
    """``prepared`` under another plan, same units and unit order (findings re-checked)."""
    return dataclasses.replace(
        prepared, plan=plan, findings=tuple(check(prepared.estate, prepared.units, plan))
    )


# ---- tornado ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One factor of the tornado: its name and the plan at its low and at its high value."""

    name: str
    low: str
    high: str
    low_plan: Plan
    high_plan: Plan


def _field(step: str) -> str:
    return "validate_" if step == "validate" else step


def _fmt(x: float) -> str:
    return f"{x:g}"


def factors(plan: Plan, low: float = 0.5, high: float = 1.5) -> list[Factor]:
    """The factors of :func:`tornado` (see the module doc) for ``plan``."""
    if not 0 <= low <= high:
        raise ValueError(f"expected 0 <= low <= high, got low={low}, high={high}")

    def scaled(step: str, k: float) -> Plan:
        if step in ("remediate", "restore"):
            # Every rule's own duration (plan.remedies, else the table) scaled, one rule at a
            # time as the plan resolves it.
            remedies = {}
            for rule in REMEDIES:
                spec = plan.remedy_step(rule, "remediate" if step == "remediate" else "restore")
                new = spec.model_copy(update={"base": spec.base * k, "per_vm": spec.per_vm * k})
                own = plan.remedies.get(rule, RemedyDurations())
                remedies[rule] = own.model_copy(update={step: new})
            return plan.model_copy(update={"remedies": remedies})
        spec = plan.durations.step(step)
        new = spec.model_copy(update={"base": spec.base * k, "per_vm": spec.per_vm * k})
        durations = plan.durations.model_copy(update={_field(step): new})
        return plan.model_copy(update={"durations": durations})

    def failing(step: str, p: float) -> Plan:
        failures = plan.failures.model_copy(update={_field(step): p})
        return plan.model_copy(update={"failures": failures})

    def knob(**update: Any) -> Plan:
        return plan.model_copy(update=update)

    out = [
        Factor(
            f"durations.{step}",
            f"x{_fmt(low)}",
            f"x{_fmt(high)}",
            scaled(step, low),
            scaled(step, high),
        )
        for step in STEP_NAMES
    ]
    fewer, more = max(1, plan.crews - 1), plan.crews + 1
    out.append(Factor("crews", str(fewer), str(more), knob(crews=fewer), knob(crews=more)))
    double = 2 * plan.check
    out.append(Factor("check", "0m", f"{_fmt(double)}m", knob(check=0.0), knob(check=double)))
    for step in ("validate", "prepare", "commit"):
        p = float(getattr(plan.failures, _field(step)))
        hi = min(1.0, 2 * p)
        out.append(Factor(f"failures.{step}", "0", _fmt(hi), failing(step, 0.0), failing(step, hi)))
    out.append(
        Factor(
            "restart_after",
            "prepare",
            "commit",
            knob(restart_after="prepare"),
            knob(restart_after="commit"),
        )
    )
    return out


@dataclass(frozen=True)
class TornadoRow:
    """One bar of the tornado."""

    factor: str
    low: str
    high: str
    at_low: float
    at_base: float
    at_high: float

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)

    def as_dict(self) -> dict[str, str | float]:
        return {**dataclasses.asdict(self), "swing": self.swing}


@dataclass(frozen=True)
class Tornado:
    """The tornado table: ``rows`` sorted by swing (largest first), and what was measured."""

    metric: str
    statistic: str
    replications: int
    base: float
    rows: tuple[TornadoRow, ...]

    @staticmethod
    def columns() -> list[str]:
        return ["factor", "low", "high", "at_low", "at_base", "at_high", "swing"]


def tornado(
    prepared: Prepared,
    n: int,
    *,
    metric: str = "makespan_hours",
    stat: str = "p80",
    low: float = 0.5,
    high: float = 1.5,
    evaluate: Evaluate | None = None,
    progress: Progress | None = None,
) -> Tornado:
    """One-at-a-time sensitivity of ``stat`` of ``metric`` over replications ``0..n-1``.

    Every variant is handed to ``evaluate`` in one call (``1 + 2 * len(factors)`` alternatives),
    so a parallel runner spreads them all. ``progress`` is used by the default serial evaluation
    (a runner passed as ``evaluate`` reports its own). Raises ``ValueError`` for an unknown
    metric or statistic, or ``n < 1``.
    """
    check_metric(metric, stat)
    if n < 1:
        raise ValueError(f"expected at least one replication, got {n}")
    fs = factors(prepared.plan, low, high)
    alternatives = [prepared]
    for f in fs:
        alternatives += [variant(prepared, f.low_plan), variant(prepared, f.high_plan)]
    rows = (
        evaluate(alternatives, n)
        if evaluate is not None
        else serial_evaluate(alternatives, n, progress)
    )
    values = [statistic((float(getattr(r, metric)) for r in alt), stat) for alt in rows]
    base = values[0]
    table = [
        TornadoRow(f.name, f.low, f.high, values[1 + 2 * i], base, values[2 + 2 * i])
        for i, f in enumerate(fs)
    ]
    table.sort(key=lambda row: -row.swing)  # stable: equal swings keep the factor order
    return Tornado(metric, stat, n, base, tuple(table))


# ---- criticality -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One step of one unit, from its start event to its end (or fail) event."""

    unit: str
    step: str
    attempt: int
    crew: int | None
    start: float
    end: float


@dataclass(frozen=True)
class PathStep:
    """A step on the critical path and why the path goes on from it to the next one back."""

    interval: Interval
    cause: str  # "own step", "predecessor", "crew", "commit of", or "start"


def intervals(rep: Replication) -> list[Interval]:
    """Every step of the replication as an interval, in the order the steps ended."""
    pending: dict[tuple[str, str, int], list[tuple[float, int | None]]] = {}
    out: list[Interval] = []
    for e in rep.events:
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            pending.setdefault(key, []).append((e.time, e.crew))
        elif e.outcome in ("end", "fail") and pending.get(key):
            start, crew = pending[key].pop(0)
            out.append(Interval(e.unit, e.step, e.attempt, crew, start, e.time))
    return out


def _main_end(iv: Interval) -> bool:
    # The step whose end lets a waiting unit go: Commit, or the Start after it.
    return iv.step in ("commit", "start")


def critical_path(rep: Replication, units: MigrationUnits) -> list[PathStep]:
    """The critical path of one replication, from the step that ends last back to its start
    (rules in the module doc). Empty when no step ran."""
    steps = intervals(rep)
    if not steps:
        return []
    position = {iv: i for i, iv in enumerate(steps)}
    by_end: dict[float, list[Interval]] = {}
    first: dict[str, Interval] = {}
    for iv in steps:
        by_end.setdefault(iv.end, []).append(iv)
        if iv.unit not in first or iv.start < first[iv.unit].start:
            first[iv.unit] = iv
    last = max(by_end)
    current = max(by_end[last], key=position.__getitem__)
    seen = {current}
    path: list[PathStep] = []

    def ended_at(t: float, pred: Callable[[Interval], bool]) -> Interval | None:
        found = [iv for iv in by_end.get(t, ()) if iv not in seen and pred(iv)]
        # The first unit by name; its latest-starting step (a zero-length Check ending at t sits
        # after the Prepare ending at t).
        return min(found, key=lambda iv: (iv.unit, -iv.start, -position[iv])) if found else None

    def back(current: Interval) -> tuple[Interval | None, str]:
        s, u, crew = current.start, current.unit, current.crew
        nxt = ended_at(s, lambda iv: iv.unit == u)
        if nxt is not None:
            return nxt, "own step"
        if current is first[u]:
            preds = set(units.dag.predecessors(u))
            nxt = ended_at(s, lambda iv: iv.unit in preds and _main_end(iv))
            if nxt is not None:
                return nxt, "predecessor"
        if crew is not None:
            nxt = ended_at(s, lambda iv: iv.unit != u and iv.crew == crew) or ended_at(
                s, lambda iv: iv.unit != u and iv.crew is not None
            )
            if nxt is not None:
                return nxt, "crew"
        return ended_at(s, lambda iv: iv.unit != u and _main_end(iv)), "commit of"

    while True:
        nxt, cause = back(current)
        if nxt is None:
            path.append(PathStep(current, "start"))
            return path
        path.append(PathStep(current, cause))
        seen.add(nxt)
        current = nxt


def critical_units(rep: Replication, units: MigrationUnits) -> frozenset[str]:
    """The units with a step on :func:`critical_path`."""
    return frozenset(p.interval.unit for p in critical_path(rep, units))


def critical_units_of(prepared: Prepared, replication: int) -> frozenset[str]:
    """:func:`critical_units` of replication ``replication`` (picklable, for a process pool)."""
    return critical_units(prepared.replicate(replication), prepared.units)


@dataclass(frozen=True)
class Criticality:
    """One unit's criticality index: on the critical path in ``critical`` of ``replications``."""

    unit: str
    critical: int
    replications: int

    @property
    def index(self) -> float:
        return self.critical / self.replications if self.replications else 0.0


MapFn = Callable[
    [Callable[[Prepared, int], frozenset[str]], Sequence[Prepared], Sequence[int]],
    Iterable[frozenset[str]],
]
"""A ``map`` over two argument sequences: the builtin (default) or ``executor.map``."""


def criticality_index(
    prepared: Prepared,
    n: int,
    *,
    map_fn: MapFn | None = None,
    progress: Progress | None = None,
) -> list[Criticality]:
    """The criticality index of every unit over replications ``0..n-1``, highest first (ties in
    the unit order of ``prepared``). ``map_fn`` (default the builtin ``map``) may be a process
    pool's ``map``; ``progress(done, n)`` is called as results arrive."""
    if n < 1:
        raise ValueError(f"expected at least one replication, got {n}")
    mapper: Any = map if map_fn is None else map_fn
    counts: Mapping[str, int] = {uid: 0 for uid in prepared.order}
    tally = dict(counts)
    for done, found in enumerate(mapper(critical_units_of, [prepared] * n, range(n)), 1):
        for uid in found:
            tally[uid] = tally.get(uid, 0) + 1
        if progress is not None:
            progress(done, n)
    pos = {uid: i for i, uid in enumerate(prepared.order)}
    rows = [Criticality(uid, k, n) for uid, k in tally.items()]
    rows.sort(key=lambda c: (-c.critical, pos.get(c.unit, len(pos))))
    return rows


# ---- outputs ----------------------------------------------------------------------------------


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def sensitivity_csv(result: Tornado) -> str:
    """``sensitivity.csv``: one row per factor (largest swing first), with what was measured."""
    cols = Tornado.columns()
    return _csv_text(
        [*cols, "metric", "statistic", "replications"],
        (
            [
                *(row.as_dict()[c] for c in cols),
                result.metric,
                result.statistic,
                result.replications,
            ]
            for row in result.rows
        ),
    )


def criticality_csv(rows: Sequence[Criticality]) -> str:
    """``criticality.csv``: unit, replications on the critical path, of how many, the index."""
    return _csv_text(
        ["unit", "critical", "replications", "criticality_index"],
        ([c.unit, c.critical, c.replications, c.index] for c in rows),
    )
