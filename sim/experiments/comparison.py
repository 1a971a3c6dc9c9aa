"""Comparing alternatives side by side with common random numbers: what ``migsim compare`` calls.

An :class:`Alternative` is a named scenario plus an optional explicit unit order.
:func:`alternatives_from` builds them from ordering strategy names (``--orderings``) and knob
values (``--vary plan.crews=1,2,4``), as their cartesian product. :func:`compare` runs replications
``0..n-1`` of every alternative through :func:`sim.experiments.runner.run_replications` (replication
``r`` uses the same seed, so the same draws for the same unit and step, in every alternative) and
builds, per metric, a table: P50/P80/P90, the mean with its 95 % CI, the mean difference to the
best alternative (lowest mean; highest for ``done_in_window_1``) with a paired 95 % t-interval,
and the probability of being best; :func:`headline_verdict` judges every headline metric at once
(the best of each, the Pareto set). Because the draws are shared, an alternative compared with
an identical one differs by exactly zero in every replication: the difference is 0 with the
interval (0, 0).
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.common.atomic import atomic_file
from sim.common.errors import InputError, ReferenceProblem
from sim.common.stats import (
    Interval,
    mean_ci,
    paired_difference,
    percentiles,
    probability_best,
    tie_tolerance,
)
from sim.experiments.replications import METRICS, Prepared, ReplicationRow
from sim.experiments.runner import (
    OnFailure,
    Progress,
    Replications,
    ReplicationsFailed,
    run_replications,
)
from sim.model.ordering import STRATEGIES
from sim.model.scenario import Scenario, apply_overrides
from sim.outputs.records import fmt_num
from sim.outputs.verdicts import (
    HEADLINE_METRICS,
    WORK_METRICS,
    MetricVerdict,
    Verdict,
    better,
    metric_text,
)

HEADLINE = "makespan_hours"
"""The metric a comparison is judged by unless told otherwise."""

JUDGED: tuple[str, ...] = (*METRICS, *(m for m, _, _ in HEADLINE_METRICS if m not in METRICS))
"""What a comparison tabulates by default: every metric, then the headline figures that are
columns of ``replications.csv`` but not metrics (``done_in_window_1``, whose mean is P(done in
window 1): higher is better)."""

TABLE_PERCENTILES = (50, 80, 90)

OrderingFn = Callable[[Prepared], Sequence[str]]
"""An ordering that needs the prepared alternative (for example the optimiser): returns unit ids."""


@dataclass(frozen=True)
class Alternative:
    """One alternative: a name, its scenario, and an explicit unit order (``None``: the order
    ``scenario.plan.ordering`` gives)."""

    name: str
    scenario: Scenario
    order: tuple[str, ...] | None = None

    def prepare(self) -> Prepared:
        return Prepared.of(self.scenario, self.order)


# ---- building alternatives --------------------------------------------------------------------


def _dump(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the plain data a YAML file would hold (validates back to an equal one)."""
    data: dict[str, Any] = scenario.model_dump(mode="json", by_alias=True)
    # A recurring window's clock time dumps as minutes after midnight, which the loader refuses
    # (it reads an unquoted 22:00 as a YAML base-60 number): write it back as "HH:MM".
    for window in data.get("plan", {}).get("maintenance_windows") or ():
        at = window.get("at")
        if isinstance(at, int) and not isinstance(at, bool):
            window["at"] = "{:02d}:{:02d}".format(*divmod(at, 60))
    return data


