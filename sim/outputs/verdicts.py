"""Verdicts of experiments as records: what a comparison says on every headline metric, and how
a run's own ordering fares against the named strategies.

The experiments compute them (:func:`sim.experiments.comparison.headline_verdict`,
:func:`sim.experiments.baseline.ordering_baseline`); the CLI prints their sentences and the report
renders them from the JSON files they are written to (``compare/verdict.json``,
``orderings.json``), so neither recomputes anything. ``docs/experiments.md`` explains the rules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sim.common.atomic import atomic_file
from sim.common.timeparse import format_hours

Better = Literal["lower", "higher"]
"""Which way a metric improves."""

HEADLINE_METRICS: tuple[tuple[str, str, Better], ...] = (
    ("makespan_hours", "makespan", "lower"),
    ("vm_hours_down", "VM-hours down", "lower"),
    ("service_hours_down", "service-hours down", "lower"),
    ("lock_resource_hours", "lock hours", "lower"),
    ("done_in_window_1", "P(done in window 1)", "higher"),
    ("units_not_migrated", "units not migrated", "lower"),
)
"""The metrics a comparison's verdict covers, ``(column of replications.csv, label, better)``:
the best alternative of each, and the Pareto set over all of them. ``units_not_migrated`` is
among them so that an alternative that migrates fewer units never beats one that migrates more
(its makespan and hours cover less work)."""

WORK_METRICS = ("makespan_hours", "vm_hours_down", "service_hours_down", "lock_resource_hours")
"""Headline metrics that measure the work done: lower for an alternative that migrates fewer
units, so its best on them comes with a caution (:meth:`Verdict.scope_text`)."""

PHRASES = {"units_not_migrated": "the fewest units not migrated"}
"""How the Pareto sentence names a strength, where "the lowest LABEL" would read badly."""


def better(metric: str) -> Better:
    """``"higher"`` for a headline metric that improves upwards, ``"lower"`` for every other."""
    return next((b for m, _, b in HEADLINE_METRICS if m == metric), "lower")


def _num(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def _names(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _write_json(data: Mapping[str, Any], path: Path) -> Path:
    path = Path(path)
    with atomic_file(path) as tmp:
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
        tmp.write_bytes(text.encode("utf-8"))
    return path


def _clean(x: float) -> float | None:
    return None if math.isnan(x) else x


def _float(x: Any) -> float:
    return float("nan") if x is None else float(x)


# ---- a comparison's verdict on every headline metric ------------------------------------------


@dataclass(frozen=True)
class MetricVerdict:
    """One headline metric of a comparison: which alternatives are best (several on a tie)."""

    metric: str
    label: str
    better: Better
    best: tuple[str, ...]
    """The alternatives tied for the best mean (one unless a tie)."""
    mean: float
    """The best mean."""

    def mean_text(self) -> str:
        """The best mean; a probability (a label ``P(...)``) as a percentage."""
        if self.label.startswith("P(") and not math.isnan(self.mean):
            return f"{self.mean:.0%}"
        return _num(self.mean)

    def best_text(self, alternatives: int, fewer: Mapping[str, float] | None = None) -> str:
        """The best alternative (or the tie); ``fewer``: alternatives that migrate fewer units
        (:attr:`Verdict.fewer_units`), marked on a :data:`WORK_METRICS` metric."""
        if len(self.best) == 1:
            name = self.best[0]
            if fewer and name in fewer and self.metric in WORK_METRICS:
                return f"{name} (migrates fewer units)"
            return name
        if len(self.best) == alternatives:
            return "tie: all equal"
        return f"tie: {', '.join(self.best)}"


VERDICT_COLUMNS = ("metric", "better", "best", "mean")
"""The columns of :meth:`Verdict.rows`."""


@dataclass(frozen=True)
class Verdict:
    """A comparison judged on every headline metric at once.

    ``pareto`` holds the alternatives no other beats on all of them (no worse on every headline
    metric and better, beyond the tie tolerance, on at least one); ``strengths`` says, for each of
    them, the metrics on which it is best within the Pareto set (leaving out metrics on which the
    whole set ties); ``dominated_by`` names, for each alternative outside it, one that beats it.
    """

    alternatives: tuple[str, ...]
    replications: int
    metrics: tuple[MetricVerdict, ...]
    pareto: tuple[str, ...]
    strengths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dominated_by: Mapping[str, str] = field(default_factory=dict)
    fewer_units: Mapping[str, float] = field(default_factory=dict)
    """Alternatives that migrate fewer units than the one that migrates the most: how many more
    units they leave not migrated, on average over the replications (beyond the tie tolerance).
    Units out of scope in every alternative add the same to each and change nothing here."""
    blocked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Units no replication of an alternative migrates (blocked under its plan, or waiting for a
    blocked unit) that another alternative can migrate."""

    def rows(self) -> list[tuple[str, str, str, str]]:
        """One row per headline metric (:data:`VERDICT_COLUMNS`): label, which way is better,
        the best alternative (or the tie; "migrates fewer units" beside one that does, on a
        :data:`WORK_METRICS` metric) and its mean."""
        n = len(self.alternatives)
        return [
            (m.label, m.better, m.best_text(n, self.fewer_units), m.mean_text())
            for m in self.metrics
        ]

    def scope_text(self) -> str:
        """One sentence per alternative that migrates fewer units than another: how many, which
        (when blocked under its plan) and that its work metrics cover less work; empty when
        every alternative migrates the same units."""
        if not self.fewer_units:
            return ""
        most = [a for a in self.alternatives if a not in self.fewer_units]
        labels = {m.metric: m.label for m in self.metrics}
        work = _names([labels[m] for m in WORK_METRICS if m in labels])
        parts = []
        for a in self.alternatives:
            if a not in self.fewer_units:
                continue
            extra = self.fewer_units[a]
            blocked = self.blocked.get(a, ())
            if blocked and abs(extra - len(blocked)) < 1e-9:
                n = len(blocked)
                what = (
                    f"{a} never migrates {n} unit{'s' if n != 1 else ''} that {_names(most)}"
                    f" migrate{'s' if len(most) == 1 else ''} ({', '.join(blocked)}: blocked"
                    " under its plan, or waiting for a blocked unit)"
                )
            else:
                what = (
                    f"{a} leaves {_num(extra)} more units not migrated on average than"
                    f" {_names(most)}"
                )
            parts.append(f"{what}: its {work} cover less work" if work else what)
        return f"Not the same work: {'; '.join(parts)}."

    def pareto_text(self) -> str:
        """The Pareto set and its trade-off in plain words, one or two sentences, then
        :meth:`scope_text` when some alternative migrates fewer units than another."""
        if len(self.alternatives) < 2:
            return f"Pareto set: {_names(self.pareto)} (the only alternative)."
        labels = {m.metric: (m.label, m.better) for m in self.metrics}

        def phrase(metric: str) -> str:
            if metric in PHRASES:
                return PHRASES[metric]
            label, way = labels[metric]
            return f"the {'highest' if way == 'higher' else 'lowest'} {label}"

        if len(self.pareto) == 1:
            text = f"Pareto set: {self.pareto[0]} alone (no trade-off)."
        elif not any(self.strengths.get(a) for a in self.pareto):
            text = f"Pareto set: {_names(self.pareto)}: equal on every headline metric."
        else:
            groups: dict[tuple[str, ...], list[str]] = {}
            for a in self.pareto:
                groups.setdefault(tuple(self.strengths.get(a, ())), []).append(a)
            parts = []
            for own, members in groups.items():
                who = _names(members)
                if own:
                    verb = "has" if len(members) == 1 else "share"
                    parts.append(f"{who} {verb} {_names([phrase(m) for m in own])}")
                else:
                    verb, it = ("is", "it") if len(members) == 1 else ("are", "them")
                    parts.append(f"{who} {verb} best on none, but none beats {it} on all")
            text = f"Pareto set: {_names(self.pareto)} (trade-off: {'; '.join(parts)})."
        out = [a for a in self.alternatives if a not in self.pareto]
        if out:
            by: dict[str, list[str]] = {}
            for a in out:
                by.setdefault(self.dominated_by[a], []).append(a)
            beaten = "; ".join(f"{_names(losers)} by {b}" for b, losers in by.items())
            text += (
                " Outside it, beaten (matched or bettered on every headline metric, bettered on"
                f" at least one): {beaten}."
            )
        scope = self.scope_text()
        return f"{text} {scope}" if scope else text

    def as_dict(self) -> dict[str, Any]:
        return {
            "alternatives": list(self.alternatives),
            "replications": self.replications,
            "metrics": [
                {
                    "metric": m.metric,
                    "label": m.label,
                    "better": m.better,
                    "best": list(m.best),
                    "mean": _clean(m.mean),
                }
                for m in self.metrics
            ],
            "pareto": list(self.pareto),
            "strengths": {a: list(self.strengths.get(a, ())) for a in self.pareto},
            "dominated_by": dict(self.dominated_by),
            "fewer_units": dict(self.fewer_units),
            "blocked": {a: list(v) for a, v in self.blocked.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The record :meth:`as_dict` wrote (``KeyError``/``TypeError``/``ValueError`` if not)."""
        return cls(
            alternatives=tuple(str(a) for a in data["alternatives"]),
            replications=int(data["replications"]),
            metrics=tuple(
                MetricVerdict(
                    metric=str(m["metric"]),
                    label=str(m["label"]),
                    better="higher" if m["better"] == "higher" else "lower",
                    best=tuple(str(a) for a in m["best"]),
                    mean=_float(m["mean"]),
                )
                for m in data["metrics"]
            ),
            pareto=tuple(str(a) for a in data["pareto"]),
            strengths={str(a): tuple(str(x) for x in v) for a, v in data["strengths"].items()},
            dominated_by={str(a): str(b) for a, b in data["dominated_by"].items()},
            fewer_units={str(a): float(x) for a, x in data.get("fewer_units", {}).items()},
            blocked={str(a): tuple(str(u) for u in v) for a, v in data.get("blocked", {}).items()},
        )


def write_verdict(verdict: Verdict, path: Path) -> Path:
    """``verdict.json`` of a comparison, atomically; return ``path``."""
    return _write_json(verdict.as_dict(), path)


# ---- a run's ordering against the named strategies --------------------------------------------


@dataclass(frozen=True)
class OrderingOutcome:
    """One distinct unit order of an ordering check: the plan's own, or a named strategy's
    (``names``: every strategy that gives this order)."""

    names: tuple[str, ...]
    plan: bool
    """This is the plan's own order."""
    mean: float
    p50: float
    p80: float
    p90: float
    probability_best: float
    best: bool
    """Tied for the best mean among all the orders checked."""
    diff_to_plan: float
    """Mean of (this order - the plan's) per replication."""
    diff_ci_low: float
    diff_ci_high: float

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "the plan's ordering"


ORDERING_PERCENTILE = 80
"""The percentile the ordering check quotes (what a planner promises)."""


@dataclass(frozen=True)
class OrderingBaseline:
    """``migsim run --replications N``: the plan's ordering against every named ordering
    strategy, on the same replications (common random numbers), by ``metric``."""

    metric: str
    replications: int
    """Replications used: those every order completed."""
    plan_ordering: str
    """How the plan names its ordering: a strategy, or ``an explicit list of N units``."""
    outcomes: tuple[OrderingOutcome, ...]
    """The plan's order first, then one per distinct named order (strategy order)."""
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Strategies that could not order this plan's units, with the reason."""
    failures: tuple[str, ...] = ()

    @property
    def plan(self) -> OrderingOutcome:
        return next(o for o in self.outcomes if o.plan)

    def best_named(self) -> OrderingOutcome | None:
        """The best order a named strategy gives (the plan's own if that is named and best)."""
        named = [o for o in self.outcomes if o.names]
        if not named:
            return None
        best = [o for o in named if o.best]
        if best:
            return next((o for o in best if o.plan), best[0])
        return min(named, key=lambda o: o.mean)

    def sentence(self) -> str:
        """How the plan's ordering compares, in one or two sentences."""
        plan = self.plan
        p = ORDERING_PERCENTILE
        what = f"The plan's ordering ({self.plan_ordering})"
        same = [n for n in plan.names if n != self.plan_ordering]
        if same:
            what += f", the same order as {_names(same)},"
        others = [o for o in self.outcomes if not o.plan]
        if not others:
            return (
                f"{what} finishes at P{p} {format_hours(plan.p80)}; every named strategy gives this"
                " same order."
            )
        best = self.best_named()
        n = self.replications
        if best is None or best.plan or plan.best:
            ties = [o for o in others if o.best]
            if ties:
                return (
                    f"{what} ties with {_names([o.name for o in ties])} for the lowest mean"
                    f" {self.metric} on {n} replications: P{p} {format_hours(plan.p80)}."
                )
            runner = min(others, key=lambda o: o.mean)
            rank = "is the best of the named strategies" if plan.names else "beats every named"
            if not plan.names:
                rank += " strategy"
            return (
                f"{what} {rank} on {n} replications: P{p} {format_hours(plan.p80)}, best in"
                f" {plan.probability_best:.0%} of them; the next, {runner.name}, finishes at"
                f" P{p} {format_hours(runner.p80)} ({_sooner(plan.p80 - runner.p80)} at P{p})."
            )
        gap = plan.p80 - best.p80
        mean_gap = -best.diff_to_plan
        if math.isnan(best.diff_ci_low):
            sure = "too few replications for a confidence interval"
        elif best.diff_ci_high < 0:
            sure = (
                f"95 % CI {format_hours(-best.diff_ci_high)} to {format_hours(-best.diff_ci_low)}"
            )
        else:
            sure = "the 95 % CI includes 0: not distinguishable with these replications"
        # The best is the lowest mean (as in a comparison): say so when its P80 is later.
        which = "the best named strategy" + (" on average" if gap < 0 else "")
        return (
            f"{what} finishes at P{p} {format_hours(plan.p80)}; {best.name}, {which},"
            f" at {format_hours(best.p80)} ({_sooner(gap)} at P{p}; {_sooner(mean_gap)} on average,"
            f" {sure}; best in {best.probability_best:.0%} of {n} replications)."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "percentile": ORDERING_PERCENTILE,
            "replications": self.replications,
            "plan_ordering": self.plan_ordering,
            "outcomes": [
                {
                    "names": list(o.names),
                    "plan": o.plan,
                    "mean": _clean(o.mean),
                    "p50": _clean(o.p50),
                    "p80": _clean(o.p80),
                    "p90": _clean(o.p90),
                    "probability_best": _clean(o.probability_best),
                    "best": o.best,
                    "diff_to_plan": _clean(o.diff_to_plan),
                    "diff_ci_low": _clean(o.diff_ci_low),
                    "diff_ci_high": _clean(o.diff_ci_high),
                }
                for o in self.outcomes
            ],
            "skipped": dict(self.skipped),
            "failures": list(self.failures),
            "sentence": self.sentence(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrderingBaseline:
        """The record :meth:`as_dict` wrote (``KeyError``/``TypeError``/``ValueError`` if not)."""
        return cls(
            metric=str(data["metric"]),
            replications=int(data["replications"]),
            plan_ordering=str(data["plan_ordering"]),
            outcomes=tuple(
                OrderingOutcome(
                    names=tuple(str(n) for n in o["names"]),
                    plan=bool(o["plan"]),
                    mean=_float(o["mean"]),
                    p50=_float(o["p50"]),
                    p80=_float(o["p80"]),
                    p90=_float(o["p90"]),
                    probability_best=_float(o["probability_best"]),
                    best=bool(o["best"]),
                    diff_to_plan=_float(o["diff_to_plan"]),
                    diff_ci_low=_float(o["diff_ci_low"]),
                    diff_ci_high=_float(o["diff_ci_high"]),
                )
                for o in data["outcomes"]
            ),
            skipped={str(k): str(v) for k, v in data.get("skipped", {}).items()},
            failures=tuple(str(f) for f in data.get("failures", ())),
        )


def _sooner(hours: float) -> str:
    """``36m sooner`` for a positive gain, ``12m later`` for a negative one."""
    if hours > 0:
        return f"{format_hours(hours)} sooner"
    if hours < 0:
        return f"{format_hours(-hours)} later"
    return "the same"


DURATION_METRICS = ("makespan_hours",)
"""Metrics that are durations (in hours in the files): written as ``7h55m`` wherever a person
reads them (:func:`metric_text`). Hours-valued quantities such as VM-hours stay numbers."""


def metric_text(metric: str, x: float, *, signed: bool = False) -> str:
    """A value of ``metric`` as a person reads it: a duration (``5h59m``) for a duration metric,
    else a number with two decimals; ``-`` for NaN; ``signed`` for a difference."""
    if metric in DURATION_METRICS:
        return format_hours(x, signed=signed)
    if math.isnan(x):
        return "-"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def write_ordering_baseline(baseline: OrderingBaseline, path: Path) -> Path:
    """``orderings.json`` of a run, atomically; return ``path``."""
    return _write_json(baseline.as_dict(), path)
