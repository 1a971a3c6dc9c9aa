"""Re-forecasting a migration night from what has happened: what ``migsim replan`` calls.

:func:`replan` conditions the simulation on the actuals (:mod:`sim.model.actuals`) at ``now``
(:mod:`sim.engine.replay`: what happened happens again, to the minute; the rest runs under the
plan from ``now``), runs one recorded replication (the plan's seed, or every duration at its
central value with ``deterministic``) and ``replications`` more, and answers the change board
again: P50, P80 and P90 finish in clock time, P(done by the end of the current maintenance
window) with its 95 % Wilson interval, per unit not yet committed P(its Commit ends in this
window), the units the crews start next, and "what changed": the same answers from the plan
alone, on the same replications (common random numbers: the difference is the night's, not the
draws').

:func:`write_replan` writes the files of a run (``windows.csv``, ``events.csv`` with a
``source`` column, ``actual`` or ``forecast``, ``units.csv``, ``summary.json``...), its
``replications.csv`` and ``statistics.json``, and ``replan.json`` (the answers) and
``actuals.csv`` (the actuals as read), into one folder, atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
from scipy.stats import binomtest

from sim.common.errors import InputError
from sim.common.stats import CONFIDENCE, mean_ci
from sim.engine.replay import EPS, Replay, ReplayMismatch
from sim.engine.simulation import simulate, tally
from sim.experiments.actuals import load_actuals
from sim.experiments.answers import (
    FinishAnswers,
    _done_percentile,
    finish_answers,
    out_of_scope,
)
from sim.experiments.replications import Prepared, ReplicationRow, row_of
from sim.experiments.run import RunResult, with_seed, write_run
from sim.experiments.runner import Progress, metric_statistics, replications_csv, run_replications
from sim.model.actuals import Actuals, now_minutes
from sim.model.calendar import Calendar
from sim.model.scenario import Scenario
from sim.outputs.records import summarize

if TYPE_CHECKING:
    import pandas as pd

REPLAN_FILES = ("replan.json", "actuals.csv")
"""What ``migsim replan`` writes beside a run's files."""

ADVISE_UNITS = 8
"""``--advise`` compares skipping each of the next units the forecast starts, this many at most
(a presentation and run-time choice: each is a full set of replications)."""

UNIT_Q = (10.0, 50.0, 90.0)
"""The percentiles of each unit's Commit end in ``replan.json`` (the report's band)."""

NEXT_UNITS = 10
"""Units listed as "start next" (the first ones the forecast starts after now; a presentation
choice)."""


@dataclass(frozen=True)
class ReplanRow(ReplicationRow):
    """A :class:`ReplicationRow` with each committed unit's Commit end (minutes): what the
    per-unit answers count. ``replications.csv`` keeps the row's own columns only."""

    commits: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class ReplanPrepared(Prepared):
    """A :class:`Prepared` alternative whose rows carry the units' Commit ends."""

    def row(self, replication: int, *, deterministic: bool = False) -> ReplanRow:
        t = self._run(tally, replication, deterministic)
        row = row_of(t, replication)
        values = {f.name: getattr(row, f.name) for f in fields(ReplicationRow)}
        return ReplanRow(**values, commits=t.commits)


@dataclass(frozen=True)
class Window:
    """The maintenance-window occurrence ``now`` falls in (or the next one): its 1-based index
    (as the clock-time answers number them) and span in minutes from ``plan.start``."""

    index: int
    start: float
    end: float