def _split_values(text: str) -> list[str]:
    """Split ``1,2,[a,b]`` at top-level commas (commas inside brackets or quotes stay)."""
    parts: list[str] = []
    depth, quote, cur = 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    return parts


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY.PATH=V1,V2,...`` item."""

    item: str
    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, item: str) -> Vary:
        key, sep, rest = item.partition("=")
        key = key.strip()
        values = tuple(_split_values(rest)) if sep else ()
        if not sep or not key or not values or any(v == "" for v in values):
            raise InputError(
                "--vary", (), f"{item!r}: expected KEY.PATH=V1,V2,... for example plan.crews=1,2,4"
            )
        if len(set(values)) != len(values):
            raise InputError("--vary", (), f"{item!r}: a value is listed twice")
        return cls(item, key, values)

    def label(self, value: str) -> str:
        """``crews=2`` for ``plan.crews`` (the ``plan.`` prefix dropped)."""
        return f"{self.key.removeprefix('plan.')}={value}"


def _clean_loc(data: Any, loc: Sequence[Any]) -> tuple[str | int, ...]:
    """The part of a pydantic location that names keys and items of ``data`` (tags dropped);
    stops after the first key that ``data`` does not hold."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            out.append(part)
            break
    return tuple(out)


def _apply(base: dict[str, Any], assignments: Sequence[tuple[Vary, str]]) -> Scenario:
    """The scenario with ``assignments`` applied; a bad key or value raises ``InputError``."""
    data = copy.deepcopy(base)
    items = [f"{v.key}={value}" for v, value in assignments]
    shown = ", ".join(repr(v.item) for v, _ in assignments)
    try:
        apply_overrides(data, items)
    except InputError as exc:
        raise InputError("--vary", exc.loc, f"{exc.message} (in {shown})") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(data, err["loc"])
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}: the scenario has no such setting (in {shown})"
        else:
            message = f"{str(err['msg']).removeprefix('Value error, ')} (in {shown})"
        raise InputError("--vary", loc, message) from None
    except ReferenceProblem as exc:
        loc, message = exc.problems[0]
        raise InputError("--vary", loc, f"{message} (in {shown})") from None


PLAN_ORDERING = "plan"
"""The ``--orderings`` name of the scenario's own ``plan.ordering`` (a strategy or a pasted
list, such as the one ``migsim optimize`` prints), so it can stand beside named strategies."""


def known_orderings(extra_orderings: Mapping[str, OrderingFn] | None = None) -> list[str]:
    """Every name ``--orderings`` accepts: the strategies, ``plan``, then the extra ones."""
    extra = (k for k in (extra_orderings or {}) if k not in STRATEGIES and k != PLAN_ORDERING)
    return [*STRATEGIES, PLAN_ORDERING, *extra]


def alternatives_from(
    scenario: Scenario,
    orderings: Sequence[str] = (),
    vary: Sequence[str] = (),
    *,
    extra_orderings: Mapping[str, OrderingFn] | None = None,
) -> list[Alternative]:
    """The cartesian product of ``orderings`` and the ``vary`` values, in that nesting order.

    ``orderings`` are strategy names (:data:`sim.model.ordering.STRATEGIES`), ``plan`` (the
    scenario's own ordering, whatever it is) or keys of ``extra_orderings`` (callbacks from the
    prepared alternative to a unit order, for example ``"optimized"``); empty keeps the
    scenario's own ``plan.ordering``. ``vary`` items are
    ``KEY.PATH=V1,V2,...`` (values read as YAML, like ``--set``). Names read
    ``smallest_first | crews=2, check=1h``.

    Raises :class:`InputError` for an unknown strategy (listing the known ones), a ``--vary``
    that is malformed or names a key the scenario does not have (naming it), or a value the
    scenario refuses.
    """
    extra = dict(extra_orderings or {})
    known = known_orderings(extra)
    for name in orderings:
        if name not in known:
            raise InputError(
                "--orderings", (), f"unknown strategy {name!r}; expected one of: {', '.join(known)}"
            )
    if len(set(orderings)) != len(orderings):
        raise InputError("--orderings", (), "an ordering is listed twice")
    varies = [Vary.parse(item) for item in vary]
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        raise InputError("--vary", (), "a key is varied twice; give all its values in one --vary")

    base = _dump(scenario)
    # Each value alone first, so a bad one is blamed precisely.
    for v in varies:
        for value in v.values:
            _apply(base, [(v, value)])

    combos: list[list[tuple[Vary, str]]] = [
        list(zip(varies, values, strict=True))
        for values in itertools.product(*(v.values for v in varies))
    ]
    variants = [(combo, _apply(base, combo) if combo else scenario) for combo in combos]
    own = scenario.plan.ordering
    ordering_names: list[str | None] = list(orderings) or [None]
    out: list[Alternative] = []
    for ordering in ordering_names:
        for combo, variant in variants:
            labels = ", ".join(v.label(value) for v, value in combo)
            head = ordering if ordering is not None else (own if isinstance(own, str) else "")
            if not head and not labels:
                head = "plan ordering"
            name = f"{head} | {labels}" if head and labels else head or labels
            if ordering is None or ordering == PLAN_ORDERING:
                out.append(Alternative(name, variant, None))
            elif ordering in extra and ordering not in STRATEGIES:
                order = tuple(extra[ordering](Prepared.of(variant)))
                plan = variant.plan.model_copy(update={"ordering": order})
                out.append(Alternative(name, variant.model_copy(update={"plan": plan}), order))
            else:
                plan = variant.plan.model_copy(update={"ordering": ordering})
                out.append(Alternative(name, variant.model_copy(update={"plan": plan}), None))
    return out


