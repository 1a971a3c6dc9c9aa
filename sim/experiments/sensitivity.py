"""What drives the result: a one-at-a-time tornado, and how critical each unit is.

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

    A factor whose plan value is 0 cannot be varied (0 halved, doubled or set to 0 is 0): a
    Validate failure probability of 0, a Check of 0 minutes, a step of 0 minutes. Its row keeps
    the base value at low and high (swing 0) with the status :data:`NOT_VARIED` ("not varied
    (base is 0)"), which the CLI and the report show instead of calling it "no effect", and it
    sorts after the factors of equal swing that were varied. Every other factor's status is
    :data:`VARIED`; one that was varied and did not move the metric has no effect. (One crew
    minus one stays one crew: the factor is still varied, upwards.)

Criticality (:func:`criticality_index`): two figures per unit
    **Criticality index**: the share of replications in which the unit lies on the critical
    path (:func:`critical_path`): if the unit is late, the migration ends late through its own
    steps and the must-precede constraints. The path is traced back over the replication's step
    intervals (start/end events; remediation pre-steps ``remediate:...``, Validate ... Commit,
    Abort, Stop/Deallocate/Start and the post-steps ``restore:...`` all belong to their unit),
    from the step that ends last (on a tie, the one whose end was recorded last). From a step
    ``X`` of unit ``u`` it goes on to the link that ended last among:

    1. ``u``'s own previous step (the unit runs one operation at a time, so its steps form one
       chain), even when ``X`` started later than it ended: a gap is ``u`` waiting for a crew,
       a maintenance window or its turn, and a later previous step would still delay ``u``;
    2. only for ``u``'s first step (it has no previous step): for each must-precede predecessor
       ``p`` of ``u`` (``units.dag``), ``p``'s last Commit (or the Start after it) recorded
       before ``X`` started, whatever the gap: the predecessor that committed last binds;
    3. only for a re-peering (``restore:MIG014:...`` of a unit that committed; it waits for the
       peer VNets to commit): each peer VNet unit's last Commit (or the Start after it) recorded
       before ``X`` started (the peers come from the MIG014 findings passed in).

    On a tie the own step wins, then the first unit by name. The path ends at a step with no
    link: the first step of a unit without predecessors. Waiting for a crew or a window never
    ends the path and never moves it to another unit: a unit reached only through a crew it
    held is not on the path. So a unit with no must-precede successors (nothing waits for its
    Commit) is on the path exactly when its own step ends last, and the unit that ends last is
    always on it. Every unit with a step on the path is critical in that replication.

    **Resource criticality**: the share of replications in which the unit held a crew that the
    critical path waited for (:func:`crew_handoff_units`). A step ``X`` on the path was *ready*
    when its link ended (at 0 for a unit's first step without predecessors: a wave's
    ``not_before`` is not in the records). When ``X`` takes a crew, started after it was ready,
    and another unit's step on the same crew ended at the very minute ``X`` started (recorded
    before ``X``'s start), that step handed its crew over: its unit counts. The two figures are
    independent: a unit may count in both. A resource-critical unit is not tied to the end by
    the must-precede constraints, but it held crew time the path waited for: shortening its
    steps, moving it later in the order or one more crew may shorten the migration.

    Times are matched exactly: the engine's clock gives the same number to a step's end and to
    the start it releases.

    ``criticality.csv``: ``unit, critical, replications, criticality_index, crew_handoffs,
    resource_criticality`` (counts of replications and the two shares).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.model.plan import STEP_NAMES, Plan, RemedyDurations
from sim.model.remedies import REMEDIES
from sim.model.rules import Finding, check
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


VARIED = "varied"
"""The status of a factor set to its low and its high value."""
NOT_VARIED = "not varied (base is 0)"
"""The status of a factor whose plan value is 0, so that its low and high values are the base's."""


