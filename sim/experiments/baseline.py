"""The plan's ordering against the named strategies: what ``migsim run --replications N`` adds.

:func:`ordering_baseline` runs replications ``0..n-1`` of the plan with the unit order of every
named strategy (:data:`sim.model.ordering.STRATEGIES`) beside the plan's own rows, so the same
replication draws the same durations and failures whatever the order (common random numbers), and
judges them with the comparison's tables (:mod:`sim.experiments.comparison`): the numbers equal
those of ``migsim compare SCENARIO --orderings ...`` on the same distinct orders. Strategies that
give the same order (``priority`` without priorities, ``waves`` without waves, ...) run once, and
the plan's own order is never run again: it costs one more set of replications per distinct order
the strategies give besides the plan's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.common.errors import InputError
from sim.common.stats import paired_difference
from sim.experiments.comparison import _tables
from sim.experiments.replications import Prepared, ReplicationRow
from sim.experiments.runner import Progress, Replications, ReplicationsFailed, run_replications
from sim.model import rules
from sim.model.ordering import STRATEGIES, order_units
from sim.model.scenario import Scenario
from sim.outputs.verdicts import OrderingBaseline, OrderingOutcome

METRIC = "makespan_hours"
"""The metric the plan's ordering is judged by."""


def plan_ordering_label(scenario: Scenario) -> str:
    """The plan's ordering as a planner names it: the strategy, or ``an explicit list of N
    units``."""
    ordering = scenario.plan.ordering
    if isinstance(ordering, str):
        return ordering
    return f"an explicit list of {len(ordering)} unit{'s' if len(ordering) != 1 else ''}"


@dataclass(frozen=True)
class NamedOrders:
    """The named strategies grouped by the unit order they give a plan."""

    same: tuple[str, ...]
    """The strategies that give the plan's own order."""
    groups: tuple[tuple[tuple[str, ...], Prepared], ...]
    """``(names, prepared)`` per other distinct order, in strategy order."""
    skipped: Mapping[str, str]
    """Strategies that could not order the plan's units, with the reason."""

    def replications(self, n: int) -> int:
        """How many replications checking them takes, beyond the plan's own ``n``."""
        return n * len(self.groups)


def named_orders(scenario: Scenario, own: Prepared) -> NamedOrders:
    """Every named strategy's order of ``scenario``'s units (``own``: the plan prepared with its
    own ordering), grouped: strategies giving the same order run once."""
    plan = scenario.plan
    findings: tuple[rules.Finding, ...] | None = (
        own.findings if isinstance(plan.ordering, str) else None
    )
    same: list[str] = []
    groups: list[tuple[list[str], Prepared]] = []
    skipped: dict[str, str] = {}
    for name in STRATEGIES:
        named = plan.model_copy(update={"ordering": name})
        try:
            order = tuple(order_units(own.units, name, named))
        except InputError as exc:
            skipped[name] = exc.message
            continue
        if findings is None:  # rules that read an explicit list see none under a strategy
            findings = tuple(rules.check(own.estate, own.units, named))
        if order == own.order and findings == own.findings:
            same.append(name)
            continue
        group = next((g for g in groups if g[1].order == order), None)
        if group is not None:
            group[0].append(name)
        else:
            groups.append(([name], Prepared(own.estate, named, own.units, findings, order)))
    return NamedOrders(
        tuple(same), tuple((tuple(names), prepared) for names, prepared in groups), skipped
    )


def ordering_baseline(
    scenario: Scenario,
    own: Prepared,
    rows: Sequence[ReplicationRow],
    n: int,
    *,
    orders: NamedOrders | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    deterministic: bool = False,
) -> OrderingBaseline | None:
    """How the plan's order (``own``, its replication ``rows`` already run) compares with every
    named strategy's on replications ``0..n-1``, by :data:`METRIC`.

    ``None`` when there is nothing to judge on (no replication completed by every order). A
    replication that fails under some order is left out of every order's figures (listed in
    ``failures``), as in a comparison. ``orders``: :func:`named_orders` of the same plan, when
    the caller has it already.
    """
    orders = orders if orders is not None else named_orders(scenario, own)
    same, groups, skipped = orders.same, orders.groups, orders.skipped
    names = [same[0] if same else "the plan's ordering", *(g[0][0] for g in groups)]
    results = run_replications(
        [g[1] for g in groups],
        n,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        deterministic=deterministic,
        on_failure="collect",
        names=names[1:],
    )
    every = Replications([list(rows), *results], results.failures)
    try:
        used, tables = _tables(names, every, [METRIC])
    except ReplicationsFailed:  # no replication that every order completed
        return None
    values = [
        [float(getattr(by[r], METRIC)) for r in used]
        for by in ({row.replication: row for row in alt} for alt in every)
    ]
    outcomes = []
    for i, row in enumerate(tables[METRIC]):
        diff = paired_difference(values[i], values[0])
        outcomes.append(
            OrderingOutcome(
                names=tuple(same) if i == 0 else tuple(groups[i - 1][0]),
                plan=i == 0,
                mean=row.mean.estimate,
                p50=row.percentiles[50],
                p80=row.percentiles[80],
                p90=row.percentiles[90],
                probability_best=row.probability_best,
                best=row.best,
                diff_to_plan=diff.estimate,
                diff_ci_low=diff.low,
                diff_ci_high=diff.high,
            )
        )
    return OrderingBaseline(
        metric=METRIC,
        replications=len(used),
        plan_ordering=plan_ordering_label(scenario),
        outcomes=tuple(outcomes),
        skipped=dict(skipped),
        failures=tuple(results.describe_failures(names[1:])),
    )