# ---- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    """One alternative under one metric."""

    alternative: str
    metric: str
    n: int
    mean: Interval
    percentiles: dict[int, float]
    difference: Interval
    """Mean of (this alternative - the best) per replication, with its paired 95 % CI."""
    probability_best: float
    best: bool
    tolerance: float = 0.0
    """Means closer than this are equal (:func:`sim.common.stats.tie_tolerance` of the table)."""


CSV_COLUMNS = (
    "alternative",
    "metric",
    "n",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "p50",
    "p80",
    "p90",
    "diff_to_best",
    "diff_ci_low",
    "diff_ci_high",
    "prob_best",
    "best",
)
"""The columns of ``compare.csv``: one row per alternative and metric."""

TABLE_COLUMNS = (
    "alternative",
    "P50",
    "P80",
    "P90",
    "mean (95% CI)",
    "vs best (95% CI)",
    "P(best)",
)
"""The columns of :meth:`Comparison.rows`."""


@dataclass(frozen=True)
class Comparison:
    """The tables of a comparison, one per metric, and the rows they came from."""

    names: tuple[str, ...]
    metrics: tuple[str, ...]
    headline: str
    replications: int
    """Replications requested per alternative."""
    used: tuple[int, ...]
    """The replication indices every alternative completed: the ones the statistics use."""
    tables: Mapping[str, tuple[MetricRow, ...]]
    results: Replications = field(repr=False)
    alternatives: tuple[Alternative, ...] = field(repr=False, default=())
    scopes: tuple[frozenset[str], ...] = ()
    """Per alternative, the units no replication of it can migrate
    (:func:`sim.experiments.answers.out_of_scope`); empty when not known."""

    @property
    def common_scope(self) -> frozenset[str]:
        """The units out of scope in every alternative: left out of every comparison of work
        (they change nothing between alternatives)."""
        return frozenset.intersection(*self.scopes) if self.scopes else frozenset()

    @property
    def blocked(self) -> dict[str, tuple[str, ...]]:
        """Per alternative that has some, the units out of its scope that another alternative
        can migrate (sorted)."""
        common = self.common_scope
        return {
            name: tuple(sorted(scope - common))
            for name, scope in zip(self.names, self.scopes, strict=True)
            if scope - common
        }

    @property
    def failures(self) -> list[str]:
        """One line per replication that raised, naming alternative, replication and seed."""
        return self.results.describe_failures(self.names)

    def table(self, metric: str | None = None) -> tuple[MetricRow, ...]:
        key = metric or self.headline
        if key not in self.tables:
            raise InputError(
                "--metric",
                (),
                f"unknown metric {key!r}; expected one of: {', '.join(self.metrics)}",
            )
        return self.tables[key]

    def best(self, metric: str | None = None) -> MetricRow:
        return next(r for r in self.table(metric) if r.best)

    def rows(self, metric: str | None = None) -> list[tuple[str, ...]]:
        """The terminal table of ``metric`` (default: the headline), columns
        :data:`TABLE_COLUMNS`, alternatives in the order given."""
        out = []
        m = metric or self.headline
        for r in self.table(metric):
            diff = (
                "best" if r.best else f"{_signed(m, r.difference.estimate)} {_ci(m, r.difference)}"
            )
            out.append(
                (
                    r.alternative,
                    *(_num(m, r.percentiles[p]) for p in TABLE_PERCENTILES),
                    f"{_num(m, r.mean.estimate)} {_ci(m, r.mean)}",
                    diff,
                    f"{r.probability_best:.0%}",
                )
            )
        return out

    def overall(self) -> Verdict:
        """The verdict on every headline metric the comparison has: the best alternative of
        each and the Pareto set (:func:`headline_verdict`)."""
        return headline_verdict(self.tables, len(self.used), self.blocked)

    def verdict(self, metric: str | None = None) -> str:
        """Which alternative wins on ``metric`` and how sure that is, in one or two sentences."""
        key = metric or self.headline
        table = self.table(key)
        higher = better(key) == "higher"
        best = next(r for r in table if r.best)
        tied = [r for r in table if r.best]
        if len(tied) > 1:
            names = ", ".join(r.alternative for r in tied)
            text = (
                f"Tie on {key}: {names} have the same mean ({_num(key, best.mean.estimate)}), equal"
                " within a billionth of its scale; none is better."
            )
            others = _ranked((r for r in table if not r.best), higher)
            if others:
                nxt = others[0]
                text += f" Next: {nxt.alternative}, {_signed(key, nxt.difference.estimate)}."
            return text + self._fewer_units_caution(key, tied)
        text = (
            f"{best.alternative} has the {'highest' if higher else 'lowest'} mean {key}"
            f" ({_num(key, best.mean.estimate)}) and is best in {best.probability_best:.0%} of"
            f" {len(self.used)} replications."
        )
        others = _ranked((r for r in table if not r.best), higher)
        if others:
            runner_up = others[0]
            d = runner_up.difference
            if math.isnan(d.low):
                sure = "too few replications for a confidence interval"
            elif (d.high < 0) if higher else (d.low > 0):
                sure = f"the 95 % CI excludes 0: {best.alternative} is better"
            else:
                sure = "the 95 % CI includes 0: not distinguishable with these replications"
            diff = f"{_signed(key, d.estimate)} {_ci(key, d)}"
            text += f" Next: {runner_up.alternative}, {diff} ({sure})."
        return text + self._fewer_units_caution(key, [best])

    def _fewer_units_caution(self, metric: str, best: Sequence[MetricRow]) -> str:
        """`` Not the same work: ...`` when a best alternative on a work metric migrates fewer
        units than another (:meth:`~sim.outputs.verdicts.Verdict.scope_text`); empty otherwise."""
        if metric not in WORK_METRICS or not all(m in self.tables for m, _, _ in HEADLINE_METRICS):
            return ""
        overall = self.overall()
        if not any(r.alternative in overall.fewer_units for r in best):
            return ""
        return f" {overall.scope_text()}"