@dataclass(frozen=True)
class Factor:
    """One factor of the tornado: its name, the plan at its low and at its high value, and
    whether it could be varied (:data:`VARIED`, :data:`NOT_VARIED`)."""

    name: str
    low: str
    high: str
    low_plan: Plan
    high_plan: Plan
    status: str = VARIED


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

    def zero_duration(step: str) -> bool:
        if step in ("remediate", "restore"):
            specs = [
                plan.remedy_step(rule, "remediate" if step == "remediate" else "restore")
                for rule in REMEDIES
            ]
        else:
            specs = [plan.durations.step(step)]
        return all(spec.base == 0 and spec.per_vm == 0 for spec in specs)

    def status(zero: bool) -> str:
        return NOT_VARIED if zero else VARIED

    out = [
        Factor(
            f"durations.{step}",
            f"x{_fmt(low)}",
            f"x{_fmt(high)}",
            scaled(step, low),
            scaled(step, high),
            status(zero_duration(step)),
        )
        for step in STEP_NAMES
    ]
    fewer, more = max(1, plan.crews - 1), plan.crews + 1
    out.append(Factor("crews", str(fewer), str(more), knob(crews=fewer), knob(crews=more)))
    double = 2 * plan.check
    out.append(
        Factor(
            "check",
            "0m",
            f"{_fmt(double)}m",
            knob(check=0.0),
            knob(check=double),
            status(plan.check == 0),
        )
    )
    for step in ("validate", "prepare", "commit"):
        p = float(getattr(plan.failures, _field(step)))
        hi = min(1.0, 2 * p)
        out.append(
            Factor(
                f"failures.{step}",
                "0",
                _fmt(hi),
                failing(step, 0.0),
                failing(step, hi),
                status(p == 0),
            )
        )
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
    status: str = VARIED
    """:data:`VARIED`, or :data:`NOT_VARIED` when the plan's value is 0 (the factor's row then
    holds the base at low and high, and says so rather than "no effect")."""

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)

    @property
    def varied(self) -> bool:
        return self.status == VARIED

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
        TornadoRow(f.name, f.low, f.high, values[1 + 2 * i], base, values[2 + 2 * i], f.status)
        for i, f in enumerate(fs)
    ]
    # Stable: equal swings keep the factor order, the factors that could not be varied last.
    table.sort(key=lambda row: (-row.swing, not row.varied))
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
    """A step on the critical path, why the path goes on from it to the next one back, when the
    step was ready to start, and the crew hand-off it waited for, if any."""

    interval: Interval
    cause: str  # "own step", "predecessor", "peer commit", or "start"
    ready: float = 0.0
    handoffs: tuple[Interval, ...] = ()


class CriticalSets(NamedTuple):
    """What one replication adds to the two figures of :func:`criticality_index`."""

    units: frozenset[str]
    """On the critical path (:func:`critical_units`)."""
    handoffs: frozenset[str]
    """Held a crew the critical path waited for (:func:`crew_handoff_units`)."""


@dataclass(frozen=True)
class _Step:
    interval: Interval
    first: int  # index of the start event in ``rep.events``
    last: int  # index of the end (or fail) event


def _steps(rep: Replication) -> list[_Step]:
    pending: dict[tuple[str, str, int], list[tuple[float, int | None, int]]] = {}
    out: list[_Step] = []
    for i, e in enumerate(rep.events):
        key = (e.unit, e.step, e.attempt)
        if e.outcome == "start":
            pending.setdefault(key, []).append((e.time, e.crew, i))
        elif e.outcome in ("end", "fail") and pending.get(key):
            start, crew, first = pending[key].pop(0)
            out.append(_Step(Interval(e.unit, e.step, e.attempt, crew, start, e.time), first, i))
    return out


def intervals(rep: Replication) -> list[Interval]:
    """Every step of the replication as an interval, in the order the steps ended."""
    return [s.interval for s in _steps(rep)]


def _releases(step: str) -> bool:
    # The step whose end lets a waiting unit go: Commit, or the Start after it.
    return step in ("commit", "start")