@dataclass(frozen=True)
class Share:
    """``hits`` of ``n`` replications, with a 95 % Wilson interval."""

    hits: int
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, hits: int, n: int) -> Share:
        if n == 0:  # every replication of it failed (kept with --allow-failures)
            return cls(0, 0, 0.0, 1.0)
        ci = binomtest(hits, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
        return cls(hits, n, float(ci.low), float(ci.high))

    @property
    def share(self) -> float:
        return self.hits / self.n if self.n else 0.0

    def text(self) -> str:
        return f"{100 * self.share:.1f} % (95 % CI {100 * self.low:.1f} to {100 * self.high:.1f} %)"


@dataclass(frozen=True)
class UnitShare:
    """A unit not committed by ``now``: P(its Commit ends by the end of the current window),
    re-forecast and under the plan alone (None without windows); and when its Commit ends in
    the re-forecast at P10, P50 and P90 (minutes from ``plan.start``; None where that
    percentile falls among the replications that never commit it)."""

    unit: str
    replan: float | None
    plan: float | None
    commit: tuple[float | None, float | None, float | None] = (None, None, None)


@dataclass(frozen=True)
class NextUnit:
    """A unit the forecast starts after ``now``: when (minutes) and on which crew."""

    unit: str
    start: float
    crew: int | None


@dataclass(frozen=True)
class Advice:
    """One next decision (``migsim replan --advise``): ``what`` it is, the units it leaves for
    the next window (``skipped``: the unit and those that must wait for it), P(every other unit
    in scope committed by the end of this window) with its Wilson interval, and its difference
    from continuing as planned on the same replications (paired, 95 % t interval). Commits, not
    the last step: a skipped unit's own steps run in the next window, and a post-step after the
    window's last Commit does not undo the night."""

    what: str
    skipped: tuple[str, ...]
    share: Share
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class ReplanResult:
    """A re-forecast (:func:`replan`): the recorded replication conditioned on the actuals
    (``run``), the actuals and ``now`` (minutes from ``plan.start``), the Monte Carlo rows of
    the re-forecast (``rows``) and of the plan alone on the same seeds (``plan_rows``)."""

    run: RunResult
    actuals: Actuals
    now: float
    rows: tuple[ReplanRow, ...]
    plan_rows: tuple[ReplanRow, ...]
    failures: tuple[str, ...]
    window: Window | None
    scope: int
    advice: tuple[Advice, ...] = ()
    """With ``advise``: continue, then each unit skipped, best first."""

    # ---- what happened and what is forecast -------------------------------------------------

    def event_sources(self) -> list[str]:
        """Per event of ``run.replication.events``: ``actual`` (it is in the actuals) or
        ``forecast``."""
        actual = {(e.unit, e.step, e.outcome, e.attempt) for e in self.actuals.events}
        return [
            "actual"
            if (e.unit, e.step, e.outcome, e.attempt) in actual and e.time <= self.now + EPS
            else "forecast"
            for e in self.run.replication.events
        ]

    def next_units(self, limit: int = NEXT_UNITS) -> tuple[NextUnit, ...]:
        """The units not begun by ``now`` that the forecast starts first, in the order it
        starts them (under the plan's dispatch): what the crews take next."""
        begun = set(self.actuals.units)
        out: dict[str, NextUnit] = {}
        for e in self.run.replication.events:
            if e.outcome == "start" and e.unit not in begun and e.unit not in out:
                out[e.unit] = NextUnit(e.unit, e.time, e.crew)
        return tuple(out.values())[:limit]

    # ---- the answers ---------------------------------------------------------------------------

    def answers(self) -> FinishAnswers | None:
        """The re-forecast's clock-time answers (None without replications)."""
        return self._answers(self.rows)

    def plan_answers(self) -> FinishAnswers | None:
        """The plan's own answers on the same replications (None without replications)."""
        return self._answers(self.plan_rows)

    def _answers(self, rows: Sequence[ReplanRow]) -> FinishAnswers | None:
        if not rows:
            return None
        return finish_answers(rows, self.run.scenario.plan, self.scope)

    def _done(self, row: ReplicationRow) -> bool:
        return row.units_not_migrated <= self.scope and row.units_needing_support == 0

    def done_in_window(self, rows: Sequence[ReplanRow] | None = None) -> Share | None:
        """P(every unit in scope committed by the end of the current window); None without
        windows or replications."""
        rows = self.rows if rows is None else rows
        if self.window is None or not rows:
            return None
        end = self.window.end
        hits = sum(1 for r in rows if self._done(r) and r.makespan_hours * 60.0 <= end + EPS)
        return Share.of(hits, len(rows))

    def unit_shares(self) -> tuple[UnitShare, ...]:
        """Per unit in scope not committed by ``now``, in the run's order: P(its Commit ends by
        the end of the current window), re-forecast and under the plan, and its Commit end at
        P10, P50 and P90; empty without replications."""
        if not self.rows:
            return ()
        end = math.inf if self.window is None else self.window.end + EPS
        committed = set(self.actuals.committed)
        out_scope = out_of_scope(self.run.units, self.run.findings, self.run.scenario.plan)
        ends = [dict(r.commits) for r in self.rows]
        plan_ends = [dict(r.commits) for r in self.plan_rows]

        def share(per: Sequence[dict[str, float]], uid: str) -> float | None:
            if self.window is None or not per:
                return None
            return sum(1 for c in per if c.get(uid, math.inf) <= end) / len(per)

        def quantiles(uid: str) -> tuple[float | None, float | None, float | None]:
            times = [c.get(uid, math.inf) for c in ends]
            q = [_done_percentile(times, [math.isfinite(t) for t in times], p) for p in UNIT_Q]
            return (q[0], q[1], q[2])

        return tuple(
            UnitShare(uid, share(ends, uid), share(plan_ends, uid), quantiles(uid))
            for uid in self.run.order
            if uid not in committed and uid not in out_scope
        )

    # ---- what it says -------------------------------------------------------------------------

    def clock(self, minutes: float) -> str:
        answers = self.answers() or self.plan_answers()
        if answers is not None:
            return answers.clock(minutes)
        return FinishAnswers(
            0, self.run.scenario.plan.timezone, self.run.scenario.plan.start, (), (), 0, 0, None
        ).clock(minutes)

    def lines(self) -> list[tuple[str, str]]:
        """``(label, value)`` rows: what ``migsim replan`` prints."""
        n_events = len(self.actuals.events)
        rows = [
            (
                "Re-forecast at",
                f"{self.clock(self.now)} from {n_events} actual event"
                f"{'s' if n_events != 1 else ''} ({self.actuals.source})",
            )
        ]
        committed = len(self.actuals.committed)
        begun = len(self.actuals.units)
        rows.append(("Units committed / begun so far", f"{committed} / {begun}"))
        done, plan_done = self.done_in_window(), self.done_in_window(self.plan_rows)
        if done is not None and plan_done is not None and self.window is not None:
            answers = self.answers()
            assert answers is not None
            span = answers.span(self.window.start, self.window.end)
            rows.append(
                (f"P(done in this window, window {self.window.index}: {span})", done.text())
            )
            rows.append(("  the plan said", plan_done.text()))
        answers, plan = self.answers(), self.plan_answers()
        if answers is None:  # --replications 0: the recorded forecast's own finish
            rows.append(
                (
                    "Finish (the recorded forecast, one draw)",
                    self.clock(self.run.replication.makespan),
                )
            )
        if answers is not None and plan is not None:
            for (p, m), (_, pm) in zip(answers.quantiles, plan.quantiles, strict=True):
                rows.append(
                    (f"Finish P{p:g}", f"{answers.clock(m)} (the plan said {plan.clock(pm)})")
                )
        nxt = self.next_units()
        if nxt:
            rows.append(
                (
                    "Start next (plan's dispatch)",
                    ", ".join(f"{u.unit} {self.clock(u.start)}" for u in nxt[:4])
                    + (f" and {len(nxt) - 4} more" if len(nxt) > 4 else ""),
                )
            )
        if self.failures:
            rows.append(("Replications failed", f"{len(self.failures)}"))
        return rows

    def as_dict(self) -> dict[str, Any]:
        """``replan.json``: now, the actuals, the answers beside the plan's, per unit, next."""
        answers, plan = self.answers(), self.plan_answers()
        done, plan_done = self.done_in_window(), self.done_in_window(self.plan_rows)

        def share(s: Share | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {
                "done": s.hits,
                "replications": s.n,
                "share": round(s.share, 6),
                "ci_low": round(s.low, 6),
                "ci_high": round(s.high, 6),
            }

        return {
            "now": {"minutes": round(self.now, 6), "text": self.clock(self.now)},
            "actuals": {
                "source": self.actuals.source,
                "events": len(self.actuals.events),
                "units_begun": list(self.actuals.units),
                "units_committed": list(self.actuals.committed),
            },
            "window": None
            if self.window is None
            else {
                "window": self.window.index,
                "start_minutes": round(self.window.start, 6),
                "end_minutes": round(self.window.end, 6),
            },
            "done_in_window": share(done),
            "plan_done_in_window": share(plan_done),
            "finish": None if answers is None else answers.as_dict(),
            "plan_finish": None if plan is None else plan.as_dict(),
            "units": [
                {
                    "unit": u.unit,
                    "p_commit_in_window": _round(u.replan),
                    "plan_p_commit_in_window": _round(u.plan),
                    "commit_minutes": {
                        f"P{p:g}": _round(m) for p, m in zip(UNIT_Q, u.commit, strict=True)
                    },
                }
                for u in self.unit_shares()
            ],
            "next": [
                {"unit": u.unit, "start_minutes": round(u.start, 6), "crew": u.crew}
                for u in self.next_units()
            ],
            "advice": [
                {
                    "what": a.what,
                    "skipped": list(a.skipped),
                    **(share(a.share) or {}),
                    "diff_vs_continue": round(a.diff, 6),
                    "diff_low": round(a.low, 6),
                    "diff_high": round(a.high, 6),
                }
                for a in self.advice
            ],
            "replications": len(self.rows),
            "failures": list(self.failures),
        }


def _skips(
    run: RunResult, actuals: Actuals, out_scope: frozenset[str], now: float
) -> list[tuple[str, frozenset[str]]]:
    """The ``skip`` decisions: each of the first :data:`ADVISE_UNITS` units not begun that the
    recorded forecast starts after ``now``, with the units that must wait for it."""
    begun = set(actuals.units)
    dag = run.units.dag
    first: dict[str, float] = {}
    for e in run.replication.events:
        if e.outcome == "start" and e.unit not in begun and e.unit not in out_scope:
            first.setdefault(e.unit, e.time)
    out = []
    for uid in list(first)[:ADVISE_UNITS]:
        waiting = frozenset({uid, *nx.descendants(dag, uid)}) - out_scope
        out.append((f"skip {uid}", waiting))
    return out


def _aborts(
    run: RunResult, actuals: Actuals, out_scope: frozenset[str]
) -> list[tuple[str, frozenset[str]]]:
    """The ``abort`` decisions: each unit still Prepared at now (its Prepare ended, its Check
    not ended, no Commit or Abort begun), aborted at its next step boundary and left, with the
    units that must wait for it, for the next window."""
    dag = run.units.dag
    out = []
    for uid, p in actuals.progress().items():
        if uid in out_scope or p.committed:
            continue
        runs = (*p.ended, *p.failed, *p.in_progress)
        k = max((r.attempt for r in p.ended if r.step == "prepare"), default=0)
        if not k or any(
            (r.step in ("commit", "abort") and r.attempt >= k)
            or (r.step == "check" and r.attempt == k and r.end is not None)
            for r in runs
        ):
            continue
        out.append((f"abort {uid}", frozenset({uid, *nx.descendants(dag, uid)}) - out_scope))
    return out


def _in_window(row: ReplanRow, need: frozenset[str], end: float) -> bool:
    commits = dict(row.commits)
    return all(commits.get(uid, math.inf) <= end for uid in need)


def _advice(
    prepared: Prepared,
    out_scope: frozenset[str],
    window: Window,
    rows: Sequence[ReplanRow],
    options: Sequence[tuple[str, frozenset[str]]],
    results: Sequence[Sequence[object]],
) -> tuple[Advice, ...]:
    """Continue and each skip, by P(the rest done in this window), on paired replications."""
    scope = frozenset(prepared.order) - out_scope
    end = window.end + EPS
    base = {r.replication: _in_window(r, scope, end) for r in rows}
    out = []
    for (what, skipped), got in [
        (("continue", frozenset()), rows),
        *zip(options, results, strict=True),
    ]:
        alt = {
            r.replication: _in_window(r, scope - skipped, end)
            for r in got
            if isinstance(r, ReplanRow)
        }
        paired = [float(alt[i]) - float(base[i]) for i in alt if i in base]
        ci = mean_ci(paired) if paired else None
        hits = sum(alt.values())
        out.append(
            Advice(
                what,
                tuple(u for u in prepared.order if u in skipped),
                Share.of(hits, len(alt)),
                0.0 if ci is None else ci.estimate,
                # a difference of two shares lies in [-1, 1]: the t interval is clipped to it
                0.0 if ci is None or math.isnan(ci.low) else max(-1.0, ci.low),
                0.0 if ci is None or math.isnan(ci.high) else min(1.0, ci.high),
            )
        )
    return tuple(sorted(out, key=lambda a: -a.share.share))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _window(scenario: Scenario, now: float) -> Window | None:
    """The maintenance-window occurrence holding ``now``, else the next one; None without
    windows."""
    cal = Calendar.of(scenario.plan)
    if cal.always_open:
        return None
    horizon = max(now, 1.0) * 2 + 7 * 24 * 60
    for _ in range(20):
        occurrences = [(a, b) for a, b in cal.intervals(0.0, horizon) if b > 0.0]
        for k, (a, b) in enumerate(occurrences, start=1):
            if b >= now - EPS:
                return Window(k, max(a, 0.0), b)
        horizon *= 2
    return None


def replan(
    scenario: Scenario,
    actuals: Actuals | Path | str | pd.DataFrame,
    *,
    now: float | str | datetime | None = None,
    replications: int = 200,
    seed: int | None = None,
    deterministic: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    advise: bool = False,
) -> ReplanResult:
    """Re-forecast ``scenario`` from ``actuals`` at ``now``.

    ``actuals``: an :class:`~sim.model.actuals.Actuals`, or a file or DataFrame that
    :func:`~sim.experiments.actuals.load_actuals` reads. ``now``: minutes from ``plan.start``,
    a clock time (text, or a timezone-aware datetime) or None for the latest actual time.
    ``replications``: Monte Carlo replications (0 to 1,000,000; 0 gives the recorded
    replication only), each run under the re-forecast and under the plan alone on the same
    seed. ``seed`` replaces ``plan.seed``; ``deterministic`` runs every duration not yet known
    at its central value. ``advise``: also compare the next decisions (continue, abort a unit
    still Prepared, or skip one of the next units the forecast starts: :data:`ADVISE_UNITS`),
    each leaving the unit for the next window, by P(done in this window), on the same
    replications (:class:`Advice`); needs windows and replications.

    Raises :class:`~sim.common.errors.InputError` for bad actuals (file, row, column), a
    ``now`` before the latest actual event, and actuals the plan cannot reproduce (the first
    such step's row: a step it starts later than it actually started, or never runs).
    """
    base_scenario = with_seed(scenario, seed)
    plan = base_scenario.plan
    prepared = ReplanPrepared(*_parts(base_scenario))
    read = (
        actuals
        if isinstance(actuals, Actuals)
        else load_actuals(actuals, base_scenario, prepared=prepared)
    )
    latest = read.latest
    at = (latest or 0.0) if now is None else now_minutes(now, plan, "--now")
    if latest is not None and at < latest - EPS:
        raise InputError(
            "--now",
            (),
            f"expected a time at or after the latest actual event ({read.events[-1].where}),"
            f" got one {latest - at:.1f} minutes before it",
        )
    try:
        replay = Replay.from_events(read.events, at)
    except ValueError as exc:  # read_actuals refuses these first: a guard
        raise InputError(read.source, (), str(exc)) from exc
    replanned = replace(prepared, replay=replay)
    try:
        rep = simulate(
            base_scenario.estate,
            prepared.units,
            plan,
            prepared.findings,
            order=prepared.order,
            deterministic=deterministic,
            setup=prepared.setup,
            replay=replay,
        )
    except ReplayMismatch as m:
        empty = FinishAnswers(0, plan.timezone, plan.start, (), (), 0, 0, None)
        raise _mismatch(m, read, empty.clock) from m
    run = RunResult(
        scenario=base_scenario,
        units=prepared.units,
        findings=prepared.findings,
        order=prepared.order,
        replication=rep,
        summary=summarize(rep, base_scenario),
    )
    rows: tuple[ReplanRow, ...] = ()
    plan_rows: tuple[ReplanRow, ...] = ()
    failures: tuple[str, ...] = ()
    window = _window(base_scenario, at)
    out_scope = out_of_scope(prepared.units, prepared.findings, plan)
    options: list[tuple[str, frozenset[str]]] = []
    if advise:
        if window is None:
            raise InputError(
                "--advise",
                (),
                "compares the next decisions by P(done in this window); expected a plan with"
                " maintenance windows (plan.maintenance_windows)",
            )
        if not replications:
            raise InputError("--advise", (), "expected --replications 1 or more with it")
        options = _aborts(run, read, out_scope) + _skips(run, read, out_scope, at)
    alternatives = [replanned, prepared] + [
        replace(
            replanned,
            replay=replace(
                replay,
                deferred=dict.fromkeys(units, window.end),
                aborts=frozenset(units) if what.startswith("abort ") else frozenset(),
            ),
        )
        for what, units in options
        if window is not None
    ]
    names = ["re-forecast", "plan", *(what for what, _ in options)]
    advice: tuple[Advice, ...] = ()
    if replications:
        results = run_replications(
            alternatives,
            replications,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            deterministic=deterministic,
            on_failure="collect",
            names=names,
        )
        rows = tuple(r for r in results[0] if isinstance(r, ReplanRow))
        plan_rows = tuple(r for r in results[1] if isinstance(r, ReplanRow))
        failures = tuple(results.describe_failures(names))
        if options and window is not None:
            advice = _advice(
                prepared,
                out_scope,
                window,
                rows,
                options,
                [results[k] for k in range(2, len(names))],
            )
    scope = len(out_scope)
    return ReplanResult(
        run=run,
        actuals=read,
        now=at,
        rows=rows,
        plan_rows=plan_rows,
        failures=failures,
        window=window,
        scope=scope,
        advice=advice,
    )


def _parts(scenario: Scenario) -> tuple[Any, ...]:
    p = Prepared.of(scenario)
    return (p.estate, p.plan, p.units, p.findings, p.order)


def _mismatch(m: ReplayMismatch, actuals: Actuals, clock: Callable[[float], str]) -> InputError:
    uid, step, attempt = m.key
    where = m.where or actuals.source
    what = m.what
    if m.at is not None and m.actual is not None:
        what = (
            f"it started at {clock(m.actual)}, but under the plan it cannot start before"
            f" {clock(m.at)} (every crew busy, a step before it not done, a retry's wait"
            " plan.failures.retry_after, or a maintenance window)"
        )
    return InputError(
        where,
        (),
        f"{uid} {step} (attempt {attempt}): the plan cannot reproduce this actual step:"
        f" {what}. Fix the actuals, or the scenario (--set) to match the night",
    )


def actuals_csv(actuals: Actuals) -> str:
    """``actuals.csv``: the actuals as read (minutes from ``plan.start``, in time order), in
    the columns ``migsim replan`` reads back."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time_min", "unit", "step", "outcome", "crew", "attempt", "where"])
    for e in actuals.events:
        w.writerow(
            [
                repr(e.time),
                e.unit,
                e.step,
                e.outcome,
                "" if e.crew is None else e.crew,
                e.attempt,
                e.where,
            ]
        )
    return buf.getvalue()


def write_replan(result: ReplanResult, out_dir: Path, force: bool = False) -> list[Path]:
    """The files of a run (:func:`sim.experiments.run.write_run`, ``events.csv`` with its
    ``source`` column), ``replications.csv`` and ``statistics.json`` of the re-forecast,
    ``replan.json`` and ``actuals.csv``; all or nothing. Raises
    :class:`~sim.common.errors.InputError` as :func:`write_run`."""
    stats: dict[str, Any] = {
        "replications": len(result.rows),
        "failures": list(result.failures),
    }
    if result.rows:  # --replications 0: the recorded forecast only, no statistics.json
        stats["metrics"] = metric_statistics(result.rows)
    answers = result.answers()
    if answers is not None:
        stats["finish"] = answers.as_dict()

    def extra(tmp: Path) -> list[str]:
        names = []
        if result.rows:
            (tmp / "replications.csv").write_bytes(replications_csv(result.rows).encode("utf-8"))
            (tmp / "statistics.json").write_bytes(
                (json.dumps(stats, indent=2, allow_nan=False) + "\n").encode("utf-8")
            )
            names += ["replications.csv", "statistics.json"]
        (tmp / "replan.json").write_bytes(
            (json.dumps(result.as_dict(), indent=2, allow_nan=False) + "\n").encode("utf-8")
        )
        (tmp / "actuals.csv").write_bytes(actuals_csv(result.actuals).encode("utf-8"))
        return [*names, *REPLAN_FILES]

    return write_run(result.run, out_dir, force, extra=extra, event_sources=result.event_sources())