def _ranked(rows: Iterable[MetricRow], higher: bool) -> list[MetricRow]:
    """``rows`` best mean first."""
    return sorted(rows, key=lambda r: -r.mean.estimate if higher else r.mean.estimate)


def _num(metric: str, x: float) -> str:
    return metric_text(metric, x)


def _signed(metric: str, x: float) -> str:
    return metric_text(metric, x, signed=True)


def _ci(metric: str, iv: Interval) -> str:
    if math.isnan(iv.low) or math.isnan(iv.high):
        return "(-)"
    return f"({metric_text(metric, iv.low)} to {metric_text(metric, iv.high)})"


def _tables(
    names: Sequence[str],
    results: Replications,
    metrics: Sequence[str],
) -> tuple[tuple[int, ...], dict[str, tuple[MetricRow, ...]]]:
    by_index = [{row.replication: row for row in rows} for rows in results]
    used = tuple(sorted(set.intersection(*(set(d) for d in by_index))))
    if not used:
        raise ReplicationsFailed(results, names)
    tables: dict[str, tuple[MetricRow, ...]] = {}
    for metric in metrics:
        matrix = [[float(getattr(d[r], metric)) for r in used] for d in by_index]
        means = [mean_ci(values) for values in matrix]
        # Lower is better but for a metric that improves upwards: judge its negation.
        sign = -1.0 if better(metric) == "higher" else 1.0
        best_i = min(range(len(names)), key=lambda i: sign * means[i].estimate)  # first on ties
        # Means within the tie tolerance of the best are all best: no winner by noise.
        tol = tie_tolerance(matrix)
        top = sign * means[best_i].estimate
        tied = {i for i in range(len(names)) if sign * means[i].estimate <= top + tol}
        shares = probability_best([[sign * v for v in values] for values in matrix])
        tables[metric] = tuple(
            MetricRow(
                alternative=names[i],
                metric=metric,
                n=len(used),
                mean=means[i],
                percentiles={
                    int(p): v for p, v in percentiles(matrix[i], TABLE_PERCENTILES).items()
                },
                difference=paired_difference(matrix[i], matrix[best_i]),
                probability_best=shares[i],
                best=i in tied,
                tolerance=tol,
            )
            for i in range(len(names))
        )
    return used, tables