def _peers(units: MigrationUnits, findings: Iterable[Finding]) -> dict[str, frozenset[str]]:
    """Per VNet unit, the units of the VNets it is peered with (its MIG014 findings)."""
    out: dict[str, set[str]] = {}
    for f in findings:
        if f.rule == "MIG014":
            others = {units.unit_of.get(r) for r in f.resources} - {f.unit, None}
            out.setdefault(f.unit, set()).update(u for u in others if u is not None)
    return {u: frozenset(p) for u, p in out.items()}


def critical_path(
    rep: Replication, units: MigrationUnits, findings: Iterable[Finding] = ()
) -> list[PathStep]:
    """The critical path of one replication, from the step that ends last back to its start
    (rules in the module doc). Pass the findings the replication ran with
    (:attr:`Prepared.findings <sim.experiments.replications.Prepared>`) so that a re-peering
    (MIG014) goes on to the peer VNet's Commit. Empty when no step ran."""
    steps = _steps(rep)
    if not steps:
        return []
    peers = _peers(units, findings)
    migrated = {o.unit for o in rep.outcomes if o.migrated}
    own: dict[str, list[_Step]] = {}
    for s in steps:
        own.setdefault(s.interval.unit, []).append(s)
    previous: dict[_Step, _Step] = {}
    for seq in own.values():
        seq.sort(key=lambda s: s.first)  # a unit's steps never overlap (one operation at a time)
        previous.update(itertools.pairwise(reversed(seq)))
    by_end: dict[float, list[_Step]] = {}
    for s in steps:
        by_end.setdefault(s.interval.end, []).append(s)

    def released(unit: str, before: _Step) -> _Step | None:
        # ``unit``'s last Commit (or Start after it) that ended before ``before`` started.
        done = [
            s for s in own.get(unit, ()) if _releases(s.interval.step) and s.last < before.first
        ]
        return max(done, key=lambda s: s.last) if done else None

    def back(current: _Step) -> tuple[_Step | None, str]:
        iv = current.interval
        links: list[tuple[_Step, str]] = []
        mine = previous.get(current)
        if mine is not None:
            links.append((mine, "own step"))
        else:
            for p in sorted(units.dag.predecessors(iv.unit)):
                found = released(p, current)
                if found is not None:
                    links.append((found, "predecessor"))
        if iv.step.startswith("restore:MIG014:") and iv.unit in migrated:
            for p in sorted(peers.get(iv.unit, ())):
                found = released(p, current)
                if found is not None:
                    links.append((found, "peer commit"))
        if not links:
            return None, "start"
        # The link that ended last binds; on a tie the first listed (own step, then by name).
        latest = max(s.interval.end for s, _ in links)
        return next((s, cause) for s, cause in links if s.interval.end == latest)

    def handoffs(current: _Step, ready: float) -> tuple[Interval, ...]:
        iv = current.interval
        if iv.crew is None or ready >= iv.start:
            return ()
        return tuple(
            s.interval
            for s in by_end.get(iv.start, ())
            if s.interval.unit != iv.unit and s.interval.crew == iv.crew and s.last < current.first
        )

    last = max(by_end)
    current = max(by_end[last], key=lambda s: s.last)
    path: list[PathStep] = []
    while True:
        nxt, cause = back(current)
        ready = nxt.interval.end if nxt is not None else 0.0
        path.append(PathStep(current.interval, cause, ready, handoffs(current, ready)))
        if nxt is None:
            return path
        current = nxt


def critical_units(
    rep: Replication, units: MigrationUnits, findings: Iterable[Finding] = ()
) -> frozenset[str]:
    """The units with a step on :func:`critical_path`."""
    return frozenset(p.interval.unit for p in critical_path(rep, units, findings))


def crew_handoff_units(path: Iterable[PathStep]) -> frozenset[str]:
    """The units whose step handed a crew to a step of ``path`` (:attr:`PathStep.handoffs`)."""
    return frozenset(h.unit for p in path for h in p.handoffs)


def critical_units_of(prepared: Prepared, replication: int) -> frozenset[str]:
    """:func:`critical_units` of replication ``replication`` (picklable, for a process pool)."""
    rep = prepared.replicate(replication)
    return critical_units(rep, prepared.units, prepared.findings)