# ---- every headline metric at once: best per metric, the Pareto set --------------------------


def dominates(
    a: Sequence[float], b: Sequence[float], tolerances: Sequence[float], higher: Sequence[bool]
) -> bool:
    """Whether means ``a`` beat means ``b`` on all of them: no worse on every metric and better on
    at least one, where a difference within the metric's tolerance is a tie (neither worse nor
    better). ``higher[k]``: metric ``k`` improves upwards."""
    strictly = False
    for x, y, tol, up in zip(a, b, tolerances, higher, strict=True):
        gain = x - y if up else y - x
        if gain < -tol:
            return False
        if gain > tol:
            strictly = True
    return strictly


def pareto_set(
    means: Sequence[Sequence[float]], tolerances: Sequence[float], higher: Sequence[bool]
) -> list[int]:
    """The indices of the rows of ``means`` (one per alternative, one column per metric) that no
    other row :func:`dominates`, in the order given.

    With tolerances the relation can in principle run in a circle (three alternatives each a
    hair better than the next on a different metric, every hair under a billionth of its
    scale), leaving no row undominated; the exact relation (no tolerance) never does, and is
    used then.
    """
    n = len(means)

    def front(tols: Sequence[float]) -> list[int]:
        return [
            i
            for i in range(n)
            if not any(dominates(means[j], means[i], tols, higher) for j in range(n) if j != i)
        ]

    return front(tolerances) or front([0.0] * len(tolerances))


def headline_verdict(
    tables: Mapping[str, Sequence[MetricRow]],
    replications: int | None = None,
    blocked: Mapping[str, Sequence[str]] | None = None,
) -> Verdict:
    """The verdict on every metric of :data:`~sim.outputs.verdicts.HEADLINE_METRICS` that
    ``tables`` holds (one table per metric, the alternatives in the same order in each, as
    :class:`Comparison` has them): the best of each metric (several on a tie, as in the tables),
    the Pareto set on the means, each Pareto member's strengths (metrics on which it is best
    within the set, within the tolerance, leaving out metrics the whole set ties on), and for
    each other alternative one alternative that beats it. ``replications`` defaults to the
    tables' ``n``.

    With ``units_not_migrated`` in ``tables``, the alternatives whose mean exceeds the lowest by
    more than the tolerance migrate fewer units: :attr:`Verdict.fewer_units` holds by how many,
    and ``blocked`` (alternative -> units out of its scope but not of every alternative's, as
    :attr:`Comparison.blocked`) names them where the plan blocks them."""
    heads = [(m, label, way) for m, label, way in HEADLINE_METRICS if m in tables]
    if not heads:
        raise ValueError("no headline metric in the comparison's tables")
    first = tables[heads[0][0]]
    names = [r.alternative for r in first]
    rows = {m: {r.alternative: r for r in tables[m]} for m, _, _ in heads}
    means = [[rows[m][a].mean.estimate for m, _, _ in heads] for a in names]
    tols = [tables[m][0].tolerance for m, _, _ in heads]
    higher = [way == "higher" for _, _, way in heads]
    front = pareto_set(means, tols, higher)

    strengths: dict[str, tuple[str, ...]] = {}
    for i in front:
        own = []
        for k, (m, _, _) in enumerate(heads):
            sign = -1.0 if higher[k] else 1.0
            top = min(sign * means[j][k] for j in front)
            tied = [j for j in front if sign * means[j][k] <= top + tols[k]]
            if len(tied) < len(front) and i in tied:
                own.append(m)
        strengths[names[i]] = tuple(own)
    dominated_by: dict[str, str] = {}
    for i in (i for i in range(len(names)) if i not in front):
        by = [j for j in front if dominates(means[j], means[i], tols, higher)]
        if not by:  # beaten only through the circle pareto_set falls back from
            by = [j for j in range(len(names)) if dominates(means[j], means[i], tols, higher)]
        dominated_by[names[i]] = names[by[0]] if by else names[front[0]]

    fewer: dict[str, float] = {}
    if "units_not_migrated" in rows:
        left = {a: rows["units_not_migrated"][a].mean.estimate for a in names}
        least = min(left.values())
        tol = tables["units_not_migrated"][0].tolerance
        fewer = {a: x - least for a, x in left.items() if x > least + tol}

    verdicts = []
    for m, label, way in heads:
        best = [r for r in tables[m] if r.best]
        verdicts.append(
            MetricVerdict(
                metric=m,
                label=label,
                better=way,
                best=tuple(r.alternative for r in best),
                mean=best[0].mean.estimate,
            )
        )
    return Verdict(
        alternatives=tuple(names),
        replications=first[0].n if replications is None else replications,
        metrics=tuple(verdicts),
        pareto=tuple(names[i] for i in front),
        strengths=strengths,
        dominated_by=dominated_by,
        fewer_units=fewer,
        blocked={a: tuple(v) for a, v in (blocked or {}).items() if a in fewer},
    )


def check_metric(metric: str) -> None:
    """Refuse a metric a comparison cannot judge (``--metric``) with an :class:`InputError`;
    the CLI calls it before any work (no progress bar, no output folder claimed)."""
    if metric not in JUDGED:
        raise InputError(
            "--metric", (), f"unknown metric {metric!r}; expected one of: {', '.join(JUDGED)}"
        )


def compare(
    alternatives: Sequence[Alternative],
    n: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    metrics: Sequence[str] = JUDGED,
    headline: str = HEADLINE,
    deterministic: bool = False,
    on_failure: OnFailure = "raise",
) -> Comparison:
    """Run replications ``0..n-1`` of every alternative (common random numbers) and tabulate.

    ``workers``/``scheduler``/``progress``/``on_failure`` as in
    :func:`sim.experiments.runner.run_replications` (with ``"collect"``, failed replications are
    left out of every alternative's statistics so the pairs stay paired, and
    :attr:`Comparison.failures` lists them). ``headline`` is the metric of :meth:`Comparison.rows`
    and
    :meth:`Comparison.verdict` by default.
    """
    if not alternatives:
        raise InputError("--orderings", (), "expected at least one alternative to compare")
    names = [a.name for a in alternatives]
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise InputError("--orderings", (), f"alternative {dup!r} is listed twice")
    metric_list = list(dict.fromkeys(metrics))
    if headline not in metric_list:
        metric_list.insert(0, headline)
    for m in metric_list:
        check_metric(m)
    prepared = [a.prepare() for a in alternatives]
    results = run_replications(
        prepared,
        n,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        deterministic=deterministic,
        on_failure=on_failure,
        names=names,
    )
    from sim.experiments.answers import out_of_scope

    scopes = tuple(out_of_scope(p.units, p.findings, p.plan) for p in prepared)
    results = _done_within_common_scope(results, scopes)
    used, tables = _tables(names, results, metric_list)
    return Comparison(
        names=tuple(names),
        metrics=tuple(metric_list),
        headline=headline,
        replications=n,
        used=used,
        tables=tables,
        results=results,
        alternatives=tuple(alternatives),
        scopes=scopes,
    )