def criticality_of(prepared: Prepared, replication: int) -> CriticalSets:
    """The unit-critical and the crew hand-off units of replication ``replication`` (picklable,
    for a process pool)."""
    path = critical_path(prepared.replicate(replication), prepared.units, prepared.findings)
    return CriticalSets(frozenset(p.interval.unit for p in path), crew_handoff_units(path))


@dataclass(frozen=True)
class Criticality:
    """One unit's two figures: on the critical path in ``critical`` of ``replications``, and
    holding a crew the critical path waited for in ``handoffs`` of them."""

    unit: str
    critical: int
    replications: int
    handoffs: int = 0

    @property
    def index(self) -> float:
        """The criticality index: ``critical / replications``."""
        return self.critical / self.replications if self.replications else 0.0

    @property
    def resource_index(self) -> float:
        """The resource criticality: ``handoffs / replications``."""
        return self.handoffs / self.replications if self.replications else 0.0


MapFn = Callable[
    [Callable[[Prepared, int], CriticalSets], Sequence[Prepared], Sequence[int]],
    Iterable[CriticalSets],
]
"""A ``map`` over two argument sequences: the builtin (default) or ``executor.map``."""


def criticality_index(
    prepared: Prepared,
    n: int,
    *,
    map_fn: MapFn | None = None,
    progress: Progress | None = None,
) -> list[Criticality]:
    """The criticality index and the resource criticality of every unit over replications
    ``0..n-1``, by criticality index, then resource criticality, highest first (ties in the
    unit order of ``prepared``). ``map_fn`` (default the builtin ``map``) may be a process
    pool's ``map``; ``progress(done, n)`` is called as results arrive."""
    if n < 1:
        raise ValueError(f"expected at least one replication, got {n}")
    mapper: Any = map if map_fn is None else map_fn
    critical = dict.fromkeys(prepared.order, 0)
    handoffs = dict.fromkeys(prepared.order, 0)
    for done, found in enumerate(mapper(criticality_of, [prepared] * n, range(n)), 1):
        for uid in found.units:
            critical[uid] = critical.get(uid, 0) + 1
        for uid in found.handoffs:
            handoffs[uid] = handoffs.get(uid, 0) + 1
        if progress is not None:
            progress(done, n)
    pos = {uid: i for i, uid in enumerate(prepared.order)}
    rows = [
        Criticality(uid, critical.get(uid, 0), n, handoffs.get(uid, 0))
        for uid in dict.fromkeys([*critical, *handoffs])
    ]
    rows.sort(key=lambda c: (-c.critical, -c.handoffs, pos.get(c.unit, len(pos))))
    return rows


# ---- outputs ----------------------------------------------------------------------------------


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def sensitivity_csv(result: Tornado) -> str:
    """``sensitivity.csv``: one row per factor (largest swing first), with what was measured and,
    last, the factor's status (``varied``, or ``not varied (base is 0)``)."""
    cols = Tornado.columns()
    return _csv_text(
        [*cols, "metric", "statistic", "replications", "status"],
        (
            [
                *(row.as_dict()[c] for c in cols),
                result.metric,
                result.statistic,
                result.replications,
                row.status,
            ]
            for row in result.rows
        ),
    )


SENSITIVITY_FILES = ("sensitivity.csv", "criticality.csv")
"""The files ``migsim sensitivity --out DIR`` writes into ``DIR``: what its ``--force`` replaces
there (and nothing else)."""

CRITICALITY_COLUMNS = (
    "unit",
    "critical",
    "replications",
    "criticality_index",
    "crew_handoffs",
    "resource_criticality",
)


def criticality_csv(rows: Sequence[Criticality]) -> str:
    """``criticality.csv`` (:data:`CRITICALITY_COLUMNS`): unit, replications on the critical
    path, of how many, the criticality index, replications in which the unit held a crew the
    critical path waited for, the resource criticality."""
    return _csv_text(
        CRITICALITY_COLUMNS,
        ([c.unit, c.critical, c.replications, c.index, c.handoffs, c.resource_index] for c in rows),
    )