def _done_within_common_scope(
    results: Replications, scopes: Sequence[frozenset[str]]
) -> Replications:
    """``results`` with ``done_in_window_1`` judged as the clock-time answers judge "done"
    (:func:`sim.experiments.answers.finish_answers`): every unit committed but those out of scope
    in every alternative, none locked, by the end of window 1. A unit blocked in one alternative
    only keeps that alternative from being done; one blocked in all changes nothing. Without
    common out-of-scope units this is the engine's own column."""
    common = frozenset.intersection(*scopes) if scopes else frozenset()
    out = []
    for rows, scope in zip(results, scopes, strict=True):
        allowed = len(scope & common)
        out.append(
            [
                replace(
                    r,
                    done_in_window_1=int(
                        r.units_not_migrated <= allowed
                        and r.units_needing_support == 0
                        and r.finish_window <= 1
                    ),
                )
                for r in rows
            ]
        )
    return Replications(out, results.failures)


# ---- outputs ----------------------------------------------------------------------------------


def _cell(x: float) -> str:
    return "" if math.isnan(x) else fmt_num(x)


def compare_csv(comparison: Comparison) -> str:
    """``compare.csv``: :data:`CSV_COLUMNS`, one row per alternative and metric (metrics in the
    comparison's order, alternatives in the order given); numbers with at most six decimals, an
    undefined interval bound empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for metric in comparison.metrics:
        for r in comparison.tables[metric]:
            writer.writerow(
                [
                    r.alternative,
                    r.metric,
                    str(r.n),
                    _cell(r.mean.estimate),
                    _cell(r.mean.low),
                    _cell(r.mean.high),
                    *(_cell(r.percentiles[p]) for p in TABLE_PERCENTILES),
                    _cell(r.difference.estimate),
                    _cell(r.difference.low),
                    _cell(r.difference.high),
                    _cell(r.probability_best),
                    "true" if r.best else "false",
                ]
            )
    return buf.getvalue()


COMPARE_FILES = ("compare.csv", "compare-replications.csv", "compare-finish.csv", "verdict.json")
"""The files ``migsim compare --out DIR`` writes into ``DIR``: what its ``--force`` replaces there
(and nothing else)."""


def write_compare_csv(comparison: Comparison, path: Path) -> Path:
    """Write ``compare.csv`` atomically; return ``path``."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(compare_csv(comparison).encode("utf-8"))
    return path


def compare_replications_csv(comparison: Comparison) -> str:
    """Every replication row of every alternative: ``alternative`` then the columns of
    ``replications.csv`` (floats lossless, as there)."""
    from sim.experiments.runner import replications_csv

    lines: list[str] = []
    for name, rows in zip(comparison.names, comparison.results, strict=True):
        body = replications_csv(rows).splitlines()[1:]
        quoted = io.StringIO()
        csv.writer(quoted, lineterminator="").writerow([name])
        lines.extend(f"{quoted.getvalue()},{line}" for line in body)
    header = ",".join(["alternative", *ReplicationRow.columns()])
    return "\n".join([header, *lines]) + "\n"


def write_compare_replications(comparison: Comparison, path: Path) -> Path:
    """Write :func:`compare_replications_csv` atomically (``replications.csv`` of a comparison)."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(compare_replications_csv(comparison).encode("utf-8"))
    return path
